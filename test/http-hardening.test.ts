/**
 * What the HTTP layer refuses: headers the signature does not cover (S3, JSON and Query), bodies
 * that are not UTF-8, and clients that would hold a connection: refusals decided from the headers
 * answered at once (with or without Expect: 100-continue, through the SDK, boto3 and by hand) and
 * the connection closed, slow headers and bodies cut, and a cap on connections per source.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { CreateKeyCommand, DescribeKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, rejects, startTestServer, type TestServer } from "./helpers.js";
import { awsEnv } from "./process.js";
import { send } from "./raw-requests.js";
import { connectionSource } from "../src/http/server.js";
import { bytesOf, s3Client, s3Signer, signS3 } from "./s3.js";

const KEY = createHash("sha256").update("customer key one").digest();
const OTHER_KEY = createHash("sha256").update("customer key two").digest();
const sseC = (key: Buffer) => ({ SSECustomerAlgorithm: "AES256", SSECustomerKey: key.toString("base64") });
const sseCHeaders = (key: Buffer) => ({
  "x-amz-server-side-encryption-customer-algorithm": "AES256",
  "x-amz-server-side-encryption-customer-key": key.toString("base64"),
  "x-amz-server-side-encryption-customer-key-md5": createHash("md5").update(key).digest("base64"),
});
const FIVE_MIB = Buffer.alloc(5 * 1024 * 1024, 7);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * A PUT of `body` with `headers` (already signed), as a client that honours Expect: 100-continue
 * does: with `expect`, the body goes only after a 100 Continue, never after a final answer.
 */
function upload(base: string, path: string, headers: Record<string, string>, body: Buffer, expect: boolean, ca?: Buffer): Promise<Answer> {
  const url = new URL(base);
  const all = { ...headers, "content-length": String(body.length), ...(expect ? { expect: "100-continue" } : {}) };
  // A keep-alive client, as the SDKs are: the server, not the client, decides to close.
  const secure = url.protocol === "https:";
  const agent = secure ? new Agent({ keepAlive: true, ca }) : new HttpAgent({ keepAlive: true });
  const options = { host: url.hostname, port: Number(url.port), path, method: "PUT", headers: all, agent };
  return new Promise((resolve, reject) => {
    let answer: Answer | undefined;
    const req = (secure ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (answer = { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
    });
    // Done once the answer is in and the server closed the connection: a server that answers but
    // leaves the client writing into a socket it no longer reads never gets here.
    req.on("socket", (socket) =>
      socket.once("close", () => {
        agent.destroy();
        if (answer) resolve(answer);
        else reject(new Error("the connection closed without an answer"));
      }),
    );
    // Once the answer is in, a write the server no longer reads may fail: that is the point.
    req.on("error", () => undefined);
    if (expect) {
      req.on("continue", () => req.end(body));
      req.flushHeaders();
    } else {
      req.end(body);
    }
  });
}

/** Runs a boto3 script (asynchronously: the server answering it runs in this process). */
function python(script: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", script, ...args], { env: awsEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => {
      if (status !== 0 && /No module named 'boto3'/.test(stderr)) reject(new Error("boto3 is not installed for python3"));
      else resolve({ status, stdout, stderr });
    });
  });
}

