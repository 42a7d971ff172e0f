/**
 * The authorization matrix: principals × KMS operations × keys (key policy, identity policies,
 * session policies, grants, conditions) → allow, or deny with the reason AWS would give. Every
 * case runs through @aws-sdk/client-kms with the principal's own SigV4 credentials. A case that
 * is allowed must succeed; a denied one must fail with AccessDeniedException naming the caller,
 * the action, the key and the reason, and must change nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UpdateKeyDescriptionCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import {
  AddUserToGroupCommand,
  CreateGroupCommand,
  CreateRoleCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { createAccount } from "../src/app.js";
import { ACCOUNT_ID, startTestServer, testConfig, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, stsClient, type Creds } from "./iam.js";

const A = ACCOUNT_ID;
const B = "444455556666";
const EC = { app: "orders" };

type Expect = "allow" | RegExp;
const NO_ID = /because no identity-based policy allows the kms:\w+ action$/;
const NO_RES = /because no resource-based policy allows the kms:\w+ action$/;
const NO_SESSION = /because no session policy allows the kms:\w+ action$/;
const DENY_ID = /with an explicit deny in an identity-based policy$/;
const DENY_RES = /with an explicit deny in a resource-based policy$/;

type KeyName = "console" | "default" | "strict";

interface Key {
  id: string;
  arn: string;
  policy: string;
  blob: Uint8Array;
}

interface Op {
  name: string;
  /** Whether an allowed call changes the key's state, which the root then restores. */
  changesState?: boolean;
  run(kms: KMSClient, keyId: string, key: Key, ec: Record<string, string> | undefined): Promise<unknown>;
}

const OPS: Op[] = [
  { name: "DescribeKey", run: (kms, KeyId) => kms.send(new DescribeKeyCommand({ KeyId })) },
  {
    name: "Encrypt",
    run: (kms, KeyId, _k, ec) => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("m"), EncryptionContext: ec })),
  },
  { name: "Decrypt", run: (kms, KeyId, k, ec) => kms.send(new DecryptCommand({ KeyId, CiphertextBlob: k.blob, EncryptionContext: ec })) },
  {
    name: "GenerateDataKey",
    run: (kms, KeyId, _k, ec) => kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: "AES_256", EncryptionContext: ec })),
  },
  {
    name: "ReEncrypt",
    run: (kms, KeyId, k, ec) =>
      kms.send(
        new ReEncryptCommand({
          CiphertextBlob: k.blob,
          SourceKeyId: KeyId,
          DestinationKeyId: KeyId,
          SourceEncryptionContext: ec,
          DestinationEncryptionContext: ec,
        }),
      ),
  },
  { name: "GetKeyPolicy", run: (kms, KeyId) => kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: "default" })) },
  { name: "ListResourceTags", run: (kms, KeyId) => kms.send(new ListResourceTagsCommand({ KeyId })) },
  { name: "TagResource", run: (kms, KeyId) => kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: "matrix", TagValue: "1" }] })) },
  { name: "UpdateKeyDescription", run: (kms, KeyId) => kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: "matrix" })) },
  { name: "EnableKeyRotation", run: (kms, KeyId) => kms.send(new EnableKeyRotationCommand({ KeyId })) },
  { name: "DisableKey", changesState: true, run: (kms, KeyId) => kms.send(new DisableKeyCommand({ KeyId })) },
  {
    name: "ScheduleKeyDeletion",
    changesState: true,
    run: (kms, KeyId) => kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 30 })),
  },
  { name: "PutKeyPolicy", run: (kms, KeyId, k) => kms.send(new PutKeyPolicyCommand({ KeyId, PolicyName: "default", Policy: k.policy })) },
  {
    name: "CreateGrant",
    run: (kms, KeyId) =>
      kms.send(new CreateGrantCommand({ KeyId, GranteePrincipal: `arn:aws:iam::${A}:user/grant-target`, Operations: ["DescribeKey"] })),
  },
  { name: "ListGrants", run: (kms, KeyId) => kms.send(new ListGrantsCommand({ KeyId })) },
];
const OP = new Map(OPS.map((o) => [o.name, o]));

