import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
  UpdateKeyDescriptionCommand,
  CreateAliasCommand,
  GetKeyPolicyCommand,
  ListKeyPoliciesCommand,
  PutKeyPolicyCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";

describe("key lifecycle through @aws-sdk/client-kms", () => {
  let server: TestServer;
  let kms: KMSClient;
  before(async () => {
    server = await startTestServer();
    kms = server.client();
  });
  after(() => server.stop());

  it("CreateKey returns complete metadata and DescribeKey returns the same by id, ARN, alias and alias ARN", async () => {
    const created = await kms.send(new CreateKeyCommand({ Description: "orders", Tags: [{ TagKey: "team", TagValue: "pay" }] }));
    const md = created.KeyMetadata!;
    assert.match(md.KeyId!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(md.Arn, `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${md.KeyId}`);
    assert.equal(md.AWSAccountId, ACCOUNT_ID);
    assert.equal(md.Enabled, true);
    assert.equal(md.KeyState, "Enabled");
    assert.equal(md.KeySpec, "SYMMETRIC_DEFAULT");
    assert.equal(md.CustomerMasterKeySpec, "SYMMETRIC_DEFAULT");
    assert.equal(md.KeyUsage, "ENCRYPT_DECRYPT");
    assert.equal(md.KeyManager, "CUSTOMER");
    assert.equal(md.Origin, "AWS_KMS");
    assert.equal(md.MultiRegion, false);
    assert.deepEqual(md.EncryptionAlgorithms, ["SYMMETRIC_DEFAULT"]);
    assert.equal(md.Description, "orders");
    assert.match(md.CurrentKeyMaterialId!, /^[0-9a-f]{64}$/);
    assert.ok(md.CreationDate instanceof Date && Math.abs(md.CreationDate.getTime() - Date.now()) < 60_000);
    assert.equal(md.DeletionDate, undefined);

    await kms.send(new CreateAliasCommand({ AliasName: "alias/lifecycle", TargetKeyId: md.KeyId }));
    for (const id of [md.KeyId!, md.Arn!, "alias/lifecycle", `arn:aws:kms:us-east-1:${ACCOUNT_ID}:alias/lifecycle`]) {
      const described = await kms.send(new DescribeKeyCommand({ KeyId: id }));
      assert.deepEqual(described.KeyMetadata, md, `DescribeKey by ${id}`);
    }
  });

  it("refuses what CreateKey cannot do, with AWS's codes", async () => {
    await rejects(() => kms.send(new CreateKeyCommand({ KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "SIGN_VERIFY" })), "ValidationException");
    await rejects(
      () => kms.send(new CreateKeyCommand({ KeySpec: "SYMMETRIC_DEFAULT", CustomerMasterKeySpec: "SYMMETRIC_DEFAULT" })),
      "ValidationException",
    );
    await rejects(() => kms.send(new CreateKeyCommand({ Description: "x".repeat(8193) })), "ValidationException");
    await rejects(() => kms.send(new CreateKeyCommand({ Tags: [{ TagKey: "aws:reserved", TagValue: "v" }] })), "TagException");
    await rejects(() => kms.send(new CreateKeyCommand({ Policy: "{not json" })), "MalformedPolicyDocumentException");
    await rejects(() => kms.send(new CreateKeyCommand({ CustomKeyStoreId: "cks-1234567890abcdef0" })), "CustomKeyStoreNotFoundException");
    await rejects(() => kms.send(new CreateKeyCommand({ KeySpec: "SM2", KeyUsage: "SIGN_VERIFY" })), "UnsupportedOperationException");
    await rejects(() => kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256" })), "ValidationException");
  });

  it("names keys of unknown, malformed or foreign identifiers NotFound", async () => {
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "not-a-key" })), "NotFoundException");
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "00000000-0000-0000-0000-000000000000" })), "NotFoundException");
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "alias/nothing-here" })), "NotFoundException");
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: "arn:aws:kms:us-east-1:bad" })), "InvalidArnException");
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const foreignArn = KeyMetadata!.Arn!.replace(ACCOUNT_ID, "999999999999");
    await rejects(() => kms.send(new DescribeKeyCommand({ KeyId: foreignArn })), "NotFoundException");
    // Management operations take a key id or key ARN, never an alias.
    await kms.send(new CreateAliasCommand({ AliasName: "alias/mgmt", TargetKeyId: KeyMetadata!.KeyId }));
    await rejects(() => kms.send(new DisableKeyCommand({ KeyId: "alias/mgmt" })), "NotFoundException");
  });

  it("keeps regions apart: a key made through us-west-2 is not found through eu-west-1", async () => {
    const west = server.client("us-west-2");
    const eu = server.client("eu-west-1");
    const { KeyMetadata } = await west.send(new CreateKeyCommand({ Description: "west" }));
    assert.match(KeyMetadata!.Arn!, /^arn:aws:kms:us-west-2:/);
    await rejects(() => eu.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId })), "NotFoundException");
    await rejects(
      () => west.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.Arn!.replace("us-west-2", "eu-west-1") })),
      "NotFoundException",
    );
    const euKeys = await eu.send(new ListKeysCommand({}));
    assert.ok(!euKeys.Keys!.some((k) => k.KeyId === KeyMetadata!.KeyId));
    assert.equal((await west.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata!.Description, "west");
  });

  it("ListKeys pages with Limit and Marker and lists every key once", async () => {
    const region = "ap-south-1";
    const client = server.client(region);
    const made = new Set<string>();
    for (let i = 0; i < 7; i++) made.add((await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListKeysCommand({ Limit: 3, Marker: marker }));
      pages++;
      assert.ok(page.Keys!.length <= 3);
      for (const k of page.Keys!) {
        assert.equal(k.KeyArn, `arn:aws:kms:${region}:${ACCOUNT_ID}:key/${k.KeyId}`);
        seen.push(k.KeyId!);
      }
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      marker = page.NextMarker;
    } while (marker);
    assert.equal(pages, 3);
    assert.deepEqual(new Set(seen), made);
    assert.equal(seen.length, 7);
    await rejects(() => client.send(new ListKeysCommand({ Marker: "garbage" })), "InvalidMarkerException");
    // A marker is good only for the operation that returned it.
    const keysMarker = (await client.send(new ListKeysCommand({ Limit: 1 }))).NextMarker!;
    await rejects(() => client.send(new ListAliasesCommand({ Marker: keysMarker })), "InvalidMarkerException");
    await rejects(() => client.send(new ListKeysCommand({ Limit: 0 })), "ValidationException");
    await rejects(() => client.send(new ListKeysCommand({ Limit: 1001 })), "ValidationException");
  });

  it("disable, enable, update description; a disabled key refuses cryptography with DisabledException", async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: "before" }));
    const KeyId = KeyMetadata!.KeyId!;
    await kms.send(new DisableKeyCommand({ KeyId }));
    let md = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(md.KeyState, "Disabled");
    assert.equal(md.Enabled, false);
    await rejects(() => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })), "DisabledException");
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: "after" }));
    await kms.send(new EnableKeyCommand({ KeyId }));
    md = (await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.Arn }))).KeyMetadata!;
    assert.equal(md.KeyState, "Enabled");
    assert.equal(md.Description, "after");
    const out = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }));
    assert.equal(out.KeyId, KeyMetadata!.Arn);
  });

  it("key policies: the default gives the account root kms:*, a given one is stored, PutKeyPolicy replaces it", async () => {
    const created = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const got = await kms.send(new GetKeyPolicyCommand({ KeyId: created.KeyId }));
    assert.equal(got.PolicyName, "default");
    const policy = JSON.parse(got.Policy!);
    assert.deepEqual(policy.Statement[0].Principal, { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` });
    assert.equal(policy.Statement[0].Action, "kms:*");
    assert.deepEqual((await kms.send(new ListKeyPoliciesCommand({ KeyId: created.Arn }))).PolicyNames, ["default"]);

    const mine = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: "*" }, Action: ["kms:Decrypt", "kms:GetKeyPolicy", "kms:PutKeyPolicy"], Resource: "*" },
      ],
    });
    const withPolicy = (await kms.send(new CreateKeyCommand({ Policy: mine }))).KeyMetadata!.KeyId!;
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: withPolicy, PolicyName: "default" }))).Policy, mine);
    const replaced = mine.replace("kms:Decrypt", "kms:Encrypt");
    await kms.send(new PutKeyPolicyCommand({ KeyId: withPolicy, Policy: replaced }));
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: withPolicy }))).Policy, replaced);

    await rejects(() => kms.send(new PutKeyPolicyCommand({ KeyId: withPolicy, Policy: "{broken" })), "MalformedPolicyDocumentException");
    await rejects(
      () => kms.send(new PutKeyPolicyCommand({ KeyId: withPolicy, Policy: JSON.stringify({ Version: "2012-10-17" }) })),
      "MalformedPolicyDocumentException",
    );
    await rejects(
      () => kms.send(new PutKeyPolicyCommand({ KeyId: withPolicy, Policy: JSON.stringify({ Statement: [], pad: "x".repeat(33_000) }) })),
      "LimitExceededException",
    );
    await rejects(() => kms.send(new GetKeyPolicyCommand({ KeyId: withPolicy, PolicyName: "other" })), "NotFoundException");
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: withPolicy }))).Policy, replaced, "a refused put changes nothing");
  });

  it("ScheduleKeyDeletion takes 7–30 days (default 30); the key is pending deletion until CancelKeyDeletion leaves it Disabled", async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const KeyId = KeyMetadata!.KeyId!;
    await rejects(() => kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 6 })), "ValidationException");
    await rejects(() => kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 31 })), "ValidationException");
    await rejects(() => kms.send(new CancelKeyDeletionCommand({ KeyId })), "KMSInvalidStateException");

    const before = Date.now();
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId }));
    assert.equal(scheduled.KeyId, KeyMetadata!.Arn);
    assert.equal(scheduled.KeyState, "PendingDeletion");
    assert.equal(scheduled.PendingWindowInDays, 30);
    const expected = before + 30 * 86_400_000;
    assert.ok(Math.abs(scheduled.DeletionDate!.getTime() - expected) < 60_000);

    const md = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(md.KeyState, "PendingDeletion");
    assert.equal(md.Enabled, false);
    assert.equal(md.DeletionDate!.getTime(), scheduled.DeletionDate!.getTime());

    const e = await rejects(() => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })), "KMSInvalidStateException");
    assert.match(e.message, /pending deletion/);
    await rejects(() => kms.send(new EnableKeyCommand({ KeyId })), "KMSInvalidStateException");
    await rejects(() => kms.send(new DisableKeyCommand({ KeyId })), "KMSInvalidStateException");
    await rejects(() => kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 })), "KMSInvalidStateException");
    await rejects(() => kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: "no" })), "KMSInvalidStateException");

    const cancelled = await kms.send(new CancelKeyDeletionCommand({ KeyId }));
    assert.equal(cancelled.KeyId, KeyMetadata!.Arn);
    const after = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(after.KeyState, "Disabled");
    assert.equal(after.DeletionDate, undefined);
    await rejects(() => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })), "DisabledException");
  });
});
