/**
 * S3 server-side encryption through @aws-sdk/client-s3: what is on disk, tampering, SSE-S3,
 * SSE-KMS through KMS's own authorization, default bucket encryption, BlockedEncryptionTypes,
 * the deny-unencrypted bucket policy, and the audit trail of S3 calls.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketPolicyCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  GenerateDataKeyCommand,
  GetKeyLastUsageCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  ListKeysCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { sealedSize } from "../src/crypto/object-cipher.js";
import { parseBlobHeader } from "../src/crypto/ciphertext-blob.js";
import { DAY_MS, ManualClock } from "../src/clock.js";
import type { ObjectBody } from "../src/s3/service.js";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, ROOT_CREDS, stsClient } from "./iam.js";
import { CreateRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { bytesOf, denyUnencryptedPolicy, patterned, s3Client, s3Signer } from "./s3.js";

describe("S3 server-side encryption", () => {
  let server: TestServer;
  let s3: S3Client;
  let kms: KMSClient;

  before(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    kms = server.client();
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  async function stored(bucket: string, key: string): Promise<{ body: ObjectBody; files: string[] }> {
    const doc = await server.keyhold.repo.getDocument("s3-object", bucket, key);
    assert.ok(doc, `${bucket}/${key} has metadata`);
    const body = JSON.parse(doc.body) as ObjectBody;
    return { body, files: body.parts.map((p) => join(server.dataDir, "s3", "objects", p.id)) };
  }

  it("keeps only ciphertext on disk, each object under its own data key, and no plaintext key in the metadata", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "at-rest" }));
    const plaintext = Buffer.from("the quarterly numbers are 1234567; ".repeat(3000));
    await s3.send(new PutObjectCommand({ Bucket: "at-rest", Key: "a", Body: plaintext }));
    await s3.send(new PutObjectCommand({ Bucket: "at-rest", Key: "b", Body: plaintext }));
    const a = await stored("at-rest", "a");
    const b = await stored("at-rest", "b");
    const fileA = readFileSync(a.files[0]!);
    const fileB = readFileSync(b.files[0]!);
    assert.equal(fileA.length, sealedSize(plaintext.length));
    assert.ok(!fileA.includes(Buffer.from("quarterly")), "no plaintext in the stored file");
    assert.ok(!fileA.subarray(0, 64).equals(fileB.subarray(0, 64)), "the same plaintext under two data keys differs");
    assert.equal(a.body.sse.algorithm, "AES256");
    assert.notEqual(a.body.sse.wrappedKey, b.body.sse.wrappedKey);
    assert.equal(Buffer.from(a.body.sse.wrappedKey, "base64").length > 32, true, "the data key is stored wrapped, never bare");
  });

  it("fails a GET of an object altered at rest, and never returns altered bytes", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "tamper" }));
    await s3.send(new PutObjectCommand({ Bucket: "tamper", Key: "small", Body: "a short object" }));
    const small = await stored("tamper", "small");
    const bytes = readFileSync(small.files[0]!);
    bytes[3] ^= 0x01;
    writeFileSync(small.files[0]!, bytes);
    const failed = await rejects(() => s3.send(new GetObjectCommand({ Bucket: "tamper", Key: "small" })), "InternalError");
    assert.equal(failed.$metadata?.httpStatusCode, 500);

    // A later chunk altered: the response ends early; the client never gets the whole (altered) object.
    const data = patterned(4 * 65536, 5);
    await s3.send(new PutObjectCommand({ Bucket: "tamper", Key: "large", Body: data }));
    const large = await stored("tamper", "large");
    const sealed = readFileSync(large.files[0]!);
    sealed[2 * (65536 + 16) + 100] ^= 0x80;
    writeFileSync(large.files[0]!, sealed);
    await assert.rejects(async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: "tamper", Key: "large" }));
      const received = await bytesOf(got.Body);
      assert.fail(`received ${received.length} bytes of an altered object`);
    });
    // The untouched first chunk is still served by a Range read; the altered one is not.
    const head = await s3.send(new GetObjectCommand({ Bucket: "tamper", Key: "large", Range: "bytes=0-99" }));
    assert.ok((await bytesOf(head.Body)).equals(data.subarray(0, 100)));
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: "tamper", Key: "large", Range: "bytes=131100-131200" })), "InternalError");

    // Truncated (the last chunk dropped) and swapped (another object's file, same size): both refused.
    await s3.send(new PutObjectCommand({ Bucket: "tamper", Key: "t", Body: data }));
    const t = await stored("tamper", "t");
    writeFileSync(t.files[0]!, readFileSync(t.files[0]!).subarray(0, 3 * (65536 + 16)));
    await assert.rejects(async () => bytesOf((await s3.send(new GetObjectCommand({ Bucket: "tamper", Key: "t" }))).Body));
    await s3.send(new PutObjectCommand({ Bucket: "tamper", Key: "x", Body: "same size 1" }));
    await s3.send(new PutObjectCommand({ Bucket: "tamper", Key: "y", Body: "same size 2" }));
    const x = await stored("tamper", "x");
    const y = await stored("tamper", "y");
    writeFileSync(x.files[0]!, readFileSync(y.files[0]!));
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: "tamper", Key: "x" })), "InternalError");
  });

  it("SSE-KMS: the data key comes from the named KMS key (or aws/s3, made on first use), bound to the object's ARN", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "kms-objects" }));
    const md = (await kms.send(new CreateKeyCommand({ Description: "s3 objects" }))).KeyMetadata!;
    await kms.send(new CreateAliasCommand({ AliasName: "alias/s3-objects", TargetKeyId: md.KeyId }));
    const context = Buffer.from(JSON.stringify({ department: "finance" })).toString("base64");
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "kms-objects",
        Key: "ledger.csv",
        Body: "a,b,c",
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: "alias/s3-objects",
        SSEKMSEncryptionContext: context,
      }),
    );
    assert.equal(put.ServerSideEncryption, "aws:kms");
    assert.equal(put.SSEKMSKeyId, md.Arn);
    const { body } = await stored("kms-objects", "ledger.csv");
    assert.deepEqual(body.sse.context, { department: "finance", "aws:s3:arn": "arn:aws:s3:::kms-objects/ledger.csv" });
    const got = await s3.send(new GetObjectCommand({ Bucket: "kms-objects", Key: "ledger.csv" }));
    assert.equal((await bytesOf(got.Body)).toString(), "a,b,c");
    assert.equal(got.ServerSideEncryption, "aws:kms");
    assert.equal(got.SSEKMSKeyId, md.Arn);

    const managed = await s3.send(
      new PutObjectCommand({ Bucket: "kms-objects", Key: "default-key", Body: "x", ServerSideEncryption: "aws:kms" }),
    );
    const awsS3 = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/s3" }))).KeyMetadata!;
    assert.equal(managed.SSEKMSKeyId, awsS3.Arn);
    assert.equal(awsS3.KeyManager, "AWS");
    const again = await s3.send(
      new PutObjectCommand({ Bucket: "kms-objects", Key: "default-key-2", Body: "y", ServerSideEncryption: "aws:kms" }),
    );
    assert.equal(again.SSEKMSKeyId, awsS3.Arn, "aws/s3 is made once");

    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: "kms-objects", Key: "k", Body: "x", SSEKMSKeyId: md.KeyId })),
      "InvalidArgument",
    );
    await rejects(
      () =>
        s3.send(
          new PutObjectCommand({ Bucket: "kms-objects", Key: "k", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/none" }),
        ),
      "KMS.NotFoundException",
    );
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: "kms-objects", Key: "k", Body: "x", ServerSideEncryption: "AES128" as never })),
      "InvalidArgument",
    );
    // The context header must be base64 of Unicode JSON: not UTF-8, or an unpaired surrogate, would read as U+FFFD.
    for (const bad of [
      Buffer.from([0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
      Buffer.from('{"k":"\\ud83d"}'),
      Buffer.from("[]"),
    ]) {
      await rejects(
        () =>
          s3.send(
            new PutObjectCommand({
              Bucket: "kms-objects",
              Key: "k",
              Body: "x",
              ServerSideEncryption: "aws:kms",
              SSEKMSEncryptionContext: bad.toString("base64"),
            }),
          ),
        "InvalidArgument",
      );
    }
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" }))).KeyMetadata!;
    await rejects(
      () =>
        s3.send(
          new PutObjectCommand({ Bucket: "kms-objects", Key: "k", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: rsa.KeyId }),
        ),
      "InvalidArgument",
    );

    // A disabled key makes its objects unreadable and refuses new ones; enabling it restores both.
    await kms.send(new DisableKeyCommand({ KeyId: md.KeyId }));
    const disabled = await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: "kms-objects", Key: "ledger.csv" })),
      "KMS.DisabledException",
    );
    assert.equal(disabled.$metadata?.httpStatusCode, 400);
    await rejects(
      () =>
        s3.send(
          new PutObjectCommand({ Bucket: "kms-objects", Key: "new", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: md.KeyId }),
        ),
      "KMS.DisabledException",
    );
    // HEAD reads metadata only, as on S3: it needs no kms:Decrypt and works with the key disabled.
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "kms-objects", Key: "ledger.csv" }))).SSEKMSKeyId, md.Arn);
    await kms.send(new EnableKeyCommand({ KeyId: md.KeyId }));
    const back = await s3.send(new GetObjectCommand({ Bucket: "kms-objects", Key: "ledger.csv" }));
    assert.equal((await bytesOf(back.Body)).toString(), "a,b,c");
  });

  it("SSE-KMS is authorized by KMS for the caller: kms:ViaService lets a key be used through S3 only", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "via-s3" }));
    const iam = iamClient(server.url);
    const s3Only = policy({ Effect: "Allow", Action: "s3:*", Resource: ["arn:aws:s3:::via-s3", "arn:aws:s3:::via-s3/*"] });
    const noKms = await makeUser(iam, "s3-no-kms", { s3: s3Only });
    const viaS3 = await makeUser(iam, "s3-via-kms", {
      s3: s3Only,
      kms: policy({
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"],
        Resource: "*",
        Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } },
      }),
    });
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const asNoKms = s3Client(server.url, noKms);
    const asVia = s3Client(server.url, viaS3);
    const kmsVia = kmsAs(server.url, viaS3);
    try {
      await asNoKms.send(new PutObjectCommand({ Bucket: "via-s3", Key: "sse-s3", Body: "x" }));
      const denied = await rejects(
        () =>
          asNoKms.send(
            new PutObjectCommand({ Bucket: "via-s3", Key: "sse-kms", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: key.KeyId }),
          ),
        "AccessDenied",
      );
      assert.match(denied.message, /kms:GenerateDataKey/);
      await rejects(() => asNoKms.send(new GetObjectCommand({ Bucket: "via-s3", Key: "sse-kms" })), "NoSuchKey");

      await asVia.send(
        new PutObjectCommand({
          Bucket: "via-s3",
          Key: "sse-kms",
          Body: "through s3",
          ServerSideEncryption: "aws:kms",
          SSEKMSKeyId: key.KeyId,
        }),
      );
      assert.equal(
        (await bytesOf((await asVia.send(new GetObjectCommand({ Bucket: "via-s3", Key: "sse-kms" }))).Body)).toString(),
        "through s3",
      );
      await rejects(() => kmsVia.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("direct") })), "AccessDeniedException");
      // The user who may use S3 but not the key cannot read the object either.
      await rejects(() => asNoKms.send(new GetObjectCommand({ Bucket: "via-s3", Key: "sse-kms" })), "AccessDenied");
      assert.equal((await bytesOf((await asNoKms.send(new GetObjectCommand({ Bucket: "via-s3", Key: "sse-s3" }))).Body)).toString(), "x");
    } finally {
      asNoKms.destroy();
      asVia.destroy();
      kmsVia.destroy();
      iam.destroy();
    }
  });

  it("S3 Bucket Keys: one KMS operation serves many objects; the caller's KMS permission and the key's state still decide every read", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "bucket-keys" }));
    const key = (await kms.send(new CreateKeyCommand({ Description: "bucket keys" }))).KeyMetadata!;
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "bucket-keys",
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: key.KeyId }, BucketKeyEnabled: true }],
        },
      }),
    );
    const rule = (await s3.send(new GetBucketEncryptionCommand({ Bucket: "bucket-keys" }))).ServerSideEncryptionConfiguration!.Rules![0]!;
    assert.equal(rule.BucketKeyEnabled, true);
    for (const name of ["one", "two", "three"]) {
      const put = await s3.send(new PutObjectCommand({ Bucket: "bucket-keys", Key: name, Body: `object ${name}` }));
      assert.equal(put.BucketKeyEnabled, true);
      assert.equal(put.SSEKMSKeyId, key.Arn);
    }
    const records = await Promise.all(["one", "two", "three"].map((k) => stored("bucket-keys", k)));
    assert.equal(new Set(records.map((r) => r.body.sse.bucketKey)).size, 1, "the three objects share one bucket key");
    assert.ok(records[0]!.body.sse.bucketKey);
    assert.deepEqual(records[0]!.body.sse.context, { "aws:s3:arn": "arn:aws:s3:::bucket-keys" }, "the context names the bucket");
    assert.equal(new Set(records.map((r) => r.body.sse.wrappedKey)).size, 3, "each object still has its own data key");
    const without = await s3.send(
      new PutObjectCommand({ Bucket: "bucket-keys", Key: "no-bucket-key", Body: "x", BucketKeyEnabled: false }),
    );
    assert.equal(without.BucketKeyEnabled, undefined);
    assert.equal((await stored("bucket-keys", "no-bucket-key")).body.sse.bucketKey, undefined);

    const got = await s3.send(new GetObjectCommand({ Bucket: "bucket-keys", Key: "two" }));
    assert.equal((await bytesOf(got.Body)).toString(), "object two");
    assert.equal(got.BucketKeyEnabled, true);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: "bucket-keys", Key: "one" }))).BucketKeyEnabled, true);

    // Cached or not, a disabled key stops reads at once, and a caller without kms:Decrypt is refused.
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: "bucket-keys", Key: "two" })), "KMS.DisabledException");
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    const iam = iamClient(server.url);
    const reader = await makeUser(iam, "bucket-key-reader", { s3: policy({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }) });
    const asReader = s3Client(server.url, reader);
    try {
      await rejects(() => asReader.send(new GetObjectCommand({ Bucket: "bucket-keys", Key: "two" })), "AccessDenied");
    } finally {
      asReader.destroy();
      iam.destroy();
    }
    assert.equal(
      (await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "bucket-keys", Key: "three" }))).Body)).toString(),
      "object three",
    );
  });

  it("applies the bucket's default encryption to requests that name none, and reports BlockedEncryptionTypes", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "defaults" }));
    const initial = await s3.send(new GetBucketEncryptionCommand({ Bucket: "defaults" }));
    const rule0 = initial.ServerSideEncryptionConfiguration!.Rules![0]!;
    assert.equal(rule0.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "AES256");
    assert.deepEqual(rule0.BlockedEncryptionTypes?.EncryptionType, ["SSE-C"], "SSE-C is blocked on new buckets");

    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "defaults",
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: key.Arn } }],
        },
      }),
    );
    const got = await s3.send(new GetBucketEncryptionCommand({ Bucket: "defaults" }));
    const rule = got.ServerSideEncryptionConfiguration!.Rules![0]!;
    assert.equal(rule.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "aws:kms");
    assert.equal(rule.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID, key.Arn);
    assert.deepEqual(rule.BlockedEncryptionTypes?.EncryptionType, ["SSE-C"], "a rule without BlockedEncryptionTypes keeps the setting");
    const put = await s3.send(new PutObjectCommand({ Bucket: "defaults", Key: "implicit", Body: "x" }));
    assert.equal(put.ServerSideEncryption, "aws:kms");
    assert.equal(put.SSEKMSKeyId, key.Arn);
    const explicit = await s3.send(
      new PutObjectCommand({ Bucket: "defaults", Key: "explicit", Body: "x", ServerSideEncryption: "AES256" }),
    );
    assert.equal(explicit.ServerSideEncryption, "AES256", "a request's own choice wins over the default");

    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "defaults",
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BlockedEncryptionTypes: { EncryptionType: ["NONE"] } }],
        },
      }),
    );
    const unblocked = await s3.send(new GetBucketEncryptionCommand({ Bucket: "defaults" }));
    assert.deepEqual(unblocked.ServerSideEncryptionConfiguration!.Rules![0]!.BlockedEncryptionTypes?.EncryptionType, ["NONE"]);
    await rejects(
      () =>
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket: "defaults",
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256", KMSMasterKeyID: key.Arn } }],
            },
          }),
        ),
      "InvalidArgument",
    );
    await rejects(
      () =>
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket: "defaults",
            ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "ROT13" as never } }] },
          }),
        ),
      "MalformedXML",
    );
    assert.equal((await s3.send(new DeleteBucketEncryptionCommand({ Bucket: "defaults" }))).$metadata.httpStatusCode, 204);
    const reset = await s3.send(new GetBucketEncryptionCommand({ Bucket: "defaults" }));
    assert.equal(reset.ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "AES256");
    assert.equal(
      (await s3.send(new PutObjectCommand({ Bucket: "defaults", Key: "after-delete", Body: "x" }))).ServerSideEncryption,
      "AES256",
    );
  });

  it("refuses SSE-C over plain HTTP, before anything is stored", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "sse-c-http" }));
    const key = Buffer.alloc(32, 9);
    const refused = await rejects(
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: "sse-c-http",
            Key: "k",
            Body: "x",
            SSECustomerAlgorithm: "AES256",
            SSECustomerKey: key.toString("base64"),
          }),
        ),
      "InvalidRequest",
    );
    assert.equal(refused.$metadata?.httpStatusCode, 400);
    assert.match(refused.message, /secure connection/);
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: "sse-c-http", Key: "k" })), "NoSuchKey");
  });

  it("enforces the classic deny-unencrypted bucket policy exactly as written", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "must-encrypt" }));
    const document = denyUnencryptedPolicy("must-encrypt");
    await rejects(() => s3.send(new GetBucketPolicyCommand({ Bucket: "must-encrypt" })), "NoSuchBucketPolicy");
    assert.equal((await s3.send(new PutBucketPolicyCommand({ Bucket: "must-encrypt", Policy: document }))).$metadata.httpStatusCode, 204);
    assert.equal((await s3.send(new GetBucketPolicyCommand({ Bucket: "must-encrypt" }))).Policy, document);
    const denied = await rejects(() => s3.send(new PutObjectCommand({ Bucket: "must-encrypt", Key: "plain", Body: "x" })), "AccessDenied");
    assert.equal(denied.$metadata?.httpStatusCode, 403);
    assert.match(denied.message, /explicit deny in a resource-based policy/);
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: "must-encrypt", Key: "kms", Body: "x", ServerSideEncryption: "aws:kms" })),
      "AccessDenied",
    );
    const ok = await s3.send(new PutObjectCommand({ Bucket: "must-encrypt", Key: "ok", Body: "x", ServerSideEncryption: "AES256" }));
    assert.equal(ok.ServerSideEncryption, "AES256");
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: "must-encrypt", Key: "plain" })), "NoSuchKey");
    await rejects(() => s3.send(new PutBucketPolicyCommand({ Bucket: "must-encrypt", Policy: "{not json" })), "MalformedPolicy");
    await rejects(
      () =>
        s3.send(
          new PutBucketPolicyCommand({
            Bucket: "must-encrypt",
            Policy: policy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::other-bucket/*" }),
          }),
        ),
      "MalformedPolicy",
    );
    // A principal that does not exist (a user never made, an unknown account) is refused, as S3 refuses it.
    for (const principal of ["arn:aws:iam::000000000000:user/never-made", "arn:aws:iam::424242424242:root"]) {
      const refused = await rejects(
        () =>
          s3.send(
            new PutBucketPolicyCommand({
              Bucket: "must-encrypt",
              Policy: policy({
                Effect: "Allow",
                Principal: { AWS: principal },
                Action: "s3:GetObject",
                Resource: "arn:aws:s3:::must-encrypt/*",
              }),
            }),
          ),
        "MalformedPolicy",
      );
      assert.match(refused.message, /Invalid principal/);
    }
    assert.equal((await s3.send(new DeleteBucketPolicyCommand({ Bucket: "must-encrypt" }))).$metadata.httpStatusCode, 204);
    await s3.send(new PutObjectCommand({ Bucket: "must-encrypt", Key: "plain", Body: "x" }));
  });

  it("a bucket policy shares a bucket with another account's principal, who still needs its own identity policy", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "shared-with-b" }));
    await s3.send(new PutObjectCommand({ Bucket: "shared-with-b", Key: "report", Body: "shared" }));
    const { createAccount } = await import("../src/app.js");
    const { testConfig } = await import("./helpers.js");
    const b = await createAccount(testConfig(server.dataDir), "777788889999");
    const iamB = iamClient(server.url, b);
    const reader = await makeUser(iamB, "reader", { read: policy({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }) });
    const idle = await makeUser(iamB, "idle", {});
    const asReader = s3Client(server.url, reader);
    const asIdle = s3Client(server.url, idle);
    try {
      await rejects(() => asReader.send(new GetObjectCommand({ Bucket: "shared-with-b", Key: "report" })), "AccessDenied");
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: "shared-with-b",
          Policy: policy({
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::777788889999:root" },
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::shared-with-b/*",
          }),
        }),
      );
      assert.equal(
        (await bytesOf((await asReader.send(new GetObjectCommand({ Bucket: "shared-with-b", Key: "report" }))).Body)).toString(),
        "shared",
      );
      await rejects(() => asIdle.send(new GetObjectCommand({ Bucket: "shared-with-b", Key: "report" })), "AccessDenied");
      await rejects(
        () => asReader.send(new PutObjectCommand({ Bucket: "shared-with-b", Key: "report", Body: "overwritten" })),
        "AccessDenied",
      );
    } finally {
      asReader.destroy();
      asIdle.destroy();
      iamB.destroy();
    }
  });

  it("stores objects of the S3 Encryption Client (v2 format, KMS data key) byte for byte, with their metadata", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "client-side" }));
    const key = (await kms.send(new CreateKeyCommand({ Description: "client-side encryption" }))).KeyMetadata!;
    const plaintext = Buffer.from("encrypted before it left the client");
    // As the S3 Encryption Client v2 writes an object: a KMS data key with the content algorithm
    // in its encryption context, AES-256-GCM over the content, the wrapped key in metadata.
    const matdesc = { "aws:x-amz-cek-alg": "AES/GCM/NoPadding" };
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: "AES_256", EncryptionContext: matdesc }));
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", dataKey.Plaintext!, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const metadata = {
      "x-amz-key-v2": Buffer.from(dataKey.CiphertextBlob!).toString("base64"),
      "x-amz-iv": iv.toString("base64"),
      "x-amz-cek-alg": "AES/GCM/NoPadding",
      "x-amz-wrap-alg": "kms+context",
      "x-amz-matdesc": JSON.stringify(matdesc),
      "x-amz-tag-len": "128",
      "x-amz-unencrypted-content-length": String(plaintext.length),
    };
    await s3.send(new PutObjectCommand({ Bucket: "client-side", Key: "sealed", Body: body, Metadata: metadata }));

    const got = await s3.send(new GetObjectCommand({ Bucket: "client-side", Key: "sealed" }));
    const downloaded = await bytesOf(got.Body);
    assert.ok(downloaded.equals(body), "the client's ciphertext comes back byte for byte");
    assert.deepEqual(got.Metadata, metadata);
    const unwrapped = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(got.Metadata!["x-amz-key-v2"]!, "base64"),
        EncryptionContext: JSON.parse(got.Metadata!["x-amz-matdesc"]!),
      }),
    );
    const decipher = createDecipheriv("aes-256-gcm", unwrapped.Plaintext!, Buffer.from(got.Metadata!["x-amz-iv"]!, "base64"));
    decipher.setAuthTag(downloaded.subarray(downloaded.length - 16));
    const opened = Buffer.concat([decipher.update(downloaded.subarray(0, downloaded.length - 16)), decipher.final()]);
    assert.equal(opened.toString(), plaintext.toString());
  });

  it("within the bucket owner's account, a bucket policy alone can allow a user", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "policy-only" }));
    await s3.send(new PutObjectCommand({ Bucket: "policy-only", Key: "doc", Body: "readable by policy" }));
    const iam = iamClient(server.url);
    const user = await makeUser(iam, "no-identity-policy", {});
    const asUser = s3Client(server.url, user);
    try {
      await rejects(() => asUser.send(new GetObjectCommand({ Bucket: "policy-only", Key: "doc" })), "AccessDenied");
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: "policy-only",
          Policy: policy({
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/no-identity-policy` },
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::policy-only/*",
          }),
        }),
      );
      assert.equal(
        (await bytesOf((await asUser.send(new GetObjectCommand({ Bucket: "policy-only", Key: "doc" }))).Body)).toString(),
        "readable by policy",
      );
      await rejects(() => asUser.send(new PutObjectCommand({ Bucket: "policy-only", Key: "doc", Body: "x" })), "AccessDenied");
    } finally {
      asUser.destroy();
      iam.destroy();
    }
  });

  it("a role session's temporary credentials work with S3, in headers and in presigned URLs, and its session policy bounds them", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "role-bucket" }));
    const iam = iamClient(server.url);
    const user = await makeUser(iam, "role-taker", {
      assume: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: `arn:aws:iam::${ACCOUNT_ID}:role/s3-writer` }),
    });
    const trust = policy({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/role-taker` }, Action: "sts:AssumeRole" });
    await iam.send(new CreateRoleCommand({ RoleName: "s3-writer", AssumeRolePolicyDocument: trust }));
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "s3-writer",
        PolicyName: "s3",
        PolicyDocument: policy({ Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: "arn:aws:s3:::role-bucket/*" }),
      }),
    );
    const sts = stsClient(server.url, user);
    const session = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/s3-writer`,
        RoleSessionName: "uploader",
        // The session may only write under uploads/.
        Policy: policy({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::role-bucket/uploads/*" }),
      }),
    );
    const c = session.Credentials!;
    const temporary = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    const asRole = s3Client(server.url, temporary);
    try {
      await asRole.send(new PutObjectCommand({ Bucket: "role-bucket", Key: "uploads/a.txt", Body: "from a role session" }));
      await rejects(() => asRole.send(new PutObjectCommand({ Bucket: "role-bucket", Key: "elsewhere.txt", Body: "x" })), "AccessDenied");
      const got = await asRole.send(new GetObjectCommand({ Bucket: "role-bucket", Key: "uploads/a.txt" }));
      assert.equal((await bytesOf(got.Body)).toString(), "from a role session");
      // A presigned URL carries the session token (X-Amz-Security-Token); without the right one it is refused.
      const url = new URL(server.url);
      const signer = s3Signer(temporary);
      const presigned = await signer.presign(
        {
          method: "GET",
          protocol: "http:",
          hostname: url.hostname,
          port: Number(url.port),
          path: "/role-bucket/uploads/a.txt",
          query: {},
          headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
        },
        { expiresIn: 300 },
      );
      const query = new URLSearchParams(presigned.query as Record<string, string>).toString();
      const ok = await fetch(`${server.url}/role-bucket/uploads/a.txt?${query}`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "from a role session");
      const forged = await fetch(
        `${server.url}/role-bucket/uploads/a.txt?${query.replace(/X-Amz-Security-Token=[^&]+/, "X-Amz-Security-Token=forged")}`,
      );
      assert.equal(forged.status, 403);
    } finally {
      asRole.destroy();
      sts.destroy();
      iam.destroy();
    }
  });

  it("ETags: the MD5 of the bytes for SSE-S3, opaque for SSE-KMS and SSE-C as on S3; Content-MD5 is checked either way", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "etags" }));
    const bytes = Buffer.from("the same bytes");
    const md5 = createHash("md5").update(bytes).digest("hex");
    const sseS3 = await s3.send(new PutObjectCommand({ Bucket: "etags", Key: "s3", Body: bytes, ServerSideEncryption: "AES256" }));
    assert.equal(sseS3.ETag, `"${md5}"`);
    const kmsA = await s3.send(new PutObjectCommand({ Bucket: "etags", Key: "kms-a", Body: bytes, ServerSideEncryption: "aws:kms" }));
    const kmsB = await s3.send(new PutObjectCommand({ Bucket: "etags", Key: "kms-b", Body: bytes, ServerSideEncryption: "aws:kms" }));
    assert.match(kmsA.ETag!, /^"[0-9a-f]{32}"$/);
    assert.notEqual(kmsA.ETag, `"${md5}"`);
    assert.notEqual(kmsA.ETag, kmsB.ETag);
    // The ETag a PUT returned is the one HEAD reports and If-Match matches.
    const head = await s3.send(new HeadObjectCommand({ Bucket: "etags", Key: "kms-a", IfMatch: kmsA.ETag }));
    assert.equal(head.ETag, kmsA.ETag);
    // A wrong Content-MD5 is refused for an SSE-KMS object too, and nothing is stored.
    await assert.rejects(
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: "etags",
            Key: "kms-bad",
            Body: bytes,
            ServerSideEncryption: "aws:kms",
            ContentMD5: createHash("md5").update("other bytes").digest("base64"),
          }),
        ),
      (e: Error) => e.name === "BadDigest",
    );
    await assert.rejects(
      () => s3.send(new HeadObjectCommand({ Bucket: "etags", Key: "kms-bad" })),
      (e: Error) => e.name === "NotFound",
    );
    const copy = await s3.send(
      new CopyObjectCommand({ Bucket: "etags", Key: "copy", CopySource: "etags/kms-a", ServerSideEncryption: "AES256" }),
    );
    assert.equal(copy.CopyObjectResult?.ETag, `"${md5}"`);
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: "etags", Key: "parts", ServerSideEncryption: "aws:kms" }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: "etags", Key: "parts", UploadId: upload.UploadId, PartNumber: 1, Body: bytes }),
    );
    assert.match(part.ETag!, /^"[0-9a-f]{32}"$/);
    assert.notEqual(part.ETag, `"${md5}"`);
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: "etags",
        Key: "parts",
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    assert.equal(
      done.ETag,
      `"${createHash("md5")
        .update(Buffer.from(part.ETag!.slice(1, -1), "hex"))
        .digest("hex")}-1"`,
    );
    assert.equal(
      (await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "etags", Key: "parts" }))).Body)).toString(),
      "the same bytes",
    );
  });

  it("copies change the encryption of the copy", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "recrypt" }));
    await s3.send(new PutObjectCommand({ Bucket: "recrypt", Key: "src", Body: "convert me" }));
    const copy = await s3.send(
      new CopyObjectCommand({ Bucket: "recrypt", Key: "src", CopySource: "recrypt/src", ServerSideEncryption: "aws:kms" }),
    );
    assert.equal(copy.ServerSideEncryption, "aws:kms");
    const { body } = await stored("recrypt", "src");
    assert.equal(body.sse.algorithm, "aws:kms");
    assert.equal((await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "recrypt", Key: "src" }))).Body)).toString(), "convert me");
  });

  it("records S3 calls in the audit trail as s3.amazonaws.com events, without object bytes or keys", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "audited" }));
    const secret = "object-bytes-that-must-not-be-logged";
    await s3.send(new PutObjectCommand({ Bucket: "audited", Key: "doc", Body: secret, ServerSideEncryption: "aws:kms" }));
    await rejects(() => s3.send(new GetObjectCommand({ Bucket: "audited", Key: "missing" })), "NoSuchKey");
    const trail = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
    try {
      const events = (
        await trail.send(
          new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "s3.amazonaws.com" }] }),
        )
      ).Events!;
      const put = events.find((e) => e.EventName === "PutObject" && JSON.parse(e.CloudTrailEvent!).requestParameters?.key === "doc");
      assert.ok(put, "PutObject is in the trail");
      const record = JSON.parse(put.CloudTrailEvent!);
      assert.equal(record.eventSource, "s3.amazonaws.com");
      assert.equal(record.requestParameters.bucketName, "audited");
      assert.equal(record.requestParameters["x-amz-server-side-encryption"], "aws:kms");
      assert.equal(record.userIdentity.accountId, ACCOUNT_ID);
      assert.deepEqual(
        record.resources.map((r: { ARN: string; type: string }) => [r.ARN, r.type]),
        [["arn:aws:s3:::audited/doc", "AWS::S3::Object"]],
      );
      const miss = events.find((e) => e.EventName === "GetObject");
      assert.equal(JSON.parse(miss!.CloudTrailEvent!).errorCode, "NoSuchKey");
      for (const e of events) assert.ok(!e.CloudTrailEvent!.includes(secret));

      // The KMS calls S3 made for the caller are KMS events of their own, and count as the key's use.
      await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "audited", Key: "doc" }))).Body);
      const awsS3 = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/s3" }))).KeyMetadata!;
      const kmsEvents = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: awsS3.Arn! }] }))
      )
        .Events!.map((e) => JSON.parse(e.CloudTrailEvent!))
        .filter((r) => r.requestParameters?.encryptionContext?.["aws:s3:arn"] === "arn:aws:s3:::audited/doc");
      const names = kmsEvents.map((r) => r.eventName).sort();
      assert.deepEqual(names, ["Decrypt", "GenerateDataKey"]);
      for (const r of kmsEvents) {
        assert.equal(r.eventSource, "kms.amazonaws.com");
        assert.equal(r.userIdentity.invokedBy, "s3.amazonaws.com");
        assert.equal(r.userIdentity.accountId, ACCOUNT_ID);
        assert.equal(r.sourceIPAddress, "s3.amazonaws.com");
        assert.equal(r.requestParameters.keyId, awsS3.Arn);
        assert.equal(r.errorCode, undefined);
        assert.match(r.additionalEventData.keyMaterialId, /^[0-9a-f]{64}$/);
      }
      const [decryptEvent, generateEvent] = [...kmsEvents].sort((a, b) => (a.eventName < b.eventName ? -1 : 1));
      assert.equal(decryptEvent.requestParameters.encryptionAlgorithm, "SYMMETRIC_DEFAULT");
      assert.equal(generateEvent.requestParameters.keySpec, "AES_256");
      // One data key, wrapped and unwrapped under the same key material.
      assert.equal(decryptEvent.additionalEventData.keyMaterialId, generateEvent.additionalEventData.keyMaterialId);
      const last = await kms.send(new GetKeyLastUsageCommand({ KeyId: awsS3.KeyId }));
      assert.equal(last.KeyLastUsage?.Operation, "Decrypt");

      // A refusal by KMS is a KMS event with its code, beside the S3 event with S3's name for it.
      const locked = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
      await kms.send(new DisableKeyCommand({ KeyId: locked.KeyId }));
      await rejects(
        () =>
          s3.send(
            new PutObjectCommand({
              Bucket: "audited",
              Key: "locked",
              Body: "x",
              ServerSideEncryption: "aws:kms",
              SSEKMSKeyId: locked.KeyId,
            }),
          ),
        "KMS.DisabledException",
      );
      const refused = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: locked.Arn! }] }))
      ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!));
      const denied = refused.find((r) => r.eventName === "GenerateDataKey");
      assert.equal(denied?.errorCode, "DisabledException");
      assert.equal(denied?.userIdentity.invokedBy, "s3.amazonaws.com");
    } finally {
      trail.destroy();
    }
  });
});

describe("SSE-S3 service key rotation (injected clock)", () => {
  it("rotates the key that wraps SSE-S3 data keys on its schedule; objects from before stay readable", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const server = await startTestServer({ clock, config: { s3KeyRotationDays: 90 } });
    const s3 = s3Client(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    const versionOf = async (key: string) => {
      const doc = await server.keyhold.repo.getDocument("s3-object", "rotating", key);
      return parseBlobHeader(Buffer.from((JSON.parse(doc!.body) as ObjectBody).sse.wrappedKey, "base64"));
    };
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "rotating" }));
      await s3.send(new PutObjectCommand({ Bucket: "rotating", Key: "before", Body: "written in January" }));
      const before = await versionOf("before");
      assert.equal(before.keyVersion, 1);
      const serviceKey = await server.keyhold.repo.getKey(before.keyId);
      assert.equal(serviceKey?.accountId, "s3.amazonaws.com", "a key of keyhold's own, in no caller's account");
      const listed = await server.client("us-east-1", { systemClockOffset: clock.now() - Date.now() }).send(new ListKeysCommand({}));
      assert.ok(!listed.Keys?.some((k) => k.KeyId === before.keyId), "callers do not see the service key");

      clock.advance(89 * DAY_MS);
      assert.ok(!(await server.keyhold.scheduler.tick()).rotated.includes(before.keyId));
      clock.advance(2 * DAY_MS);
      assert.ok((await server.keyhold.scheduler.tick()).rotated.includes(before.keyId));
      const later = s3Client(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
      try {
        await later.send(new PutObjectCommand({ Bucket: "rotating", Key: "after", Body: "written in April" }));
        assert.deepEqual(await versionOf("after"), { keyId: before.keyId, keyVersion: 2 });
        assert.equal(
          (await bytesOf((await later.send(new GetObjectCommand({ Bucket: "rotating", Key: "before" }))).Body)).toString(),
          "written in January",
        );
        assert.equal(
          (await bytesOf((await later.send(new GetObjectCommand({ Bucket: "rotating", Key: "after" }))).Body)).toString(),
          "written in April",
        );
      } finally {
        later.destroy();
      }
    } finally {
      s3.destroy();
      await server.stop();
    }
  });
});
