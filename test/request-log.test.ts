/**
 * The request log: one line per answered call, with the request id the client saw, and never a
 * plaintext, a key, a secret value, a signature, an Authorization header or a password, whatever
 * the calls carried (KMS, Secrets Manager, S3 with SSE-C, IAM login profiles and access keys).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand } from "@aws-sdk/client-kms";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateBucketCommand, GetObjectCommand, PutBucketEncryptionCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateAccessKeyCommand, CreateLoginProfileCommand, CreateUserCommand } from "@aws-sdk/client-iam";
import { startKeyhold, type Keyhold } from "../src/app.js";
import { createLogger, type LogFormat } from "../src/log.js";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, kmsClient, rejects, tempDir, testConfig } from "./helpers.js";
import { bytesOf, s3Client } from "./s3.js";
import { iamClient } from "./iam.js";
import { call } from "./raw-requests.js";

/** The forms a secret could take in a log: as sent, base64 (with and without padding), hex. */
function forms(secret: Buffer | string): string[] {
  const b = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, "utf8");
  const out = [
    b.toString("base64"),
    b.toString("base64").replace(/=+$/, ""),
    b.toString("base64url"),
    b.toString("hex"),
    b.toString("hex").toUpperCase(),
  ];
  if (!Buffer.isBuffer(secret)) out.push(secret, JSON.stringify(secret).slice(1, -1));
  return out;
}

interface Line {
  time: string;
  level: string;
  msg: string;
  requestId?: string;
  service?: string;
  operation?: string;
  status?: number;
  errorCode?: string;
  latencyMs?: number;
  callerArn?: string;
  accessKeyId?: string;
  claimedAccessKeyId?: string;
  sourceIp?: string;
  bytesIn?: number;
  bytesOut?: number;
}

async function start(
  format: LogFormat,
  level: "info" | "error" = "info",
): Promise<{ keyhold: Keyhold; text: () => string; stop(): Promise<void> }> {
  let captured = "";
  const log = createLogger({ format, level, write: (t) => (captured += t) });
  const keyhold = await startKeyhold(testConfig(tempDir(), { tlsPort: 0, s3AllowSseC: true }), { log });
  // Request lines are gathered and written every few milliseconds: what was gathered is written first.
  const text = () => {
    log.flush!();
    return captured;
  };
  return {
    keyhold,
    text,
    async stop() {
      await keyhold.close();
    },
  };
}