/** What each key's policy allows, by statement. */
const USE = new Set(["DescribeKey", "Encrypt", "Decrypt", "GenerateDataKey", "ReEncrypt"]);
const ADMIN = new Set(OPS.map((o) => o.name).filter((n) => !["Encrypt", "Decrypt", "GenerateDataKey", "ReEncrypt"].includes(n)));
const CROSS = new Set(["DescribeKey", "Encrypt", "Decrypt", "GenerateDataKey"]);
const STRICT_ROOT = new Set(["DescribeKey", "PutKeyPolicy", "GetKeyPolicy", "ScheduleKeyDeletion", "DisableKey"]);

const arn = (account: string, path: string) => `arn:aws:iam::${account}:${path}`;

const CONSOLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Id: "key-consolepolicy-3",
  Statement: [
    { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: arn(A, "root") }, Action: "kms:*", Resource: "*" },
    {
      Sid: "Allow access for Key Administrators",
      Effect: "Allow",
      Principal: { AWS: arn(A, "user/key-admin") },
      Action: [
        "kms:Create*",
        "kms:Describe*",
        "kms:Enable*",
        "kms:List*",
        "kms:Put*",
        "kms:Update*",
        "kms:Revoke*",
        "kms:Disable*",
        "kms:Get*",
        "kms:Delete*",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion",
        "kms:RotateKeyOnDemand",
      ],
      Resource: "*",
    },
    {
      Sid: "Allow use of the key",
      Effect: "Allow",
      Principal: { AWS: arn(A, "user/key-user") },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
    },
    {
      Sid: "Allow attachment of persistent resources",
      Effect: "Allow",
      Principal: { AWS: arn(A, "user/key-user") },
      Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      Resource: "*",
      Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
    },
    {
      Sid: "Cross-account use",
      Effect: "Allow",
      Principal: { AWS: arn(B, "root") },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
    },
    {
      Sid: "No decrypt for the blocked user",
      Effect: "Deny",
      Principal: { AWS: arn(A, "user/key-blocked") },
      Action: "kms:Decrypt",
      Resource: "*",
    },
  ],
});

const STRICT_POLICY = policy(
  {
    Sid: "root manages",
    Effect: "Allow",
    Principal: { AWS: arn(A, "root") },
    Action: [...STRICT_ROOT, "CancelKeyDeletion", "EnableKey"].map((a) => `kms:${a}`),
    Resource: "*",
  },
  { Sid: "key-user encrypts", Effect: "Allow", Principal: { AWS: arn(A, "user/key-user") }, Action: "kms:Encrypt", Resource: "*" },
);

/** The expected outcome of each principal's call, per key and operation: the specification. */
type Rule = (key: KeyName, op: string) => Expect;