describe("HTTP hardening: unsigned headers, early refusals, slow clients", () => {
  let server: TestServer;
  let s3: S3Client;
  let https: S3Client;
  let ca: Buffer;

  before(async () => {
    server = await startTestServer({ config: { tlsPort: 0, s3AllowSseC: true } });
    ca = readFileSync(server.keyhold.caFile!);
    s3 = s3Client(server.url);
    https = s3Client(server.keyhold.tlsUrl!, undefined, {
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca, keepAlive: true }) }),
    });
    await s3.send(new CreateBucketCommand({ Bucket: "hardening" }));
    await s3.send(new CreateBucketCommand({ Bucket: "other-bucket" }));
    await s3.send(new PutObjectCommand({ Bucket: "other-bucket", Key: "secret", Body: "the secret" }));
  });
  after(async () => {
    s3.destroy();
    https.destroy();
    await server.stop();
  });

  it("refuses a presigned PUT carrying an x-amz-copy-source header it did not sign, and copies nothing", async () => {
    const url = new URL(server.url);
    const signed = await s3Signer().presign(
      {
        method: "PUT",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: "/hardening/presigned",
        query: {},
        headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { expiresIn: 300 },
    );
    const query = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const putUrl = `${server.url}/hardening/presigned?${query}`;
    const copy = await fetch(putUrl, { method: "PUT", headers: { "x-amz-copy-source": "/other-bucket/secret" } });
    assert.equal(copy.status, 403);
    assert.match(
      await copy.text(),
      /<Code>AccessDenied<\/Code><Message>There were headers present in the request which were not signed: x-amz-copy-source<\/Message><HeadersNotSigned>x-amz-copy-source<\/HeadersNotSigned>/,
    );
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: "hardening", Key: "presigned" })), "NotFound");
    // The URL itself still works, with nothing added.
    const plain = await fetch(putUrl, { method: "PUT", body: "as signed" });
    assert.equal(plain.status, 200);
    const got = await s3.send(new GetObjectCommand({ Bucket: "hardening", Key: "presigned" }));
    assert.equal((await bytesOf(got.Body)).toString(), "as signed");
  });

  it("refuses a signed PUT with an unsigned x-amz-server-side-encryption header", async () => {
    const body = "unsigned sse";
    const headers = await signS3(server.url, {
      method: "PUT",
      path: "/hardening/sse",
      headers: { "x-amz-content-sha256": createHash("sha256").update(body).digest("hex") },
      body,
    });
    const res = await fetch(`${server.url}/hardening/sse`, {
      method: "PUT",
      headers: { ...headers, "x-amz-server-side-encryption": "aws:kms" },
      body,
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /not signed: x-amz-server-side-encryption</);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: "hardening", Key: "sse" })), "NotFound");
  });

  /** A KMS request signed over host and x-amz-date only (the target and content type left out). */
  async function kmsSignedWithout(target: string, body: string, unsigned: string[]): Promise<Record<string, string>> {
    const url = new URL(server.url);
    const signer = new SignatureV4({
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      region: "us-east-1",
      service: "kms",
      sha256: Hash.bind(null, "sha256"),
    });
    const signed = await signer.sign(
      {
        method: "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: "/",
        headers: { host: url.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": target },
        body,
      },
      { unsignableHeaders: new Set(unsigned) },
    );
    return signed.headers as Record<string, string>;
  }

  it("refuses a KMS request whose X-Amz-Target is not signed: DescribeKey cannot become ScheduleKeyDeletion", async () => {
    const kms = server.client();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const body = JSON.stringify({ KeyId: KeyMetadata!.KeyId, PendingWindowInDays: 7 });
    const headers = await kmsSignedWithout("TrentService.DescribeKey", body, ["x-amz-target", "content-type"]);
    const swapped = await send(server.url, { ...headers, "x-amz-target": "TrentService.ScheduleKeyDeletion" }, body);
    assert.equal(swapped.status, 400);
    assert.equal(swapped.json().__type, "InvalidSignatureException");
    assert.match(swapped.json().message ?? "", /not signed: content-type, x-amz-target/);
    const after = await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }));
    assert.equal(after.KeyMetadata!.KeyState, "Enabled");
    // Content-Type alone left out is refused too; everything signed works.
    const noType = await send(server.url, await kmsSignedWithout("TrentService.DescribeKey", body, ["content-type"]), body);
    assert.equal(noType.json().__type, "InvalidSignatureException");
    const full = await send(server.url, await kmsSignedWithout("TrentService.DescribeKey", body, []), body);
    assert.equal(full.status, 200);
  });

  it("refuses a Query (STS) request whose Content-Type is not signed", async () => {
    const url = new URL(server.url);
    const body = "Action=GetCallerIdentity&Version=2011-06-15";
    const signer = new SignatureV4({
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      region: "us-east-1",
      service: "sts",
      sha256: Hash.bind(null, "sha256"),
    });
    const sign = async (unsigned: string[]) =>
      (
        await signer.sign(
          {
            method: "POST",
            protocol: "http:",
            hostname: url.hostname,
            port: Number(url.port),
            path: "/",
            headers: { host: url.host, "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
            body,
          },
          { unsignableHeaders: new Set(unsigned) },
        )
      ).headers as Record<string, string>;
    const refused = await send(server.url, await sign(["content-type"]), body);
    assert.equal(refused.status, 403);
    assert.match(
      refused.body,
      /<Code>SignatureDoesNotMatch<\/Code><Message>There were headers present in the request which were not signed: content-type/,
    );
    const signed = await send(server.url, await sign([]), body);
    assert.equal(signed.status, 200);
    assert.match(signed.body, /<GetCallerIdentityResult>/);
  });

  it("refuses a DeleteObjects document that is not UTF-8 as MalformedXML, deleting nothing", async () => {
    const replaced = "\uFFFD\uFFFD";
    await s3.send(new PutObjectCommand({ Bucket: "hardening", Key: replaced, Body: "survives" }));
    const body = Buffer.concat([
      Buffer.from("<Delete><Object><Key>"),
      Buffer.from([0xff, 0xfe]),
      Buffer.from("</Key></Object><Quiet>true</Quiet></Delete>"),
    ]);
    const md5 = createHash("md5").update(body).digest("base64");
    const headers = await s3Signer().sign({
      method: "POST",
      protocol: "http:",
      hostname: new URL(server.url).hostname,
      port: Number(new URL(server.url).port),
      path: "/hardening",
      query: { delete: "" },
      headers: {
        host: new URL(server.url).host,
        "content-md5": md5,
        "x-amz-content-sha256": createHash("sha256").update(body).digest("hex"),
      },
      body,
    });
    const res = await fetch(`${server.url}/hardening?delete=`, {
      method: "POST",
      headers: headers.headers as Record<string, string>,
      body,
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /<Code>MalformedXML<\/Code>/);
    const still = await s3.send(new GetObjectCommand({ Bucket: "hardening", Key: replaced }));
    assert.equal((await bytesOf(still.Body)).toString(), "survives");
  });

  it("answers a 5 MiB UploadPart with the wrong SSE-C key at once, SDK and by hand, with and without Expect, and closes", async () => {
    const { UploadId } = await https.send(new CreateMultipartUploadCommand({ Bucket: "hardening", Key: "mp", ...sseC(KEY) }));
    const denied = await rejects(
      () =>
        https.send(new UploadPartCommand({ Bucket: "hardening", Key: "mp", UploadId, PartNumber: 1, Body: FIVE_MIB, ...sseC(OTHER_KEY) })),
      "AccessDenied",
    );
    assert.equal(denied.$metadata?.httpStatusCode, 403);
    const path = `/hardening/mp?partNumber=1&uploadId=${UploadId!}`;
    for (const expect of [true, false]) {
      const headers = await signS3(server.keyhold.tlsUrl!, {
        method: "PUT",
        path: "/hardening/mp",
        query: { partNumber: "1", uploadId: UploadId! },
        headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...sseCHeaders(OTHER_KEY) },
      });
      const res = await upload(server.keyhold.tlsUrl!, path, headers, FIVE_MIB, expect, ca);
      assert.equal(res.status, 403, `expect ${expect}: ${res.text}`);
      assert.match(res.text, /<Code>AccessDenied<\/Code>/);
      assert.equal(res.headers.connection, "close");
    }
    // The right key still uploads the part.
    const part = await https.send(
      new UploadPartCommand({ Bucket: "hardening", Key: "mp", UploadId, PartNumber: 1, Body: FIVE_MIB, ...sseC(KEY) }),
    );
    assert.ok(part.ETag);
  });

  it("answers a 5 MiB PutObject refused from its headers at once, SDK and by hand, with and without Expect", async () => {
    await rejects(() => s3.send(new PutObjectCommand({ Bucket: "no-such-bucket", Key: "k", Body: FIVE_MIB })), "NoSuchBucket");
    for (const expect of [true, false]) {
      const headers = await signS3(server.url, {
        method: "PUT",
        path: "/no-such-bucket/k",
        headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      });
      const res = await upload(server.url, "/no-such-bucket/k", headers, FIVE_MIB, expect);
      assert.equal(res.status, 404, `expect ${expect}: ${res.text}`);
      assert.match(res.text, /<Code>NoSuchBucket<\/Code>/);
      assert.equal(res.headers.connection, "close");
    }
    // A wrong SSE-C key on a PutObject over an existing SSE-C object: refused before its body too.
    await https.send(new PutObjectCommand({ Bucket: "hardening", Key: "ssec", Body: "x", ...sseC(KEY) }));
    const headers = await signS3(server.keyhold.tlsUrl!, {
      method: "PUT",
      path: "/hardening/ssec",
      headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-server-side-encryption": "aws:kms", ...sseCHeaders(KEY) },
    });
    const both = await upload(server.keyhold.tlsUrl!, "/hardening/ssec", headers, FIVE_MIB, false, ca);
    assert.equal(both.status, 400, both.text);
    assert.equal(both.headers.connection, "close");
  });

  it("boto3: wrong SSE-C keys on UploadPart and UploadPartCopy and a missing bucket are answered, not left hanging; its presigned URLs work, added headers refused", async () => {
    const script = `
import boto3, hashlib, sys
from botocore.config import Config
from botocore.exceptions import ClientError
cfg = Config(signature_version="s3v4", read_timeout=10, connect_timeout=5, retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
s3 = boto3.client("s3", endpoint_url=sys.argv[1], verify=sys.argv[2], config=cfg)
key = hashlib.sha256(b"customer key one").digest()
other = hashlib.sha256(b"customer key two").digest()
body = b"b" * (5 * 1024 * 1024)
up = s3.create_multipart_upload(Bucket="hardening", Key="boto", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
s3.put_object(Bucket="hardening", Key="boto-source", Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
for call in (
    lambda: s3.upload_part(Bucket="hardening", Key="boto", UploadId=up["UploadId"], PartNumber=1, Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=other),
    lambda: s3.upload_part_copy(Bucket="hardening", Key="boto", UploadId=up["UploadId"], PartNumber=2, CopySource="hardening/boto-source",
        CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=other, SSECustomerAlgorithm="AES256", SSECustomerKey=key),
    lambda: s3.put_object(Bucket="no-such-bucket", Key="k", Body=body),
):
    try:
        call()
        raise SystemExit("accepted")
    except ClientError as e:
        print(e.response["Error"]["Code"])
part = s3.upload_part(Bucket="hardening", Key="boto", UploadId=up["UploadId"], PartNumber=1, Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
print("part", part["ETag"])
# A URL boto3 presigns with an SSE header: that header is signed and must be sent; another x-amz-* header is refused.
import urllib.request, urllib.error
url = s3.generate_presigned_url("put_object", Params={"Bucket": "hardening", "Key": "boto-presigned", "ServerSideEncryption": "AES256"}, ExpiresIn=300)
ctx = __import__("ssl").create_default_context(cafile=sys.argv[2])
def put(headers):
    req = urllib.request.Request(url, data=b"presigned by boto3", method="PUT", headers=headers)
    try:
        return urllib.request.urlopen(req, context=ctx).status
    except urllib.error.HTTPError as e:
        return e.code
print("presigned", put({"x-amz-server-side-encryption": "AES256"}), put({"x-amz-server-side-encryption": "AES256", "x-amz-copy-source": "/other-bucket/secret"}))
`;
    const r = await python(script, server.keyhold.tlsUrl!, server.keyhold.caFile!);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^AccessDenied\nAccessDenied\nNoSuchBucket\npart "[0-9a-f]+"\npresigned 200 403\n$/);
  });

  it("stops reading a refused 300 MiB upload: the client is cut off long before its last byte", async () => {
    const url = new URL(server.url);
    const total = 300 * 1024 * 1024;
    const headers = await signS3(server.url, {
      method: "PUT",
      path: "/hardening/huge",
      headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
    headers.authorization = headers.authorization!.replace(/Signature=[0-9a-f]{4}/, "Signature=0000");
    const chunk = Buffer.alloc(1024 * 1024);
    const outcome = await new Promise<{ status: number; written: number }>((resolve) => {
      let status = 0;
      let written = 0;
      const agent = new HttpAgent({ keepAlive: true });
      const req = httpRequest({
        host: url.hostname,
        port: Number(url.port),
        path: "/hardening/huge",
        method: "PUT",
        headers: { ...headers, "content-length": String(total) },
        agent,
      });
      req.on("close", () => agent.destroy());
      req.on("response", (res) => {
        status = res.statusCode ?? 0;
        res.resume();
      });
      const done = () => resolve({ status, written });
      req.on("error", done);
      req.on("close", done);
      const pump = () => {
        while (written < total && !req.destroyed) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (written >= total) req.end();
      };
      pump();
    });
    assert.equal(outcome.status, 403);
    assert.ok(outcome.written < 64 * 1024 * 1024, `the client wrote ${outcome.written} bytes`);
  });
});