describe("request log (JSON)", () => {
  let server: Awaited<ReturnType<typeof start>>;
  let https: S3Client;
  const secrets: { what: string; value: Buffer | string }[] = [];
  const seen: { requestId: string; service: string; operation: string | undefined; status: number }[] = [];

  before(async () => {
    server = await start("json");
    const agent = new Agent({ ca: readFileSync(server.keyhold.caFile!), keepAlive: true });
    https = s3Client(server.keyhold.tlsUrl!, undefined, { requestHandler: new NodeHttpHandler({ httpsAgent: agent }) });
  });
  after(async () => {
    https.destroy();
    await server.stop();
  });

  it("runs a scenario full of secrets: none reaches the log, in any encoding, and every request id the clients saw does", async () => {
    const url = server.keyhold.url;
    const kms = kmsClient(url);
    const sm = new SecretsManagerClient({
      endpoint: url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const iam = iamClient(url);
    const s3 = s3Client(url);
    const note = (what: string, value: Buffer | string) => secrets.push({ what, value });
    const saw = (service: string, operation: string, out: { $metadata: { requestId?: string; httpStatusCode?: number } }) =>
      seen.push({ requestId: out.$metadata.requestId!, service, operation, status: out.$metadata.httpStatusCode! });
    try {
      note("root secret access key", SECRET_ACCESS_KEY);
      const key = await kms.send(new CreateKeyCommand({}));
      saw("kms", "CreateKey", key);
      const plaintext = randomBytes(48);
      note("KMS plaintext", plaintext);
      const enc = await kms.send(
        new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: plaintext, EncryptionContext: { purpose: "log-test" } }),
      );
      saw("kms", "Encrypt", enc);
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: "log-test" } }));
      assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext);
      saw("kms", "Decrypt", dec);
      const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyMetadata!.KeyId, KeySpec: "AES_256" }));
      note("data key", Buffer.from(dataKey.Plaintext!));
      saw("kms", "GenerateDataKey", dataKey);

      const secretString = `pw-${randomBytes(12).toString("hex")}`;
      note("SecretString", secretString);
      const created = await sm.send(new CreateSecretCommand({ Name: "db/password", SecretString: secretString }));
      saw("secretsmanager", "CreateSecret", created);
      const got = await sm.send(new GetSecretValueCommand({ SecretId: "db/password" }));
      assert.equal(got.SecretString, secretString);
      saw("secretsmanager", "GetSecretValue", got);

      const content = `object content ${randomBytes(16).toString("hex")}`;
      note("S3 object content", content);
      saw("s3", "CreateBucket", await s3.send(new CreateBucketCommand({ Bucket: "logged" })));
      saw("s3", "PutObject", await s3.send(new PutObjectCommand({ Bucket: "logged", Key: "plain", Body: content })));
      const read = await s3.send(new GetObjectCommand({ Bucket: "logged", Key: "plain" }));
      assert.equal((await bytesOf(read.Body)).toString(), content);
      saw("s3", "GetObject", read);

      const customerKey = randomBytes(32);
      note("SSE-C key", customerKey);
      const sseContent = `sse-c content ${randomBytes(16).toString("hex")}`;
      note("SSE-C object content", sseContent);
      const sseC = { SSECustomerAlgorithm: "AES256", SSECustomerKey: customerKey.toString("base64") };
      saw(
        "s3",
        "PutBucketEncryption",
        await https.send(
          new PutBucketEncryptionCommand({
            Bucket: "logged",
            ServerSideEncryptionConfiguration: {
              Rules: [
                { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BlockedEncryptionTypes: { EncryptionType: ["NONE"] } },
              ],
            },
          }),
        ),
      );
      saw("s3", "PutObject", await https.send(new PutObjectCommand({ Bucket: "logged", Key: "customer", Body: sseContent, ...sseC })));
      const sseRead = await https.send(new GetObjectCommand({ Bucket: "logged", Key: "customer", ...sseC }));
      assert.equal((await bytesOf(sseRead.Body)).toString(), sseContent);
      saw("s3", "GetObject", sseRead);

      saw("iam", "CreateUser", await iam.send(new CreateUserCommand({ UserName: "logged-user" })));
      const password = `Pw!${randomBytes(10).toString("hex")}`;
      note("login password", password);
      // A console password: CreateLoginProfile, served or not, carries it in its body either way.
      try {
        saw("iam", "CreateLoginProfile", await iam.send(new CreateLoginProfileCommand({ UserName: "logged-user", Password: password })));
      } catch (error) {
        const e = error as { name: string; $metadata: { requestId: string; httpStatusCode: number } };
        assert.equal(e.$metadata.httpStatusCode, 400, e.name);
        seen.push({ requestId: e.$metadata.requestId, service: "iam", operation: undefined, status: 400 });
      }
      const accessKey = await iam.send(new CreateAccessKeyCommand({ UserName: "logged-user" }));
      note("new secret access key", accessKey.AccessKey!.SecretAccessKey!);
      saw("iam", "CreateAccessKey", accessKey);

      // A refused call: its request id and error code are logged too.
      const refused = await rejects(() => kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(200) })), "InvalidCiphertextException");
      seen.push({
        requestId: (refused as unknown as { $metadata: { requestId: string } }).$metadata.requestId,
        service: "kms",
        operation: "Decrypt",
        status: 400,
      });
    } finally {
      kms.destroy();
      sm.destroy();
      iam.destroy();
      s3.destroy();
    }
    const log = server.text();
    for (const { what, value } of secrets) {
      for (const form of forms(value)) assert.ok(!log.includes(form), `the ${what} appears in the log as ${form}`);
    }
    // Nothing of a signature or an Authorization header.
    assert.doesNotMatch(log, /AWS4-HMAC-SHA256|Signature=|Credential=|x-amz-server-side-encryption-customer-key/i);

    const lines = log
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Line);
    const requestLines = lines.filter((l) => l.msg === "request");
    for (const s of seen) {
      const matching = requestLines.filter((l) => l.requestId === s.requestId);
      assert.equal(matching.length, 1, `request ${s.requestId} (${s.service} ${s.operation}) is logged once`);
      const l = matching[0]!;
      assert.equal(l.service, s.service);
      assert.equal(l.operation, s.operation);
      assert.equal(l.status, s.status);
      assert.equal(l.level, "info");
      assert.equal(l.sourceIp, "127.0.0.1");
      assert.equal(l.accessKeyId, ACCESS_KEY_ID);
      assert.equal(l.callerArn, "arn:aws:iam::111122223333:root");
      assert.ok(typeof l.latencyMs === "number" && l.latencyMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(l.time)));
    }
    const refused = requestLines.find((l) => l.requestId === seen.at(-1)!.requestId)!;
    assert.equal(refused.errorCode, "InvalidCiphertextException");
    const put = requestLines.find(
      (l) => l.operation === "PutObject" && l.requestId === seen.find((s) => s.operation === "PutObject")!.requestId,
    )!;
    assert.equal(put.bytesIn, Buffer.byteLength(secrets.find((s) => s.what === "S3 object content")!.value));
    const get = requestLines.find((l) => l.requestId === seen.find((s) => s.operation === "GetObject")!.requestId)!;
    assert.equal(get.bytesOut, put.bytesIn);
    assert.equal(requestLines.length, lines.filter((l) => l.msg === "request").length);
  });

  it("logs a call whose signature did not check out with the access key it claimed, not as the caller", async () => {
    const before = server.text().length;
    const res = await call(server.keyhold.url, "TrentService.ListKeys", "{}", { secretAccessKey: "not-the-secret" });
    assert.equal(res.status, 400);
    const line = server
      .text()
      .slice(before)
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Line)
      .find((l) => l.requestId === res.headers["x-amzn-requestid"])!;
    assert.equal(line.errorCode, "InvalidSignatureException");
    assert.equal(line.claimedAccessKeyId, ACCESS_KEY_ID);
    assert.equal(line.accessKeyId, undefined);
    assert.equal(line.callerArn, undefined);
    assert.ok(!server.text().includes("not-the-secret"));
  });
  it("logs a body refused for its size (413) with the request id the client saw, though no service read it", async () => {
    const before = server.text().length;
    const big = JSON.stringify({ KeyId: "alias/x", Plaintext: Buffer.alloc(2 * 1024 * 1024).toString("base64") });
    const res = await call(server.keyhold.url, "TrentService.Encrypt", big);
    assert.equal(res.status, 413);
    const line = server
      .text()
      .slice(before)
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Line)
      .find((l) => l.requestId === res.headers["x-amzn-requestid"]);
    assert.ok(line, "the 413 has a request line");
    assert.equal(line.status, 413);
    assert.equal(line.errorCode, "RequestEntityTooLargeException");
    assert.equal(line.service, undefined);
  });
});