const RULES: Record<string, Rule> = {
  rootA: (key, op) => (key !== "strict" || STRICT_ROOT.has(op) ? "allow" : NO_RES),
  keyAdmin: (key, op) =>
    key === "console" ? (ADMIN.has(op) ? "allow" : NO_ID) : key === "default" || STRICT_ROOT.has(op) ? NO_ID : NO_RES,
  keyUser: (key, op) =>
    key === "console"
      ? USE.has(op)
        ? "allow"
        : NO_ID
      : key === "default"
        ? NO_ID
        : op === "Encrypt"
          ? "allow"
          : STRICT_ROOT.has(op)
            ? NO_ID
            : NO_RES,
  delegated: (key, op) => (key !== "strict" || STRICT_ROOT.has(op) ? "allow" : NO_RES),
  nobody: (key, op) => (key !== "strict" || STRICT_ROOT.has(op) ? NO_ID : NO_RES),
  denied: (key, op) =>
    op === "Decrypt" || op === "ScheduleKeyDeletion" ? DENY_ID : key !== "strict" || STRICT_ROOT.has(op) ? "allow" : NO_RES,
  blocked: (key, op) => (key === "console" && op === "Decrypt" ? DENY_RES : key !== "strict" || STRICT_ROOT.has(op) ? "allow" : NO_RES),
  grouped: (key, op) =>
    key !== "strict"
      ? op === "Encrypt" || op === "DescribeKey"
        ? "allow"
        : NO_ID
      : op === "DescribeKey"
        ? "allow"
        : STRICT_ROOT.has(op)
          ? NO_ID
          : NO_RES,
  roleSession: (key, op) => (key !== "strict" || STRICT_ROOT.has(op) ? "allow" : NO_RES),
  boundedSession: (key, op) => (op === "DescribeKey" ? "allow" : key !== "strict" || STRICT_ROOT.has(op) ? NO_SESSION : NO_RES),
  userB: (key, op) => (key === "console" && CROSS.has(op) ? "allow" : NO_RES),
  userBWithoutPolicy: (key, op) => (key === "console" && CROSS.has(op) ? NO_ID : NO_RES),
  rootB: (key, op) => (key === "console" && CROSS.has(op) ? "allow" : NO_RES),
};

interface Case {
  principal: string;
  key: KeyName;
  op: string;
  expect: Expect;
  ec?: Record<string, string> | "none";
  /** Name the key by this (an alias) instead of its id or ARN. */
  keyRef?: string;
}