describe("HTTP hardening: what one client is, for the connection cap", () => {
  it("an IPv4 address is itself; an IPv6 address counts as its /64, however it is written", () => {
    assert.equal(connectionSource("203.0.113.7"), "203.0.113.7");
    assert.equal(connectionSource("::ffff:203.0.113.7"), "203.0.113.7");
    const one = connectionSource("2001:db8:1:2::1");
    assert.equal(one, "2001:db8:1:2::/64");
    for (const same of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:0:0:0:9", "2001:DB8:1:2::abcd%eth0"]) {
      assert.equal(connectionSource(same), one, same);
    }
    assert.notEqual(connectionSource("2001:db8:1:3::1"), one);
    assert.equal(connectionSource("::1"), "0:0:0:0::/64");
    assert.equal(connectionSource("fe80::1"), "fe80:0:0:0::/64");
  });
});

describe("HTTP hardening: slow clients and connections per source", () => {
  let server: TestServer;
  const LIMITS = { headersTimeoutMs: 300, idleTimeoutMs: 300, minReceiveRate: 1000, maxConnectionsPerSource: 4 };

  before(async () => {
    server = await startTestServer({ config: LIMITS });
  });
  after(() => server.stop());

  /** Opens a socket to the server and resolves when it is connected. */
  function open(): Promise<Socket> {
    const url = new URL(server.url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => resolve(s));
      s.on("error", reject);
    });
  }

  /** Writes one byte every 50 ms from `text` until the server closes the socket; how long that took. */
  function trickle(socket: Socket, text: string): Promise<number> {
    const started = Date.now();
    return new Promise((resolve) => {
      let i = 0;
      const timer = setInterval(() => {
        if (i < text.length && !socket.destroyed) socket.write(text[i++]!);
      }, 50);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
      socket.resume();
    });
  }

  it("closes a connection whose headers arrive a byte at a time, within the headers timeout", { timeout: 5000 }, async () => {
    const socket = await open();
    const took = await trickle(socket, `PUT /bucket/key HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${"a".repeat(200)}\r\n\r\n`);
    // The headers timeout plus Node's check interval, with room for a busy machine.
    assert.ok(took < 3000, `closed after ${took} ms`);
  });

  it("closes a connection whose body arrives a byte at a time, within two idle windows", { timeout: 5000 }, async () => {
    const socket = await open();
    const body = "x".repeat(500);
    socket.write(
      `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const took = await trickle(socket, body);
    assert.ok(took < 3000, `closed after ${took} ms`);
  });

  it("closes connections beyond the per-source cap as they arrive, and serves again once one closes", async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnectionsPerSource }, () => open()));
    const extra = await open();
    const closed = await new Promise<boolean>((resolve) => {
      extra.on("error", () => undefined);
      extra.on("close", () => resolve(true));
      extra.resume();
    });
    assert.equal(closed, true);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const kms = server.client();
    const keys = await kms.send(new ListKeysCommand({}));
    assert.ok(Array.isArray(keys.Keys));
  });
});
