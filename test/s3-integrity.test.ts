/**
 * An S3 read that fails its integrity check is no ordinary error (issue 19): it is logged as an
 * integrity failure naming bucket, key and version (never the bytes), counted, and recorded in
 * the trail: the GetObject's own event carries the error, and an ObjectIntegrityFailure event
 * names the object, even when the failure cut a streamed body short after the call's event.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import type { ObjectBody } from "../src/s3/service.js";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, rejects, startTestServer, type TestServer } from "./helpers.js";
import { bytesOf, patterned, s3Client } from "./s3.js";

describe("S3 integrity failures: logged, counted and recorded", () => {
  let server: TestServer;
  let s3: S3Client;
  let trail: CloudTrailClient;

  before(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "integrity" }));
  });
  after(async () => {
    s3.destroy();
    trail.destroy();
    await server.stop();
  });

  async function fileOf(key: string): Promise<string> {
    const doc = await server.keyhold.repo.getDocument("s3-object", "integrity", key);
    assert.ok(doc);
    return join(server.dataDir, "s3", "objects", (JSON.parse(doc.body) as ObjectBody).parts[0]!.id);
  }

  async function records(eventName: string): Promise<Record<string, any>[]> {
    const events = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }] }))
    ).Events!;
    return events.map((e) => JSON.parse(e.CloudTrailEvent!));
  }

  it("a GET of an object altered at rest: InternalError to the client, an integrity failure in the log, the counter and the trail", async () => {
    const secret = "the object's secret contents";
    await s3.send(new PutObjectCommand({ Bucket: "integrity", Key: "small", Body: secret }));
    const file = await fileOf("small");
    const bytes = readFileSync(file);
    bytes[3] ^= 0x01;
    writeFileSync(file, bytes);
    const before = server.keyhold.s3.integrityFailures;
    const logged = server.logs.length;

    const failed = await rejects(() => s3.send(new GetObjectCommand({ Bucket: "integrity", Key: "small" })), "InternalError");
    assert.equal(failed.$metadata?.httpStatusCode, 500);
    const requestId = (failed as { $metadata?: { requestId?: string } }).$metadata?.requestId;
    assert.ok(requestId);

    assert.equal(server.keyhold.s3.integrityFailures, before + 1);
    const lines = server.logs.slice(logged).filter((l) => l.startsWith("integrity failure"));
    assert.equal(lines.length, 1, server.logs.slice(logged).join("\n"));
    assert.match(
      lines[0]!,
      new RegExp(`s3://integrity/small version null, request ${requestId}: chunk 0 of part 1 \\(file [^)]+\\) failed authentication`),
    );
    assert.ok(!lines[0]!.includes("secret"), "no data in the log");

    // The call's own event carries the error, as CloudTrail records a failed call.
    const get = (await records("GetObject")).find((r) => r.requestID === requestId);
    assert.ok(get, "the GetObject is in the trail");
    assert.equal(get.errorCode, "InternalFailure");
    assert.match(get.errorMessage, /failed its integrity check/);
    assert.equal(get.responseElements, null);
    // And an event of its own names the object, the call and what failed.
    const failure = (await records("ObjectIntegrityFailure")).find((r) => r.serviceEventDetails.requestID === requestId);
    assert.ok(failure, "an ObjectIntegrityFailure event");
    assert.equal(failure.eventSource, "s3.amazonaws.com");
    assert.equal(failure.eventType, "AwsServiceEvent");
    assert.deepEqual(failure.resources, [{ accountId: ACCOUNT_ID, type: "AWS::S3::Object", ARN: "arn:aws:s3:::integrity/small" }]);
    assert.equal(failure.serviceEventDetails.bucketName, "integrity");
    assert.equal(failure.serviceEventDetails.key, "small");
    assert.equal(failure.serviceEventDetails.versionId, "null");
    assert.equal(failure.serviceEventDetails.eventName, "GetObject");
    assert.match(failure.serviceEventDetails.failure, /^chunk 0 of part 1/);
    assert.ok(!JSON.stringify(failure).includes("secret"));
  });

  it("a failure in the middle of a streamed body, after the call's event was written, is recorded all the same", async () => {
    const data = patterned(4 * 65536, 9);
    await s3.send(new PutObjectCommand({ Bucket: "integrity", Key: "large", Body: data }));
    const file = await fileOf("large");
    const sealed = readFileSync(file);
    sealed[2 * (65536 + 16) + 100] ^= 0x80;
    writeFileSync(file, sealed);
    const before = server.keyhold.s3.integrityFailures;
    await assert.rejects(async () => bytesOf((await s3.send(new GetObjectCommand({ Bucket: "integrity", Key: "large" }))).Body));
    assert.equal(server.keyhold.s3.integrityFailures, before + 1);
    assert.ok(server.logs.some((l) => /^integrity failure .* s3:\/\/integrity\/large version null, .*: chunk 2 of part 1/.test(l)));
    const failure = (await records("ObjectIntegrityFailure")).find((r) => r.serviceEventDetails.key === "large");
    assert.ok(failure, "the cut-short read is in the trail");
    assert.match(failure.serviceEventDetails.failure, /^chunk 2 of part 1/);
  });

  it("a stored data key altered at rest (SSE-S3, SSE-KMS): an integrity failure too, and KMS's own event keeps KMS's error", async () => {
    const kms = server.client();
    const kmsKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await s3.send(new PutObjectCommand({ Bucket: "integrity", Key: "sse-s3", Body: "s3 managed" }));
    await s3.send(
      new PutObjectCommand({
        Bucket: "integrity",
        Key: "sse-kms",
        Body: "kms managed",
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: kmsKey,
      }),
    );
    for (const [key, mode] of [
      ["sse-s3", "SSE-S3"],
      ["sse-kms", "SSE-KMS"],
    ] as const) {
      const doc = (await server.keyhold.repo.getDocument("s3-object", "integrity", key))!;
      const body = JSON.parse(doc.body) as ObjectBody;
      const wrapped = Buffer.from(body.sse.wrappedKey, "base64");
      wrapped[wrapped.length - 1]! ^= 0x01;
      body.sse.wrappedKey = wrapped.toString("base64");
      assert.ok(await server.keyhold.repo.putDocument({ ...doc, body: JSON.stringify(body) }, doc.revision));
      const before = server.keyhold.s3.integrityFailures;
      const failed = await rejects(() => s3.send(new GetObjectCommand({ Bucket: "integrity", Key: key })), "InternalError");
      assert.equal(server.keyhold.s3.integrityFailures, before + 1, key);
      const requestId = (failed as { $metadata?: { requestId?: string } }).$metadata?.requestId;
      assert.ok(
        server.logs.some((l) =>
          l.includes(`s3://integrity/${key} version null, request ${requestId}: the stored ${mode} data key failed authentication`),
        ),
        key,
      );
      const failure = (await records("ObjectIntegrityFailure")).find((r) => r.serviceEventDetails.requestID === requestId);
      assert.equal(failure?.serviceEventDetails.failure, `the stored ${mode} data key failed authentication`);
    }
    const decrypts = (await records("Decrypt")).filter((r) => r.userIdentity.invokedBy === "s3.amazonaws.com");
    assert.equal(decrypts[0]?.errorCode, "InvalidCiphertextException", "KMS's event of the unwrap keeps KMS's error");
  });
});