/** Condition, grant and policy-element cases on top of the grid. */
const EXTRA: Case[] = [
  // kms:EncryptionContext:<key>
  { principal: "ecUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "ecUser", key: "console", op: "Decrypt", expect: "allow" },
  { principal: "ecUser", key: "console", op: "GenerateDataKey", expect: "allow" },
  { principal: "ecUser", key: "console", op: "Encrypt", ec: { app: "billing" }, expect: NO_ID },
  { principal: "ecUser", key: "console", op: "Encrypt", ec: "none", expect: NO_ID },
  { principal: "ecUser", key: "console", op: "DescribeKey", expect: NO_ID },
  // StringLike on a context value
  { principal: "likeUser", key: "console", op: "Encrypt", ec: { app: "ordering" }, expect: "allow" },
  { principal: "likeUser", key: "console", op: "Encrypt", ec: { app: "billing" }, expect: NO_ID },
  // ForAllValues / ForAnyValue on kms:EncryptionContextKeys
  { principal: "ecKeysUser", key: "console", op: "Encrypt", ec: { app: "orders" }, expect: "allow" },
  { principal: "ecKeysUser", key: "console", op: "Encrypt", ec: { app: "orders", extra: "x" }, expect: NO_ID },
  { principal: "anyKeyUser", key: "console", op: "Encrypt", ec: { tenant: "t1", other: "y" }, expect: "allow" },
  { principal: "anyKeyUser", key: "console", op: "Encrypt", ec: "none", expect: NO_ID },
  // Null: a Deny when the context key is absent
  { principal: "nullUser", key: "console", op: "Encrypt", ec: "none", expect: DENY_ID },
  { principal: "nullUser", key: "console", op: "Encrypt", expect: "allow" },
  // IpAddress / NotIpAddress (requests come from 127.0.0.1)
  { principal: "ipTenUser", key: "console", op: "Encrypt", expect: NO_ID },
  { principal: "ipLoopbackUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "notIpTenUser", key: "console", op: "Encrypt", expect: "allow" },
  // aws:ResourceTag and a policy variable
  { principal: "tagUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "tagUser", key: "default", op: "Encrypt", expect: NO_ID },
  { principal: "owner-1", key: "console", op: "DescribeKey", expect: "allow" },
  { principal: "owner-1", key: "default", op: "DescribeKey", expect: NO_ID },
  // kms:RequestAlias and kms:ResourceAliases
  { principal: "aliasUser", key: "console", op: "Encrypt", keyRef: "alias/orders", expect: "allow" },
  { principal: "aliasUser", key: "console", op: "Encrypt", expect: NO_ID },
  { principal: "resourceAliasUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "resourceAliasUser", key: "default", op: "Encrypt", expect: NO_ID },
  // Date, Bool, Numeric, Arn, String* on global and KMS keys
  { principal: "pastUser", key: "console", op: "Encrypt", expect: NO_ID },
  { principal: "futureUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "tlsUser", key: "console", op: "Encrypt", expect: NO_ID },
  { principal: "plainHttpDenied", key: "console", op: "Encrypt", expect: DENY_ID },
  { principal: "windowUser", key: "console", op: "ScheduleKeyDeletion", expect: "allow" },
  { principal: "shortWindowUser", key: "console", op: "ScheduleKeyDeletion", expect: NO_ID },
  { principal: "arn-user", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "notArnUser", key: "console", op: "Encrypt", expect: NO_ID },
  { principal: "specUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "specUser", key: "console", op: "DescribeKey", expect: NO_ID },
  { principal: "callerAccountUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "ignoreCaseUser", key: "console", op: "Encrypt", ec: { app: "ORDERS" }, expect: "allow" },
  { principal: "ifExistsUser", key: "console", op: "Encrypt", ec: "none", expect: "allow" },
  { principal: "ifExistsUser", key: "console", op: "Encrypt", ec: { app: "billing" }, expect: NO_ID },
  // NotAction, Resource, NotResource
  { principal: "notActionUser", key: "console", op: "Encrypt", expect: "allow" },
  { principal: "notActionUser", key: "console", op: "Decrypt", expect: NO_ID },
  { principal: "oneKeyUser", key: "default", op: "Encrypt", expect: "allow" },
  { principal: "oneKeyUser", key: "console", op: "Encrypt", expect: NO_ID },
  { principal: "notResourceUser", key: "default", op: "Encrypt", expect: "allow" },
  { principal: "notResourceUser", key: "console", op: "Encrypt", expect: NO_ID },
  // Grants: operations and constraints
  { principal: "grantee", key: "console", op: "Encrypt", ec: { app: "orders", tenant: "t1" }, expect: "allow" },
  { principal: "grantee", key: "console", op: "Decrypt", expect: NO_ID },
  { principal: "grantee", key: "console", op: "Encrypt", ec: { app: "orders" }, expect: NO_ID },
  { principal: "grantee", key: "console", op: "DescribeKey", expect: NO_ID },
  { principal: "grantee", key: "default", op: "Encrypt", ec: { app: "orders", tenant: "t1" }, expect: NO_ID },
];

const allow = (statement: object) => policy({ Effect: "Allow", Resource: "*", ...statement });
const encryptIf = (condition: object) => allow({ Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], Condition: condition });

/** Identity policies of the users the extra cases act as. */
function extraUsers(keys: Record<KeyName, Key>): Record<string, Record<string, string>> {
  return {
    ecUser: { p: encryptIf({ StringEquals: { "kms:EncryptionContext:app": "orders" } }) },
    likeUser: { p: encryptIf({ StringLike: { "kms:EncryptionContext:app": "ord*" } }) },
    ecKeysUser: { p: encryptIf({ "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["app"] } }) },
    anyKeyUser: { p: encryptIf({ "ForAnyValue:StringEquals": { "kms:EncryptionContextKeys": ["tenant"] } }) },
    nullUser: {
      p: policy(
        { Effect: "Allow", Action: "kms:*", Resource: "*" },
        { Effect: "Deny", Action: "kms:Encrypt", Resource: "*", Condition: { Null: { "kms:EncryptionContext:app": "true" } } },
      ),
    },
    ipTenUser: { p: encryptIf({ IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }) },
    ipLoopbackUser: { p: encryptIf({ IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8", "::1/128"] } }) },
    notIpTenUser: { p: encryptIf({ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }) },
    tagUser: { p: encryptIf({ StringEquals: { "aws:ResourceTag/team": "blue" } }) },
    "owner-1": { p: allow({ Action: "kms:DescribeKey", Condition: { StringEquals: { "aws:ResourceTag/owner": "${aws:username}" } } }) },
    aliasUser: { p: encryptIf({ StringEquals: { "kms:RequestAlias": "alias/orders" } }) },
    resourceAliasUser: { p: encryptIf({ "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/orders" } }) },
    pastUser: { p: encryptIf({ DateLessThan: { "aws:CurrentTime": "2001-01-01T00:00:00Z" } }) },
    futureUser: {
      p: encryptIf({ DateLessThan: { "aws:CurrentTime": "2099-01-01T00:00:00Z" }, NumericGreaterThan: { "aws:EpochTime": 1000 } }),
    },
    tlsUser: { p: encryptIf({ Bool: { "aws:SecureTransport": "true" } }) },
    plainHttpDenied: {
      p: policy(
        { Effect: "Allow", Action: "kms:*", Resource: "*" },
        { Effect: "Deny", Action: "kms:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
      ),
    },
    windowUser: {
      p: allow({
        Action: "kms:ScheduleKeyDeletion",
        Condition: { NumericGreaterThanEquals: { "kms:ScheduleKeyDeletionPendingWindowInDays": 30 } },
      }),
    },
    shortWindowUser: {
      p: allow({ Action: "kms:ScheduleKeyDeletion", Condition: { NumericLessThan: { "kms:ScheduleKeyDeletionPendingWindowInDays": 10 } } }),
    },
    "arn-user": { p: encryptIf({ ArnLike: { "aws:PrincipalArn": `arn:aws:iam::${A}:user/arn-*` } }) },
    notArnUser: { p: encryptIf({ ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${A}:user/not*` } }) },
    specUser: {
      p: allow({
        Action: ["kms:Encrypt", "kms:DescribeKey"],
        Condition: { StringEquals: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT" } },
      }),
    },
    callerAccountUser: {
      p: encryptIf({ StringEquals: { "kms:CallerAccount": A, "aws:PrincipalAccount": A, "aws:PrincipalType": "User" } }),
    },
    ignoreCaseUser: { p: encryptIf({ StringEqualsIgnoreCase: { "kms:EncryptionContext:app": "orders" } }) },
    ifExistsUser: { p: encryptIf({ StringEqualsIfExists: { "kms:EncryptionContext:app": "orders" } }) },
    notActionUser: { p: policy({ Effect: "Allow", NotAction: "kms:Decrypt", Resource: "*" }) },
    oneKeyUser: { p: policy({ Effect: "Allow", Action: "kms:*", Resource: keys.default.arn }) },
    notResourceUser: { p: policy({ Effect: "Allow", Action: "kms:*", NotResource: keys.console.arn }) },
    grantee: {},
  };
}

describe("authorization matrix (real SDK, real signatures)", () => {
  let server: TestServer;
  let root: KMSClient;
  let iam: IAMClient;
  const clients = new Map<string, KMSClient>();
  const keys = {} as Record<KeyName, Key>;
  const cases: Case[] = [];

  before(async () => {
    server = await startTestServer();
    root = server.client();
    iam = iamClient(server.url);

    const make = async (name: KeyName, tags: Record<string, string>) => {
      const meta = (
        await root.send(new CreateKeyCommand({ Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) }))
      ).KeyMetadata!;
      const blob = (await root.send(new EncryptCommand({ KeyId: meta.KeyId, Plaintext: Buffer.from("secret"), EncryptionContext: EC })))
        .CiphertextBlob!;
      keys[name] = { id: meta.KeyId!, arn: meta.Arn!, policy: "", blob };
    };
    await make("console", { team: "blue", owner: "owner-1" });
    await make("default", { team: "red", owner: "someone" });
    await make("strict", { team: "green" });
    keys.default.policy = (await root.send(new GetKeyPolicyCommand({ KeyId: keys.default.id, PolicyName: "default" }))).Policy!;
    await root.send(new CreateAliasCommand({ AliasName: "alias/orders", TargetKeyId: keys.console.id }));

    const as = (name: string, creds: Creds) => clients.set(name, kmsAs(server.url, creds));
    clients.set("rootA", root);
    as("keyAdmin", await makeUser(iam, "key-admin"));
    as("keyUser", await makeUser(iam, "key-user"));
    as("delegated", await makeUser(iam, "delegated", { p: policy({ Effect: "Allow", Action: "kms:*", Resource: "*" }) }));
    as("nobody", await makeUser(iam, "nobody"));
    as(
      "denied",
      await makeUser(iam, "denied", {
        p: policy(
          { Effect: "Allow", Action: "kms:*", Resource: "*" },
          { Effect: "Deny", Action: ["kms:Decrypt", "kms:ScheduleKeyDeletion"], Resource: "*" },
        ),
      }),
    );
    as("blocked", await makeUser(iam, "key-blocked", { p: policy({ Effect: "Allow", Action: "kms:*", Resource: "*" }) }));
    as("grouped", await makeUser(iam, "grouped"));
    await makeUser(iam, "grant-target"); // the grantee of the CreateGrant cases: KMS grants only to principals that exist
    await iam.send(new CreateGroupCommand({ GroupName: "encrypters" }));
    await iam.send(
      new PutGroupPolicyCommand({
        GroupName: "encrypters",
        PolicyName: "p",
        PolicyDocument: policy({ Effect: "Allow", Action: ["kms:Encrypt", "kms:DescribeKey"], Resource: "*" }),
      }),
    );
    await iam.send(new AddUserToGroupCommand({ GroupName: "encrypters", UserName: "grouped" }));

    const assumer = await makeUser(iam, "assumer", { p: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }) });
    const trust = policy({ Effect: "Allow", Principal: { AWS: arn(A, "root") }, Action: "sts:AssumeRole" });
    const role = (await iam.send(new CreateRoleCommand({ RoleName: "app-role", AssumeRolePolicyDocument: trust }))).Role!;
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "app-role",
        PolicyName: "p",
        PolicyDocument: policy({ Effect: "Allow", Action: "kms:*", Resource: "*" }),
      }),
    );
    const sts = stsClient(server.url, assumer);
    const session = async (name: string, sessionPolicy?: string) => {
      const c = (await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: name, Policy: sessionPolicy }))).Credentials!;
      return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    };
    as("roleSession", await session("full"));
    as("boundedSession", await session("bounded", policy({ Effect: "Allow", Action: "kms:DescribeKey", Resource: "*" })));

    // Account B: a second tenant, made the way an operator makes one.
    const bRoot = await createAccount(testConfig(server.dataDir), B);
    const iamB = iamClient(server.url, bRoot);
    as("rootB", bRoot);
    as("userB", await makeUser(iamB, "b-user", { p: policy({ Effect: "Allow", Action: "kms:*", Resource: `arn:aws:kms:*:${A}:key/*` }) }));
    as("userBWithoutPolicy", await makeUser(iamB, "b-nobody"));

    // The key policies name these users and account B, so they come after them (KMS refuses a policy naming no one).
    for (const [name, text] of [
      ["console", CONSOLE_POLICY],
      ["strict", STRICT_POLICY],
    ] as const) {
      await root.send(new PutKeyPolicyCommand({ KeyId: keys[name].id, PolicyName: "default", Policy: text }));
      keys[name].policy = text;
    }

    for (const [name, policies] of Object.entries(extraUsers(keys))) as(name, await makeUser(iam, name, policies));
    await root.send(
      new CreateGrantCommand({
        KeyId: keys.console.id,
        GranteePrincipal: arn(A, "user/grantee"),
        Operations: ["Encrypt"],
        Constraints: { EncryptionContextSubset: { tenant: "t1" } },
      }),
    );

    for (const [principal, rule] of Object.entries(RULES)) {
      for (const key of ["console", "default", "strict"] as const) {
        for (const op of OPS) cases.push({ principal, key, op: op.name, expect: rule(key, op.name) });
      }
    }
    cases.push(...EXTRA);
  });

  after(async () => {
    for (const c of clients.values()) if (c !== root) c.destroy();
    iam.destroy();
    await server.stop();
  });

  it("has at least 150 cases, allowed and denied, across every kind of principal", () => {
    assert.ok(cases.length >= 150, `${cases.length} cases`);
    assert.ok(cases.filter((c) => c.expect === "allow").length >= 50);
    assert.ok(cases.filter((c) => c.expect !== "allow").length >= 100);
  });

  it("every case: allowed calls succeed; denied calls are AccessDeniedException with AWS's message and no effect", async () => {
    const failures: string[] = [];
    for (const c of cases) {
      const kms = clients.get(c.principal);
      assert.ok(kms, `no client for ${c.principal}`);
      const key = keys[c.key];
      const crossAccount = ["userB", "userBWithoutPolicy", "rootB"].includes(c.principal);
      const keyRef = c.keyRef ?? (crossAccount ? key.arn : key.id);
      const ec = c.ec === "none" ? undefined : (c.ec ?? EC);
      const op = OP.get(c.op)!;
      const label = `${c.principal} ${c.op} ${c.key}${c.ec ? " " + JSON.stringify(c.ec) : ""}`;
      let error: (Error & { name: string }) | undefined;
      try {
        await op.run(kms, keyRef, key, ec);
      } catch (e) {
        error = e as Error;
      }
      if (c.expect === "allow") {
        if (error) failures.push(`${label}: expected allow, got ${error.name}: ${error.message}`);
        else if (op.changesState) {
          const restore = (await root.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata!;
          if (restore.KeyState === "PendingDeletion") await root.send(new CancelKeyDeletionCommand({ KeyId: key.id }));
          await root.send(new EnableKeyCommand({ KeyId: key.id }));
        }
        continue;
      }
      if (!error) {
        failures.push(`${label}: FALSE ALLOW (expected ${c.expect})`);
        continue;
      }
      if (error.name !== "AccessDeniedException") {
        failures.push(`${label}: expected AccessDeniedException, got ${error.name}: ${error.message}`);
        continue;
      }
      const head = /^User: (\S+) is not authorized to perform: (kms:\w+) on resource: (\S+) /.exec(error.message);
      if (!head || head[3] !== key.arn || !c.expect.test(error.message))
        failures.push(`${label}: message ${JSON.stringify(error.message)} does not match ${c.expect}`);
      if (op.changesState) {
        const state = (await root.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata!.KeyState;
        if (state !== "Enabled") failures.push(`${label}: a denied call changed the key to ${state}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases wrong`);
  });

  it("another account may only use a key, never manage it, even when the key policy gives it kms:*", async () => {
    // AWS: permissions given to another account for operations without cross-account use "have no effect".
    const everything = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: arn(A, "root") }, Action: "kms:*", Resource: "*" },
        { Sid: "Account B may do anything", Effect: "Allow", Principal: { AWS: arn(B, "root") }, Action: "kms:*", Resource: "*" },
      ],
    });
    const shared = (await root.send(new CreateKeyCommand({ Policy: everything, Description: "shared" }))).KeyMetadata!;
    for (const who of ["rootB", "userB"]) {
      const b = clients.get(who)!;
      // Use: allowed, by the key's ARN.
      assert.equal((await b.send(new DescribeKeyCommand({ KeyId: shared.Arn }))).KeyMetadata!.KeyId, shared.KeyId);
      await b.send(new EncryptCommand({ KeyId: shared.Arn, Plaintext: Buffer.from("x") }));
      // Management: refused, and nothing changes.
      const manage: [string, () => Promise<unknown>][] = [
        ["kms:DisableKey", () => b.send(new DisableKeyCommand({ KeyId: shared.Arn }))],
        ["kms:ScheduleKeyDeletion", () => b.send(new ScheduleKeyDeletionCommand({ KeyId: shared.Arn, PendingWindowInDays: 7 }))],
        ["kms:PutKeyPolicy", () => b.send(new PutKeyPolicyCommand({ KeyId: shared.Arn, PolicyName: "default", Policy: everything }))],
        ["kms:GetKeyPolicy", () => b.send(new GetKeyPolicyCommand({ KeyId: shared.Arn, PolicyName: "default" }))],
        ["kms:TagResource", () => b.send(new TagResourceCommand({ KeyId: shared.Arn, Tags: [{ TagKey: "by", TagValue: "b" }] }))],
        ["kms:UpdateKeyDescription", () => b.send(new UpdateKeyDescriptionCommand({ KeyId: shared.Arn, Description: "mine" }))],
        ["kms:CreateAlias", () => b.send(new CreateAliasCommand({ AliasName: `alias/from-${who}`, TargetKeyId: shared.Arn }))],
      ];
      for (const [action, run] of manage) {
        const denied = await run().then(
          () => assert.fail(`${who} ${action}: FALSE ALLOW`),
          (e: Error) => e,
        );
        assert.equal(denied.name, "AccessDeniedException", `${who} ${action}: ${denied.name} ${denied.message}`);
        // CreateAlias may be refused on its alias first (b-user's policy names only A's keys).
        const resource = action === "kms:CreateAlias" && who === "userB" ? `arn:aws:kms:us-east-1:${B}:alias/from-${who}` : shared.Arn;
        assert.ok(denied.message.includes(`perform: ${action} on resource: ${resource}`), denied.message);
      }
    }
    // The key's owner sees the other account's use of its key in its own trail, as CloudTrail
    // delivers it to both: one eventID each, a common sharedEventID, recipientAccountId its own.
    const trailOf = async (kms: KMSClient) =>
      new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: await kms.config.credentials(), maxAttempts: 1 });
    const records = async (kms: KMSClient) => {
      const trail = await trailOf(kms);
      const found = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: shared.Arn }] }))
      ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!));
      trail.destroy();
      return found.filter((r) => r.eventName === "Encrypt" && r.userIdentity.accountId === B);
    };
    const inA = await records(root);
    const inB = await records(clients.get("rootB")!);
    assert.equal(inA.length, 2, "rootB's and userB's Encrypt, in the key owner's trail");
    assert.equal(inB.length, 2, "and in the caller's");
    for (const r of inA) {
      assert.equal(r.recipientAccountId, A);
      assert.deepEqual(r.resources, [{ accountId: A, type: "AWS::KMS::Key", ARN: shared.Arn }]);
      const twin = inB.find((x) => x.sharedEventID === r.sharedEventID);
      assert.ok(twin, "the caller's copy shares the sharedEventID");
      assert.equal(twin.recipientAccountId, B);
      assert.equal(twin.requestID, r.requestID);
      assert.notEqual(twin.eventID, r.eventID);
    }
    const after = (await root.send(new DescribeKeyCommand({ KeyId: shared.KeyId }))).KeyMetadata!;
    assert.equal(after.KeyState, "Enabled");
    assert.equal(after.Description, "shared");
    assert.deepEqual((await root.send(new ListResourceTagsCommand({ KeyId: shared.KeyId }))).Tags, []);
  });
});
