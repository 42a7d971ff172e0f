/** Key policies are enforced: what the policy does not allow is AccessDeniedException, and the trail shows it. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { CreateUserCommand } from "@aws-sdk/client-iam";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient } from "./iam.js";

const ROOT = `arn:aws:iam::${ACCOUNT_ID}:root`;

function policy(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

describe("key policy enforcement", () => {
  let server: TestServer;
  let kms: KMSClient;
  before(async () => {
    server = await startTestServer();
    kms = server.client();
  });
  after(() => server.stop());

  it("the lockout safety check refuses a policy that would lock the caller out, unless bypassed", async () => {
    const encryptOnly = policy({ Effect: "Allow", Principal: { AWS: ROOT }, Action: ["kms:Encrypt", "kms:DescribeKey"], Resource: "*" });
    await rejects(() => kms.send(new CreateKeyCommand({ Policy: encryptOnly })), "MalformedPolicyDocumentException");
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await rejects(() => kms.send(new PutKeyPolicyCommand({ KeyId, Policy: encryptOnly })), "MalformedPolicyDocumentException");
    await kms.send(new PutKeyPolicyCommand({ KeyId, Policy: encryptOnly, BypassPolicyLockoutSafetyCheck: true }));
    await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("still allowed") }));
    await rejects(
      () => kms.send(new PutKeyPolicyCommand({ KeyId, Policy: encryptOnly, BypassPolicyLockoutSafetyCheck: true })),
      "AccessDeniedException",
    );
  });

  it("a tag read only through a policy variable (${aws:ResourceTag/team}) has its value", async () => {
    const keyPolicy = policy(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: ["kms:PutKeyPolicy", "kms:DescribeKey", "kms:TagResource"], Resource: "*" },
      {
        Effect: "Allow",
        Principal: { AWS: ROOT },
        Action: "kms:Encrypt",
        Resource: "*",
        Condition: { StringEquals: { "kms:EncryptionContext:team": "${aws:ResourceTag/team}" } },
      },
    );
    const made = await kms.send(
      new CreateKeyCommand({ Policy: keyPolicy, BypassPolicyLockoutSafetyCheck: true, Tags: [{ TagKey: "team", TagValue: "blue" }] }),
    );
    const KeyId = made.KeyMetadata!.KeyId!;
    await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x"), EncryptionContext: { team: "blue" } }));
    await rejects(
      () => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x"), EncryptionContext: { team: "red" } })),
      "AccessDeniedException",
    );
  });

  it("a policy naming a principal that does not exist is malformed, as KMS has it, and nothing is written", async () => {
    const keys = async () => (await kms.send(new ListKeysCommand({}))).Keys!.length;
    const before = await keys();
    const withPrincipal = (principal: string) =>
      policy(
        { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
        { Effect: "Allow", Principal: { AWS: principal }, Action: "kms:Encrypt", Resource: "*" },
      );
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (const principal of [
      `arn:aws:iam::${ACCOUNT_ID}:user/ghost`,
      `arn:aws:iam::${ACCOUNT_ID}:role/not-yet`,
      `arn:aws:iam::${ACCOUNT_ID}:user/*`,
      "999999999999",
      "arn:aws:iam::999999999999:root",
      `arn:aws:sts::${ACCOUNT_ID}:assumed-role/not-yet/session`,
    ]) {
      const refused = await rejects(
        () => kms.send(new CreateKeyCommand({ Policy: withPrincipal(principal) })),
        "MalformedPolicyDocumentException",
      );
      assert.match(refused.message, /invalid principals/);
      await rejects(
        () => kms.send(new PutKeyPolicyCommand({ KeyId, Policy: withPrincipal(principal) })),
        "MalformedPolicyDocumentException",
      );
    }
    assert.equal(await keys(), before + 1, "no key was made by a refused CreateKey");
    // Once the user exists, the same policy is accepted.
    const iam = iamClient(server.url);
    await iam.send(new CreateUserCommand({ UserName: "ghost" }));
    iam.destroy();
    await kms.send(new PutKeyPolicyCommand({ KeyId, Policy: withPrincipal(`arn:aws:iam::${ACCOUNT_ID}:user/ghost`) }));
    await kms.send(new CreateKeyCommand({ Policy: withPrincipal(ACCOUNT_ID) }));
  });

  it("allows what the policy allows and refuses the rest with AccessDeniedException, before revealing state", async () => {
    const p = policy({
      Effect: "Allow",
      Principal: { AWS: ACCOUNT_ID },
      Action: ["kms:Encrypt", "kms:DescribeKey", "kms:PutKeyPolicy", "kms:ReEncrypt*"],
      Resource: "*",
    });
    const KeyId = (await kms.send(new CreateKeyCommand({ Policy: p }))).KeyMetadata!.KeyId!;
    const enc = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }));
    const denied = await rejects(() => kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), "AccessDeniedException");
    assert.match(
      denied.message,
      new RegExp(`${ROOT} is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${KeyId}`),
    );
    await rejects(() => kms.send(new DisableKeyCommand({ KeyId })), "AccessDeniedException");
    // kms:ReEncrypt* covers both halves of ReEncrypt.
    const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: KeyId }));
    assert.ok(re.CiphertextBlob!.length > 0);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyId, KeyId);
  });

  it("an explicit Deny wins over an Allow; a Deny with a condition keyhold cannot evaluate denies", async () => {
    const p = policy(
      { Effect: "Allow", Principal: { AWS: ROOT }, Action: "kms:*", Resource: "*" },
      { Effect: "Deny", Principal: "*", Action: "kms:Decrypt", Resource: "*" },
      {
        Effect: "Deny",
        Principal: "*",
        Action: "kms:GenerateDataKey",
        Resource: "*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    );
    const KeyId = (await kms.send(new CreateKeyCommand({ Policy: p }))).KeyMetadata!.KeyId!;
    const enc = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") }));
    await rejects(() => kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), "AccessDeniedException");
    const { GenerateDataKeyCommand } = await import("@aws-sdk/client-kms");
    await rejects(() => kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: "AES_256" })), "AccessDeniedException");
  });

  it("a denied call is in the audit trail with AccessDeniedException and who asked", async () => {
    const p = policy({ Effect: "Allow", Principal: { AWS: ROOT }, Action: ["kms:Encrypt", "kms:PutKeyPolicy"], Resource: "*" });
    const KeyId = (await kms.send(new CreateKeyCommand({ Policy: p }))).KeyMetadata!.KeyId!;
    const denied = await kms.send(new DisableKeyCommand({ KeyId })).catch((e: Error & { $metadata: { requestId?: string } }) => e);
    assert.equal((denied as Error).name, "AccessDeniedException");
    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const events = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "DisableKey" }] }))
    ).Events!;
    trail.destroy();
    const r = JSON.parse(events.find((e) => JSON.parse(e.CloudTrailEvent!).errorCode === "AccessDeniedException")!.CloudTrailEvent!);
    assert.equal(r.userIdentity.arn, ROOT);
    assert.equal(r.requestParameters.keyId, KeyId);
    assert.match(r.errorMessage, /is not authorized to perform: kms:DisableKey/);
    assert.deepEqual(r.resources, [
      { accountId: ACCOUNT_ID, type: "AWS::KMS::Key", ARN: `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${KeyId}` },
    ]);
  });
});
