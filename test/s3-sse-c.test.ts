/**
 * HTTPS and SSE-C through @aws-sdk/client-s3: keyhold's own certificate (trusted through its CA
 * file), BlockedEncryptionTypes, customer keys checked and never stored, and aws:SecureTransport.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { rejects, startTestServer, type TestServer } from "./helpers.js";
import { policy } from "./iam.js";
import { bytesOf, patterned, s3Client, signS3 } from "./s3.js";

const KEY = createHash("sha256").update("customer key one").digest();
const OTHER_KEY = createHash("sha256").update("customer key two").digest();
const sseC = (key: Buffer) => ({ SSECustomerAlgorithm: "AES256", SSECustomerKey: key.toString("base64") });

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("S3 over HTTPS with SSE-C", () => {
  let server: TestServer;
  let https: S3Client;
  let http: S3Client;

  /** A signed PUT over HTTPS with headers the SDK would not send. */
  async function rawPut(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const url = new URL(server.keyhold.tlsUrl!);
    const body = "x";
    const signed = await signS3(server.keyhold.tlsUrl!, {
      method: "PUT",
      path,
      headers: { "x-amz-content-sha256": createHash("sha256").update(body).digest("hex"), ...headers },
      body,
    });
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: Number(url.port),
          path,
          method: "PUT",
          headers: signed,
          ca: readFileSync(server.keyhold.caFile!),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  before(async () => {
    server = await startTestServer({ config: { tlsPort: 0 } });
    assert.ok(server.keyhold.tlsUrl && server.keyhold.caFile);
    const agent = new Agent({ ca: readFileSync(server.keyhold.caFile), keepAlive: true });
    https = s3Client(server.keyhold.tlsUrl, undefined, { requestHandler: new NodeHttpHandler({ httpsAgent: agent }) });
    http = s3Client(server.url);
    await https.send(new CreateBucketCommand({ Bucket: "customer-keys" }));
  });
  after(async () => {
    https.destroy();
    http.destroy();
    await server.stop();
  });

  it("serves HTTPS with a certificate made at first start, which clients verify against the CA file", async () => {
    const ca = readFileSync(server.keyhold.caFile!, "utf8");
    assert.match(ca, /^-----BEGIN CERTIFICATE-----/);
    const unverified = s3Client(server.keyhold.tlsUrl!);
    try {
      await assert.rejects(
        () => unverified.send(new GetBucketEncryptionCommand({ Bucket: "customer-keys" })),
        /self[- ]signed|certificate|verify/i,
      );
    } finally {
      unverified.destroy();
    }
    // The server's key is an ACM certificate's, kept wrapped in the database: no key file (docs/acm.md).
    assert.ok(!existsSync(join(server.dataDir, "tls", "server.key")));
    assert.match(readFileSync(join(server.dataDir, "tls", "certificate-arn"), "utf8"), /^arn:aws:acm:us-east-1:\d{12}:certificate\//);
  });

  it("blocks SSE-C on a new bucket until PutBucketEncryption unblocks it; objects written meanwhile stay readable when blocked again", async () => {
    const blocked = await rejects(
      () => https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "k", Body: "x", ...sseC(KEY) })),
      "AccessDenied",
    );
    assert.equal(blocked.$metadata?.httpStatusCode, 403);
    assert.match(blocked.message, /BlockedEncryptionTypes/);
    const unblock = (types: string[]) =>
      https.send(
        new PutBucketEncryptionCommand({
          Bucket: "customer-keys",
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" },
                BlockedEncryptionTypes: { EncryptionType: types as never[] },
              },
            ],
          },
        }),
      );
    await unblock(["NONE"]);
    const put = await https.send(
      new PutObjectCommand({ Bucket: "customer-keys", Key: "early", Body: "written while allowed", ...sseC(KEY) }),
    );
    assert.equal(put.SSECustomerAlgorithm, "AES256");
    assert.equal(put.SSECustomerKeyMD5, createHash("md5").update(KEY).digest("base64"));
    assert.equal(put.ServerSideEncryption, undefined);
    await unblock(["SSE-C"]);
    await rejects(
      () => https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "late", Body: "x", ...sseC(KEY) })),
      "AccessDenied",
    );
    const got = await https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "early", ...sseC(KEY) }));
    assert.equal((await bytesOf(got.Body)).toString(), "written while allowed");
    await unblock(["NONE"]);
  });

  it("reads an SSE-C object only with its key: none → 400, another → 403; the key is checked on HEAD and Range reads too", async () => {
    const data = patterned(150_000, 21);
    await https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "mine", Body: data, ...sseC(KEY) }));
    const none = await rejects(() => https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "mine" })), "InvalidRequest");
    assert.equal(none.$metadata?.httpStatusCode, 400);
    const other = await rejects(
      () => https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "mine", ...sseC(OTHER_KEY) })),
      "AccessDenied",
    );
    assert.equal(other.$metadata?.httpStatusCode, 403);
    const headNone = await rejects(() => https.send(new HeadObjectCommand({ Bucket: "customer-keys", Key: "mine" })), "Unknown");
    assert.equal(headNone.$metadata?.httpStatusCode, 400);
    const headOther = await rejects(
      () => https.send(new HeadObjectCommand({ Bucket: "customer-keys", Key: "mine", ...sseC(OTHER_KEY) })),
      "Unknown",
    );
    assert.equal(headOther.$metadata?.httpStatusCode, 403);
    const head = await https.send(new HeadObjectCommand({ Bucket: "customer-keys", Key: "mine", ...sseC(KEY) }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.SSECustomerKeyMD5, createHash("md5").update(KEY).digest("base64"));
    const whole = await https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "mine", ...sseC(KEY) }));
    assert.ok((await bytesOf(whole.Body)).equals(data));
    const range = await https.send(
      new GetObjectCommand({ Bucket: "customer-keys", Key: "mine", Range: "bytes=65530-65600", ...sseC(KEY) }),
    );
    assert.ok((await bytesOf(range.Body)).equals(data.subarray(65530, 65601)));
    // SSE-C headers for an object that is not SSE-C are refused as S3 does.
    await https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "plain", Body: "x" }));
    await rejects(() => https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "plain", ...sseC(KEY) })), "InvalidRequest");
  });

  it("refuses malformed customer keys: wrong MD5, wrong length, another algorithm, mixed with another encryption, plain HTTP", async () => {
    // The SDK always computes the key's MD5 itself; a wrong or missing one takes a hand-built request.
    const wrongMd5 = await rawPut("/customer-keys/bad", {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": KEY.toString("base64"),
      "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(OTHER_KEY).digest("base64"),
    });
    assert.equal(wrongMd5.status, 400);
    assert.match(wrongMd5.body, /<Code>InvalidArgument<\/Code><Message>The calculated MD5 hash of the key did not match/);
    const noMd5 = await rawPut("/customer-keys/bad", {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": KEY.toString("base64"),
    });
    assert.equal(noMd5.status, 400);
    assert.match(
      noMd5.body,
      /<Code>InvalidArgument<\/Code><Message>Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5/,
    );
    await rejects(
      () => https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "bad", Body: "x", ...sseC(KEY.subarray(0, 16)) })),
      "InvalidArgument",
    );
    await rejects(
      () =>
        https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "bad", Body: "x", ...sseC(KEY), SSECustomerAlgorithm: "AES128" })),
      "InvalidArgument",
    );
    await rejects(
      () =>
        https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "bad", Body: "x", ...sseC(KEY), ServerSideEncryption: "AES256" })),
      "InvalidArgument",
    );
    await rejects(
      () => http.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "bad", Body: "x", ...sseC(KEY) })),
      "InvalidRequest",
    );
    await rejects(() => https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "bad" })), "NoSuchKey");
  });

  it("copies from an SSE-C source with the copy-source key, into any encryption", async () => {
    await https.send(new PutObjectCommand({ Bucket: "customer-keys", Key: "copy-src", Body: "copied secret", ...sseC(KEY) }));
    await rejects(
      () => https.send(new CopyObjectCommand({ Bucket: "customer-keys", Key: "copy-dst", CopySource: "customer-keys/copy-src" })),
      "InvalidRequest",
    );
    await rejects(
      () =>
        https.send(
          new CopyObjectCommand({
            Bucket: "customer-keys",
            Key: "copy-dst",
            CopySource: "customer-keys/copy-src",
            CopySourceSSECustomerAlgorithm: "AES256",
            CopySourceSSECustomerKey: OTHER_KEY.toString("base64"),
          }),
        ),
      "AccessDenied",
    );
    const copy = await https.send(
      new CopyObjectCommand({
        Bucket: "customer-keys",
        Key: "copy-dst",
        CopySource: "customer-keys/copy-src",
        CopySourceSSECustomerAlgorithm: "AES256",
        CopySourceSSECustomerKey: KEY.toString("base64"),
        ...sseC(OTHER_KEY),
      }),
    );
    assert.equal(copy.SSECustomerKeyMD5, createHash("md5").update(OTHER_KEY).digest("base64"));
    const got = await https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "copy-dst", ...sseC(OTHER_KEY) }));
    assert.equal((await bytesOf(got.Body)).toString(), "copied secret");
  });

  it("uploads SSE-C multipart objects with the key on every part", async () => {
    const { UploadId } = await https.send(new CreateMultipartUploadCommand({ Bucket: "customer-keys", Key: "mp", ...sseC(KEY) }));
    await rejects(
      () => https.send(new UploadPartCommand({ Bucket: "customer-keys", Key: "mp", UploadId, PartNumber: 1, Body: "x" })),
      "InvalidRequest",
    );
    await rejects(
      () =>
        https.send(new UploadPartCommand({ Bucket: "customer-keys", Key: "mp", UploadId, PartNumber: 1, Body: "x", ...sseC(OTHER_KEY) })),
      "AccessDenied",
    );
    const part = await https.send(
      new UploadPartCommand({ Bucket: "customer-keys", Key: "mp", UploadId, PartNumber: 1, Body: "only part", ...sseC(KEY) }),
    );
    await https.send(
      new CompleteMultipartUploadCommand({
        Bucket: "customer-keys",
        Key: "mp",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        ...sseC(KEY),
      }),
    );
    const got = await https.send(new GetObjectCommand({ Bucket: "customer-keys", Key: "mp", ...sseC(KEY) }));
    assert.equal((await bytesOf(got.Body)).toString(), "only part");
  });

  it("never stores a customer key: not in the database, the object files or the audit trail", async () => {
    await server.keyhold.audit.digest();
    const forms = [KEY, OTHER_KEY].flatMap((k) => [k, Buffer.from(k.toString("base64")), Buffer.from(k.toString("hex"))]);
    const files = filesUnder(server.dataDir);
    assert.ok(files.some((f) => f.endsWith("keyhold.db")));
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const form of forms) assert.ok(!bytes.includes(form), `a customer key was found in ${f}`);
    }
  });

  it("aws:SecureTransport in a bucket policy tells HTTPS from HTTP", async () => {
    await https.send(new CreateBucketCommand({ Bucket: "tls-only" }));
    await https.send(
      new PutBucketPolicyCommand({
        Bucket: "tls-only",
        Policy: policy({
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      }),
    );
    await rejects(() => http.send(new PutObjectCommand({ Bucket: "tls-only", Key: "k", Body: "x" })), "AccessDenied");
    await https.send(new PutObjectCommand({ Bucket: "tls-only", Key: "k", Body: "x" }));
    await rejects(() => http.send(new GetObjectCommand({ Bucket: "tls-only", Key: "k" })), "AccessDenied");
  });
});

describe("S3 setting: new buckets may allow SSE-C", () => {
  it("with s3AllowSseC, a new bucket's BlockedEncryptionTypes is NONE", async () => {
    const server = await startTestServer({ config: { s3AllowSseC: true } });
    const s3 = s3Client(server.url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "allows-sse-c" }));
      const e = await s3.send(new GetBucketEncryptionCommand({ Bucket: "allows-sse-c" }));
      assert.deepEqual(e.ServerSideEncryptionConfiguration?.Rules?.[0]?.BlockedEncryptionTypes?.EncryptionType, ["NONE"]);
    } finally {
      s3.destroy();
      await server.stop();
    }
  });
});