describe("request log settings", () => {
  it("--log-format text writes one readable line per request; --log-level error writes none", async () => {
    for (const [format, level] of [
      ["text", "info"],
      ["json", "error"],
    ] as const) {
      const server = await start(format, level);
      const kms = kmsClient(server.keyhold.url);
      try {
        const out = await kms.send(new CreateKeyCommand({}));
        const lines = server
          .text()
          .split("\n")
          .filter((l) => l.includes(out.$metadata.requestId!));
        if (level === "error") {
          assert.equal(lines.length, 0);
          assert.equal(server.text(), "");
        } else {
          assert.equal(lines.length, 1);
          assert.match(
            lines[0]!,
            new RegExp(
              `^\\S+Z info kms CreateKey 200 [\\d.]+ms req=${out.$metadata.requestId} caller=arn:aws:iam::111122223333:root key=${ACCESS_KEY_ID} ip=127\\.0\\.0\\.1 in=\\d+ out=\\d+$`,
            ),
          );
        }
      } finally {
        kms.destroy();
        await server.stop();
      }
    }
  });
});

describe("request log lines", () => {
  it("write each request's time as toISOString does and quote every field as JSON.stringify does, however often a value recurs", () => {
    let text = "";
    const log = createLogger({ format: "json", level: "info", write: (t) => (text += t) });
    // Millisecond values of one, two and three digits, second and year boundaries, a fractional time.
    const times = [
      0, 5, 50, 999, 1000, 1_764_000_000_000, 1_764_000_000_007, 1_764_000_000_070.9, 1_764_000_000_999, 1_798_761_599_999,
      1_798_761_600_000,
    ];
    // The same values over and over (the lines reuse their quoted text), then ones JSON must escape.
    const values = ["arn:aws:iam::111122223333:user/app", 'a"b\\c', "line\nbreak", "\u2028", "é", "arn:aws:iam::111122223333:user/app"];
    for (const [i, time] of times.entries()) {
      for (const value of values)
        log.request!({
          time,
          requestId: `r${i}`,
          service: value,
          operation: value,
          status: 200,
          latencyMs: 1,
          callerArn: value,
          accessKeyId: value,
          sourceIp: value,
          bytesIn: 1,
          bytesOut: 2,
        });
    }
    // More distinct values than the quoted-text table keeps.
    for (let i = 0; i < 3000; i++)
      log.request!({ time: 1, requestId: "x", sourceIp: `10.0.${i >> 8}.${i & 255}"`, status: 200, latencyMs: 1, bytesIn: 0, bytesOut: 0 });
    log.flush!();
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, times.length * values.length + 3000);
    for (const [i, time] of times.entries()) {
      for (const [j, value] of values.entries()) {
        const line = lines[i * values.length + j]!;
        assert.equal(line.time, new Date(time).toISOString());
        for (const field of ["service", "operation", "callerArn", "accessKeyId", "sourceIp"]) assert.equal(line[field], value);
      }
    }
    for (let i = 0; i < 3000; i++) assert.equal(lines[times.length * values.length + i]!.sourceIp, `10.0.${i >> 8}.${i & 255}"`);
  });
});
