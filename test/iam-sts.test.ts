/** IAM and STS through @aws-sdk/client-iam and @aws-sdk/client-sts: the directory, access keys, roles and sessions. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetGroupCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListPoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  ListPolicyVersionsCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
  DeleteRolePolicyCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, type AssumeRoleCommandInput } from "@aws-sdk/client-sts";
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListKeysCommand, PutKeyPolicyCommand } from "@aws-sdk/client-kms";
import { ManualClock } from "../src/clock.js";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, ROOT_CREDS, stsClient, type Creds } from "./iam.js";

const ALLOW_KMS = policy({ Effect: "Allow", Action: "kms:*", Resource: "*" });

describe("IAM and STS", () => {
  let server: TestServer;
  let iam: IAMClient;
  let clock: ManualClock;
  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    iam = iamClient(server.url);
  });
  after(() => server.stop());

  it("users: create, get, list, refuse duplicates and unknown names", async () => {
    const created = (await iam.send(new CreateUserCommand({ UserName: "carol", Path: "/staff/" }))).User!;
    assert.equal(created.Arn, `arn:aws:iam::${ACCOUNT_ID}:user/staff/carol`);
    assert.match(created.UserId!, /^AIDA[A-Z2-7]{17}$/);
    assert.ok(created.CreateDate instanceof Date);
    assert.deepEqual((await iam.send(new GetUserCommand({ UserName: "carol" }))).User!.UserId, created.UserId);
    assert.ok((await iam.send(new ListUsersCommand({}))).Users!.some((u) => u.UserName === "carol"));
    assert.equal((await iam.send(new ListUsersCommand({ PathPrefix: "/nobody/" }))).Users!.length, 0);
    await rejects(() => iam.send(new CreateUserCommand({ UserName: "carol" })), "EntityAlreadyExistsException");
    // IAM names are not distinguished by case: no CAROL beside carol, for users, groups, roles and policies alike.
    await rejects(() => iam.send(new CreateUserCommand({ UserName: "CAROL" })), "EntityAlreadyExistsException");
    await iam.send(new CreateGroupCommand({ GroupName: "Auditors" }));
    await rejects(() => iam.send(new CreateGroupCommand({ GroupName: "auditors" })), "EntityAlreadyExistsException");
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "sts:AssumeRole" }],
    });
    await iam.send(new CreateRoleCommand({ RoleName: "Deployer", AssumeRolePolicyDocument: trust }));
    // A trust policy must name principals that exist.
    const trustingNobody = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/nobody-yet` }, Action: "sts:AssumeRole" }],
    });
    const invalid = await rejects(
      () => iam.send(new CreateRoleCommand({ RoleName: "Orphan", AssumeRolePolicyDocument: trustingNobody })),
      "MalformedPolicyDocumentException",
    );
    assert.match(invalid.message, /Invalid principal in policy/);
    await rejects(
      () => iam.send(new CreateRoleCommand({ RoleName: "DEPLOYER", AssumeRolePolicyDocument: trust })),
      "EntityAlreadyExistsException",
    );
    const doc = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*" }] });
    await iam.send(new CreatePolicyCommand({ PolicyName: "EncryptOnly", PolicyDocument: doc }));
    await rejects(
      () => iam.send(new CreatePolicyCommand({ PolicyName: "encryptonly", PolicyDocument: doc })),
      "EntityAlreadyExistsException",
    );
    assert.equal((await iam.send(new ListUsersCommand({}))).Users!.filter((u) => u.UserName!.toLowerCase() === "carol").length, 1);
    const missing = await rejects(() => iam.send(new GetUserCommand({ UserName: "nobody" })), "NoSuchEntityException");
    assert.equal(missing.$metadata?.httpStatusCode, 404);
    await rejects(() => iam.send(new CreateUserCommand({ UserName: "bad/name" })), "ValidationError");
  });

  it("policy documents are checked: MalformedPolicyDocument names the problem", async () => {
    await iam.send(new CreateUserCommand({ UserName: "pd" }));
    const put = (doc: string) => iam.send(new PutUserPolicyCommand({ UserName: "pd", PolicyName: "p", PolicyDocument: doc }));
    for (const bad of [
      "not json",
      JSON.stringify({ Statement: [] }),
      policy({ Action: "kms:*", Resource: "*" }),
      policy({ Effect: "Permit", Action: "kms:*", Resource: "*" }),
      policy({ Effect: "Allow", Resource: "*" }),
      policy({ Effect: "Allow", Action: "kms:*" }),
      policy({ Effect: "Allow", Action: "kms:*", Resource: "*", Principal: "*" }),
      policy({ Effect: "Allow", Action: "Encrypt", Resource: "*" }),
      policy({ Effect: "Allow", Action: "kms:*", Resource: "*", Condition: { StringSorta: { "aws:username": "x" } } }),
      policy({ Effect: "Allow", Action: "kms:*", Resource: "*", Bogus: 1 }),
      JSON.stringify({ Version: "2020-01-01", Statement: { Effect: "Allow", Action: "kms:*", Resource: "*" } }),
      policy({ Effect: "Allow", Action: "kms:*", Resource: "key/1234" }),
      policy({ Sid: "Allow all", Effect: "Allow", Action: "kms:*", Resource: "*" }),
    ]) {
      const e = await rejects(() => put(bad), "MalformedPolicyDocumentException");
      assert.ok(e.message.length > 10);
    }
    // A user's inline policies together hold at most 2048 characters, whitespace not counted.
    const sized = (n: number) => policy({ Effect: "Allow", Action: Array.from({ length: n }, (_, i) => `kms:Op${i}`), Resource: "*" });
    await iam.send(new PutUserPolicyCommand({ UserName: "pd", PolicyName: "first", PolicyDocument: sized(100) }));
    const tooMuch = await rejects(
      () => iam.send(new PutUserPolicyCommand({ UserName: "pd", PolicyName: "second", PolicyDocument: sized(100) })),
      "LimitExceededException",
    );
    assert.match(tooMuch.message, /Maximum policy size of 2048 bytes exceeded for user pd/);
    await iam.send(new PutUserPolicyCommand({ UserName: "pd", PolicyName: "first", PolicyDocument: sized(100) }));
    await iam.send(new DeleteUserPolicyCommand({ UserName: "pd", PolicyName: "first" }));
    await put(ALLOW_KMS);
    const got = await iam.send(new GetUserPolicyCommand({ UserName: "pd", PolicyName: "p" }));
    assert.equal(decodeURIComponent(got.PolicyDocument!), ALLOW_KMS, "IAM returns the document URL-encoded");
    assert.deepEqual((await iam.send(new ListUserPoliciesCommand({ UserName: "pd" }))).PolicyNames, ["p"]);
    // A policy named __proto__ is a policy like any other, not the prototype of the user's policy map.
    await iam.send(new PutUserPolicyCommand({ UserName: "pd", PolicyName: "__proto__", PolicyDocument: ALLOW_KMS }));
    assert.deepEqual((await iam.send(new ListUserPoliciesCommand({ UserName: "pd" }))).PolicyNames, ["__proto__", "p"]);
    const proto = await iam.send(new GetUserPolicyCommand({ UserName: "pd", PolicyName: "__proto__" }));
    assert.equal(decodeURIComponent(proto.PolicyDocument!), ALLOW_KMS);
    await iam.send(new DeleteUserPolicyCommand({ UserName: "pd", PolicyName: "__proto__" }));
    await rejects(() => iam.send(new DeleteUserCommand({ UserName: "pd" })), "DeleteConflictException");
    await iam.send(new DeleteUserPolicyCommand({ UserName: "pd", PolicyName: "p" }));
    await rejects(() => iam.send(new DeleteUserPolicyCommand({ UserName: "pd", PolicyName: "p" })), "NoSuchEntityException");
    await iam.send(new DeleteUserCommand({ UserName: "pd" }));
  });

  it("access keys: at most two, secret shown once, an inactive or deleted key stops working on the next request", async () => {
    const creds = await makeUser(iam, "dave", { kms: ALLOW_KMS });
    const kms = kmsAs(server.url, creds, { systemClockOffset: clock.now() - Date.now() });
    await kms.send(new ListKeysCommand({}));
    await iam.send(new CreateAccessKeyCommand({ UserName: "dave" }));
    await rejects(() => iam.send(new CreateAccessKeyCommand({ UserName: "dave" })), "LimitExceededException");
    const listed = (await iam.send(new ListAccessKeysCommand({ UserName: "dave" }))).AccessKeyMetadata!;
    assert.equal(listed.length, 2);
    assert.ok(listed.every((k) => !("SecretAccessKey" in k)));
    await iam.send(new UpdateAccessKeyCommand({ UserName: "dave", AccessKeyId: creds.accessKeyId, Status: "Inactive" }));
    await rejects(() => kms.send(new ListKeysCommand({})), "UnrecognizedClientException");
    await iam.send(new UpdateAccessKeyCommand({ UserName: "dave", AccessKeyId: creds.accessKeyId, Status: "Active" }));
    await kms.send(new ListKeysCommand({}));
    await iam.send(new DeleteAccessKeyCommand({ UserName: "dave", AccessKeyId: creds.accessKeyId }));
    await rejects(() => kms.send(new ListKeysCommand({})), "UnrecognizedClientException");
    await rejects(
      () => iam.send(new DeleteAccessKeyCommand({ UserName: "dave", AccessKeyId: creds.accessKeyId })),
      "NoSuchEntityException",
    );
    // A user's own credentials manage its own keys only when its policies say so.
    const other = await makeUser(iam, "erin");
    await rejects(() => iamClient(server.url, other).send(new ListUsersCommand({})), "AccessDenied");
  });

  it("GetAccessKeyLastUsed answers from the trail: N/A until a call signed with the key checks out, then its time, service and region", async () => {
    const creds = await makeUser(iam, "ike", { kms: ALLOW_KMS });
    const lastUsed = async () => await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }));
    const unused = await lastUsed();
    assert.equal(unused.UserName, "ike");
    assert.deepEqual(unused.AccessKeyLastUsed, { ServiceName: "N/A", Region: "N/A" });
    const offset = { systemClockOffset: clock.now() - Date.now() };
    // A request whose signature does not check out is no use of the key.
    await rejects(
      () => kmsAs(server.url, { ...creds, secretAccessKey: "not-the-secret" }, offset).send(new ListKeysCommand({})),
      "InvalidSignatureException",
    );
    assert.deepEqual((await lastUsed()).AccessKeyLastUsed, { ServiceName: "N/A", Region: "N/A" });
    const kms = new KMSClient({ endpoint: server.url, region: "eu-west-1", credentials: creds, maxAttempts: 1, ...offset });
    await kms.send(new ListKeysCommand({}));
    kms.destroy();
    const used = (await lastUsed()).AccessKeyLastUsed!;
    assert.equal(used.ServiceName, "kms");
    assert.equal(used.Region, "eu-west-1");
    assert.equal(Math.floor(used.LastUsedDate!.getTime() / 1000), Math.floor(clock.now() / 1000));
    // The newest use wins: an STS call with the key, a minute later.
    clock.advance(60_000);
    await stsClient(server.url, creds, { systemClockOffset: clock.now() - Date.now() }).send(new GetCallerIdentityCommand({}));
    const later = (await lastUsed()).AccessKeyLastUsed!;
    assert.equal(later.ServiceName, "sts");
    assert.equal(later.Region, "us-east-1");
    assert.equal(Math.floor(later.LastUsedDate!.getTime() / 1000), Math.floor(clock.now() / 1000));
    // Unknown keys are NoSuchEntity; a user without iam:GetAccessKeyLastUsed is refused.
    await rejects(() => iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: "AKIAUNKNOWNKEY000000" })), "NoSuchEntityException");
    await rejects(
      () =>
        iamClient(server.url, creds, { systemClockOffset: clock.now() - Date.now() }).send(
          new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }),
        ),
      "AccessDenied",
    );
  });

  it("groups and managed policies give their members permissions; detaching takes them away", async () => {
    const creds = await makeUser(iam, "frank");
    const kms = kmsAs(server.url, creds, { systemClockOffset: clock.now() - Date.now() });
    await rejects(() => kms.send(new ListKeysCommand({})), "AccessDeniedException");
    const managed = (
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: "kms-list",
          PolicyDocument: policy({ Effect: "Allow", Action: "kms:List*", Resource: "*" }),
        }),
      )
    ).Policy!;
    assert.equal(managed.Arn, `arn:aws:iam::${ACCOUNT_ID}:policy/kms-list`);
    await iam.send(new AttachUserPolicyCommand({ UserName: "frank", PolicyArn: managed.Arn }));
    await kms.send(new ListKeysCommand({}));
    assert.equal((await iam.send(new GetPolicyCommand({ PolicyArn: managed.Arn }))).Policy!.AttachmentCount, 1);
    // Its document, as Terraform reads it back (GetPolicy, then GetPolicyVersion of the default version).
    const version = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: managed.Arn, VersionId: managed.DefaultVersionId })))
      .PolicyVersion!;
    assert.equal(decodeURIComponent(version.Document!), policy({ Effect: "Allow", Action: "kms:List*", Resource: "*" }));
    assert.equal(version.IsDefaultVersion, true);
    await rejects(() => iam.send(new GetPolicyVersionCommand({ PolicyArn: managed.Arn, VersionId: "v2" })), "NoSuchEntityException");
    // Terraform lists a policy's versions before it deletes the policy: there is the one.
    const versions = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: managed.Arn }));
    assert.deepEqual(
      versions.Versions!.map((v) => [v.VersionId, v.IsDefaultVersion]),
      [["v1", true]],
    );
    assert.equal(versions.IsTruncated, false);
    await rejects(
      () => iam.send(new ListPolicyVersionsCommand({ PolicyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/no-such-policy` })),
      "NoSuchEntityException",
    );
    const attachedOnly = (await iam.send(new ListPoliciesCommand({ Scope: "Local", OnlyAttached: true }))).Policies!;
    assert.deepEqual(
      attachedOnly.map((p) => [p.PolicyName, p.AttachmentCount]),
      [["kms-list", 1]],
    );
    assert.deepEqual((await iam.send(new ListPoliciesCommand({ Scope: "AWS" }))).Policies, []);
    assert.deepEqual(
      (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "frank" }))).AttachedPolicies!.map((p) => p.PolicyName),
      ["kms-list"],
    );
    await rejects(() => iam.send(new DeletePolicyCommand({ PolicyArn: managed.Arn })), "DeleteConflictException");
    await iam.send(new DetachUserPolicyCommand({ UserName: "frank", PolicyArn: managed.Arn }));
    await rejects(() => kms.send(new ListKeysCommand({})), "AccessDeniedException");

    await iam.send(new CreateGroupCommand({ GroupName: "readers" }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: "readers", PolicyArn: managed.Arn }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "readers", UserName: "frank" }));
    await kms.send(new ListKeysCommand({}));
    assert.deepEqual(
      (await iam.send(new GetGroupCommand({ GroupName: "readers" }))).Users!.map((u) => u.UserName),
      ["frank"],
    );
    assert.deepEqual(
      (await iam.send(new ListGroupsForUserCommand({ UserName: "frank" }))).Groups!.map((g) => g.GroupName),
      ["readers"],
    );
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: "readers", UserName: "frank" }));
    await rejects(() => kms.send(new ListKeysCommand({})), "AccessDeniedException");
    await rejects(
      () => iam.send(new AttachUserPolicyCommand({ UserName: "frank", PolicyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/none` })),
      "NoSuchEntityException",
    );
  });

  it("STS GetCallerIdentity names root, users and sessions", async () => {
    const root = await stsClient(server.url).send(new GetCallerIdentityCommand({}));
    assert.deepEqual([root.Account, root.Arn, root.UserId], [ACCOUNT_ID, `arn:aws:iam::${ACCOUNT_ID}:root`, ACCOUNT_ID]);
    const creds = await makeUser(iam, "gina");
    const me = await stsClient(server.url, creds, { systemClockOffset: clock.now() - Date.now() }).send(new GetCallerIdentityCommand({}));
    assert.equal(me.Arn, `arn:aws:iam::${ACCOUNT_ID}:user/gina`);
    assert.match(me.UserId!, /^AIDA/);
  });

  it("AssumeRole: trust policy, identity policy, session policy, duration bounds, expiry and revocation", async () => {
    const userCreds = await makeUser(iam, "hank", {
      assume: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: `arn:aws:iam::${ACCOUNT_ID}:role/*` }),
    });
    const sts = stsClient(server.url, userCreds, { systemClockOffset: clock.now() - Date.now() });
    const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/hank` }, Action: "sts:AssumeRole" });
    const role = (
      await iam.send(new CreateRoleCommand({ RoleName: "encryptor", AssumeRolePolicyDocument: trust, MaxSessionDuration: 7200 }))
    ).Role!;
    assert.equal(
      decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: "encryptor" }))).Role!.AssumeRolePolicyDocument!),
      trust,
    );
    await iam.send(new PutRolePolicyCommand({ RoleName: "encryptor", PolicyName: "kms", PolicyDocument: ALLOW_KMS }));
    await rejects(
      () =>
        iam.send(
          new CreateRoleCommand({
            RoleName: "bad",
            AssumeRolePolicyDocument: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }),
          }),
        ),
      "MalformedPolicyDocumentException",
    );

    // Root may not assume roles; a user the trust policy does not name may not either.
    await rejects(
      () => stsClient(server.url).send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "s" + "1" })),
      "AccessDenied",
    );
    const stranger = await makeUser(iam, "ivan", { assume: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }) });
    const refused = await rejects(
      () =>
        stsClient(server.url, stranger, { systemClockOffset: clock.now() - Date.now() }).send(
          new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "s1" }),
        ),
      "AccessDenied",
    );
    assert.match(refused.message, /user\/ivan is not authorized to perform: sts:AssumeRole/);
    await rejects(
      () => sts.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "s1", DurationSeconds: 7201 })),
      "ValidationError",
    );
    await rejects(
      () => sts.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "s1", DurationSeconds: 899 })),
      "ValidationError",
    );

    const session = await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "batch-1", DurationSeconds: 900 }));
    const c = session.Credentials!;
    assert.match(c.AccessKeyId!, /^ASIA/);
    assert.ok(Math.abs(c.Expiration!.getTime() - (clock.now() + 900_000)) < 1000, "expires DurationSeconds from now");
    assert.equal(session.AssumedRoleUser!.Arn, `arn:aws:sts::${ACCOUNT_ID}:assumed-role/encryptor/batch-1`);
    const sessionCreds: Creds = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    const offset = { systemClockOffset: clock.now() - Date.now() };
    const kms = kmsAs(server.url, sessionCreds, offset);
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const who = await stsClient(server.url, sessionCreds, offset).send(new GetCallerIdentityCommand({}));
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT_ID}:assumed-role/encryptor/batch-1`);
    assert.equal(who.UserId, `${role.RoleId}:batch-1`);

    // Without its token the session's key is refused; with another token too.
    await rejects(
      () => kmsAs(server.url, { ...sessionCreds, sessionToken: undefined }, offset).send(new DescribeKeyCommand({ KeyId })),
      "UnrecognizedClientException",
    );
    await rejects(
      () => kmsAs(server.url, { ...sessionCreds, sessionToken: "forged" }, offset).send(new DescribeKeyCommand({ KeyId })),
      "UnrecognizedClientException",
    );

    // A session policy bounds the role's permissions.
    const narrow = await sts.send(
      new AssumeRoleCommand({
        RoleArn: role.Arn,
        RoleSessionName: "narrow",
        Policy: policy({ Effect: "Allow", Action: "kms:DescribeKey", Resource: "*" }),
      }),
    );
    const narrowKms = kmsAs(
      server.url,
      {
        accessKeyId: narrow.Credentials!.AccessKeyId!,
        secretAccessKey: narrow.Credentials!.SecretAccessKey!,
        sessionToken: narrow.Credentials!.SessionToken!,
      },
      offset,
    );
    await narrowKms.send(new DescribeKeyCommand({ KeyId }));
    const bounded = await rejects(
      () => narrowKms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })),
      "AccessDeniedException",
    );
    assert.match(bounded.message, /because no session policy allows the kms:Encrypt action/);

    // A key policy naming the session's own ARN is not limited by its session policy (AWS adds
    // those permissions after the session is made); one naming the role is.
    const rootKms = kmsAs(server.url, ROOT_CREDS, offset);
    const keyPolicy = (principal: string) =>
      policy(
        { Sid: "Root", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" },
        { Sid: "Named", Effect: "Allow", Principal: { AWS: principal }, Action: "kms:Encrypt", Resource: "*" },
      );
    await rootKms.send(new PutKeyPolicyCommand({ KeyId, PolicyName: "default", Policy: keyPolicy(role.Arn!) }));
    await rejects(() => narrowKms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })), "AccessDeniedException");
    await rootKms.send(
      new PutKeyPolicyCommand({
        KeyId,
        PolicyName: "default",
        Policy: keyPolicy(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/encryptor/narrow`),
      }),
    );
    const sealed = await narrowKms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }));
    assert.equal(sealed.KeyId, `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${KeyId}`);

    // Expiry: 900 s later the credentials are refused as expired.
    clock.advance(901_000);
    const late = { systemClockOffset: clock.now() - Date.now() };
    await rejects(() => kmsAs(server.url, sessionCreds, late).send(new DescribeKeyCommand({ KeyId })), "ExpiredTokenException");
    await rejects(() => stsClient(server.url, sessionCreds, late).send(new GetCallerIdentityCommand({})), "ExpiredToken");

    // Revocation: deleting the role ends its sessions at once.
    const fresh = await stsClient(server.url, userCreds, late).send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "fresh" }));
    const freshKms = kmsAs(
      server.url,
      {
        accessKeyId: fresh.Credentials!.AccessKeyId!,
        secretAccessKey: fresh.Credentials!.SecretAccessKey!,
        sessionToken: fresh.Credentials!.SessionToken!,
      },
      late,
    );
    await freshKms.send(new DescribeKeyCommand({ KeyId }));
    const admin = iamClient(server.url, undefined, late);
    await rejects(() => admin.send(new DeleteRoleCommand({ RoleName: "encryptor" })), "DeleteConflictException");
    await admin.send(new DeleteRolePolicyCommand({ RoleName: "encryptor", PolicyName: "kms" }));
    // Terraform lists a role's instance profiles before deleting it: keyhold has none to give.
    const profiles = await admin.send(new ListInstanceProfilesForRoleCommand({ RoleName: "encryptor" }));
    assert.deepEqual(profiles.InstanceProfiles, []);
    assert.equal(profiles.IsTruncated, false);
    await rejects(() => admin.send(new ListInstanceProfilesForRoleCommand({ RoleName: "no-such-role" })), "NoSuchEntityException");
    await admin.send(new DeleteRoleCommand({ RoleName: "encryptor" }));
    await rejects(() => admin.send(new ListInstanceProfilesForRoleCommand({ RoleName: "encryptor" })), "NoSuchEntityException");
    await rejects(() => freshKms.send(new DescribeKeyCommand({ KeyId })), "UnrecognizedClientException");
  });

  it("deleting a user ends its access keys' use, and needs its keys deleted first", async () => {
    iam = iamClient(server.url, undefined, { systemClockOffset: clock.now() - Date.now() });
    const creds = await makeUser(iam, "judy", { kms: ALLOW_KMS });
    await rejects(() => iam.send(new DeleteUserCommand({ UserName: "judy" })), "DeleteConflictException");
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: "judy" }))).AccessKeyMetadata!;
    for (const k of keys) await iam.send(new DeleteAccessKeyCommand({ UserName: "judy", AccessKeyId: k.AccessKeyId }));
    await iam.send(new DeleteUserPolicyCommand({ UserName: "judy", PolicyName: "kms" }));
    await iam.send(new DeleteUserCommand({ UserName: "judy" }));
    await rejects(
      () => kmsAs(server.url, creds, { systemClockOffset: clock.now() - Date.now() }).send(new ListKeysCommand({})),
      "UnrecognizedClientException",
    );
  });
  it("IAM actions are authorized on the entity's own ARN, path included: a policy scoped to a path reaches the users, groups and roles under it, and only them", async () => {
    const offset = { systemClockOffset: clock.now() - Date.now() };
    iam = iamClient(server.url, undefined, offset);
    const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "sts:AssumeRole" });
    await iam.send(new CreateUserCommand({ UserName: "boss", Path: "/admins/" }));
    await iam.send(new CreateUserCommand({ UserName: "temp" }));
    await iam.send(new CreateUserCommand({ UserName: "dev", Path: "/team/" }));
    await iam.send(new CreateRoleCommand({ RoleName: "guarded", Path: "/admins/", AssumeRolePolicyDocument: trust }));
    await iam.send(new CreateRoleCommand({ RoleName: "open", AssumeRolePolicyDocument: trust }));
    await iam.send(new CreateGroupCommand({ GroupName: "wheel", Path: "/admins/" }));
    await iam.send(new CreateGroupCommand({ GroupName: "staff" }));
    const admins = ["user", "role", "group"].map((t) => `arn:aws:iam::${ACCOUNT_ID}:${t}/admins/*`);
    const helpdesk = iamClient(
      server.url,
      await makeUser(iam, "helpdesk", {
        manage: policy({ Effect: "Allow", Action: "iam:*", Resource: "*" }, { Effect: "Deny", Action: "iam:*", Resource: admins }),
      }),
      offset,
    );
    const grant = policy({ Effect: "Allow", Action: "kms:*", Resource: "*" });
    // Under /admins/: refused, whatever the operation.
    for (const attempt of [
      () => helpdesk.send(new CreateAccessKeyCommand({ UserName: "boss" })),
      () => helpdesk.send(new PutUserPolicyCommand({ UserName: "boss", PolicyName: "p", PolicyDocument: grant })),
      () => helpdesk.send(new GetUserCommand({ UserName: "boss" })),
      () => helpdesk.send(new ListGroupsForUserCommand({ UserName: "boss" })),
      () => helpdesk.send(new AttachUserPolicyCommand({ UserName: "boss", PolicyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/none` })),
      () => helpdesk.send(new DeleteUserCommand({ UserName: "boss" })),
      () => helpdesk.send(new PutRolePolicyCommand({ RoleName: "guarded", PolicyName: "p", PolicyDocument: grant })),
      () => helpdesk.send(new DeleteRoleCommand({ RoleName: "guarded" })),
      () => helpdesk.send(new AddUserToGroupCommand({ GroupName: "wheel", UserName: "helpdesk" })),
      () => helpdesk.send(new GetGroupCommand({ GroupName: "wheel" })),
    ]) {
      await rejects(attempt, "AccessDenied");
    }
    assert.equal((await iam.send(new ListAccessKeysCommand({ UserName: "boss" }))).AccessKeyMetadata!.length, 0);
    assert.equal((await iam.send(new GetRoleCommand({ RoleName: "guarded" }))).Role!.RoleName, "guarded");
    // Elsewhere: allowed.
    await helpdesk.send(new PutUserPolicyCommand({ UserName: "temp", PolicyName: "p", PolicyDocument: grant }));
    await helpdesk.send(new PutRolePolicyCommand({ RoleName: "open", PolicyName: "p", PolicyDocument: grant }));
    await helpdesk.send(new AddUserToGroupCommand({ GroupName: "staff", UserName: "temp" }));
    // And an Allow scoped to a path reaches the users on it.
    const lead = iamClient(
      server.url,
      await makeUser(iam, "lead", {
        team: policy({ Effect: "Allow", Action: "iam:GetUser", Resource: `arn:aws:iam::${ACCOUNT_ID}:user/team/*` }),
      }),
      offset,
    );
    assert.equal((await lead.send(new GetUserCommand({ UserName: "dev" }))).User!.Arn, `arn:aws:iam::${ACCOUNT_ID}:user/team/dev`);
    await rejects(() => lead.send(new GetUserCommand({ UserName: "temp" })), "AccessDenied");
  });
  it("attaching and detaching a managed policy carries iam:PolicyARN: a Deny naming a policy stops its attachment, an Allow naming some allows only those", async () => {
    const offset = { systemClockOffset: clock.now() - Date.now() };
    iam = iamClient(server.url, undefined, offset);
    const arnOf = async (name: string) =>
      (
        await iam.send(
          new CreatePolicyCommand({ PolicyName: name, PolicyDocument: policy({ Effect: "Allow", Action: "kms:*", Resource: "*" }) }),
        )
      ).Policy!.Arn!;
    const [admin, approvedReader, other] = [await arnOf("Admin"), await arnOf("approved-reader"), await arnOf("other")];
    await iam.send(new CreateUserCommand({ UserName: "newcomer" }));
    const delegate = iamClient(
      server.url,
      await makeUser(iam, "delegate", {
        p: policy(
          {
            Effect: "Allow",
            Action: ["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
            Resource: "*",
            Condition: { ArnLike: { "iam:PolicyARN": `arn:aws:iam::${ACCOUNT_ID}:policy/approved-*` } },
          },
          { Effect: "Allow", Action: "iam:*", Resource: "*", Condition: { StringEquals: { "aws:username": "nobody" } } },
        ),
      }),
      offset,
    );
    const guarded = iamClient(
      server.url,
      await makeUser(iam, "guarded", {
        p: policy(
          { Effect: "Allow", Action: "iam:*", Resource: "*" },
          {
            Effect: "Deny",
            Action: ["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
            Resource: "*",
            Condition: { ArnEquals: { "iam:PolicyARN": admin } },
          },
        ),
      }),
      offset,
    );
    await delegate.send(new AttachUserPolicyCommand({ UserName: "newcomer", PolicyArn: approvedReader }));
    await rejects(() => delegate.send(new AttachUserPolicyCommand({ UserName: "newcomer", PolicyArn: other })), "AccessDenied");
    await rejects(() => guarded.send(new AttachUserPolicyCommand({ UserName: "newcomer", PolicyArn: admin })), "AccessDenied");
    await guarded.send(new AttachUserPolicyCommand({ UserName: "newcomer", PolicyArn: other }));
    const attached = (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "newcomer" }))).AttachedPolicies!.map(
      (p) => p.PolicyArn,
    );
    assert.deepEqual(attached.sort(), [approvedReader, other].sort());
    await iam.send(new AttachUserPolicyCommand({ UserName: "newcomer", PolicyArn: admin }));
    await rejects(() => guarded.send(new DetachUserPolicyCommand({ UserName: "newcomer", PolicyArn: admin })), "AccessDenied");
    await delegate.send(new DetachUserPolicyCommand({ UserName: "newcomer", PolicyArn: approvedReader }));
  });
  it("a permissions boundary or tags, which keyhold does not keep, are refused at creation rather than dropped, and nothing is created", async () => {
    iam = iamClient(server.url, undefined, { systemClockOffset: clock.now() - Date.now() });
    const boundary = `arn:aws:iam::${ACCOUNT_ID}:policy/Boundary`;
    const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "sts:AssumeRole" });
    const refused = [
      await rejects(() => iam.send(new CreateUserCommand({ UserName: "bounded", PermissionsBoundary: boundary })), "InvalidInputException"),
      await rejects(
        () => iam.send(new CreateUserCommand({ UserName: "bounded", Tags: [{ Key: "protected", Value: "true" }] })),
        "InvalidInputException",
      ),
      await rejects(
        () => iam.send(new CreateRoleCommand({ RoleName: "bounded", AssumeRolePolicyDocument: trust, PermissionsBoundary: boundary })),
        "InvalidInputException",
      ),
      await rejects(
        () => iam.send(new CreateRoleCommand({ RoleName: "bounded", AssumeRolePolicyDocument: trust, Tags: [{ Key: "a", Value: "b" }] })),
        "InvalidInputException",
      ),
      await rejects(
        () => iam.send(new CreatePolicyCommand({ PolicyName: "bounded", PolicyDocument: ALLOW_KMS, Tags: [{ Key: "a", Value: "b" }] })),
        "InvalidInputException",
      ),
    ];
    for (const e of refused) {
      assert.equal(e.$metadata?.httpStatusCode, 400);
      assert.match(e.message, /keyhold does not (support permissions boundaries|keep tags)/);
    }
    await rejects(() => iam.send(new GetUserCommand({ UserName: "bounded" })), "NoSuchEntityException");
    await rejects(() => iam.send(new GetRoleCommand({ RoleName: "bounded" })), "NoSuchEntityException");
    await rejects(
      () => iam.send(new GetPolicyCommand({ PolicyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/bounded` })),
      "NoSuchEntityException",
    );
  });
  it("AssumeRole refuses session tags, MFA, a source identity and provided contexts, which keyhold's sessions do not carry, rather than dropping them", async () => {
    const offset = { systemClockOffset: clock.now() - Date.now() };
    iam = iamClient(server.url, undefined, offset);
    const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "sts:AssumeRole" });
    const RoleArn = (await iam.send(new CreateRoleCommand({ RoleName: "tagless", AssumeRolePolicyDocument: trust }))).Role!.Arn!;
    const sts = stsClient(
      server.url,
      await makeUser(iam, "assumer", { p: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }) }),
      offset,
    );
    const base = { RoleArn, RoleSessionName: "s1" };
    const cases: [Partial<AssumeRoleCommandInput>, RegExp][] = [
      [{ Tags: [{ Key: "team", Value: "blue" }] }, /session tags/],
      [{ TransitiveTagKeys: ["team"] }, /session tags/],
      [{ SerialNumber: `arn:aws:iam::${ACCOUNT_ID}:mfa/assumer`, TokenCode: "123456" }, /MFA/],
      [{ SourceIdentity: "alice" }, /source identity/],
      [
        { ProvidedContexts: [{ ProviderArn: "arn:aws:iam::aws:contextProvider/IdentityCenter", ContextAssertion: "abcd" }] },
        /trusted context/,
      ],
    ];
    for (const [extra, what] of cases) {
      const e = await rejects(() => sts.send(new AssumeRoleCommand({ ...base, ...extra })), "ValidationError");
      assert.equal(e.$metadata?.httpStatusCode, 400);
      assert.match(e.message, what);
    }
    const session = await sts.send(new AssumeRoleCommand(base));
    assert.match(session.AssumedRoleUser!.Arn!, /assumed-role\/tagless\/s1$/);
  });
});
