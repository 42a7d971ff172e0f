/**
 * Signed streaming uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): AWS's published example checks
 * the chunk-signature chain; a hand-built signed upload (no SDK v3 sends one) is stored, and one
 * altered in flight is refused without storing anything.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { AwsChunkedDecoder } from "../src/http/aws-chunked.js";
import { chunkSignature, trailerSignature, type ChunkSigning } from "../src/http/sigv4.js";
import { ServiceError } from "../src/errors.js";
import { rejects, startTestServer, type TestServer } from "./helpers.js";
import { ROOT_CREDS } from "./iam.js";
import { bytesOf, patterned, s3Client, sendS3, signS3 } from "./s3.js";

function signingKey(secret: string, date: string, region: string): KeyObject {
  let key: Buffer = createHmac("sha256", `AWS4${secret}`).update(date).digest();
  for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return createSecretKey(key);
}

/** AWS's example (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html): 66 560 bytes of "a" in chunks of 65 536, 1 024 and 0. */
const EXAMPLE: ChunkSigning = {
  signingKey: signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1"),
  amzDate: "20130524T000000Z",
  scope: "20130524/us-east-1/s3/aws4_request",
  seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
  trailer: false,
};
const EXAMPLE_SIGNATURES = [
  "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];

function exampleBody(alter: (chunks: Buffer[]) => void = () => undefined): Buffer {
  const chunks = [Buffer.alloc(65536, "a"), Buffer.alloc(1024, "a"), Buffer.alloc(0)];
  alter(chunks);
  return Buffer.concat(
    chunks.flatMap((c, i) => [
      Buffer.from(`${c.length.toString(16)};chunk-signature=${EXAMPLE_SIGNATURES[i]}\r\n`),
      c,
      Buffer.from("\r\n"),
    ]),
  );
}

async function decode(body: Buffer, signing: ChunkSigning): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of Readable.from([body.subarray(0, 1000), body.subarray(1000)]).pipe(new AwsChunkedDecoder(signing)))
    out.push(c as Buffer);
  return Buffer.concat(out);
}

/** A signed aws-chunked body, its chunks signed with `signing` (for the server test). */
function signedBody(data: Buffer, chunkBytes: number, signing: ChunkSigning, trailer?: { name: string; value: string }): Buffer {
  const parts: Buffer[] = [];
  let previous = signing.seedSignature;
  for (let at = 0; ; at += chunkBytes) {
    const chunk = data.subarray(at, Math.min(data.length, at + chunkBytes));
    previous = chunkSignature(signing, previous, createHash("sha256").update(chunk).digest("hex"));
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), chunk);
    if (chunk.length === 0) break;
    parts.push(Buffer.from("\r\n"));
  }
  if (trailer) {
    const text = `${trailer.name}:${trailer.value}\n`;
    parts.push(
      Buffer.from(`${trailer.name}:${trailer.value}\r\nx-amz-trailer-signature:${trailerSignature(signing, previous, text)}\r\n\r\n`),
    );
  } else {
    parts.push(Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

describe("signed streaming uploads", () => {
  it("verifies AWS's published chunk-signature chain, and refuses any chunk altered or signed otherwise", async () => {
    assert.ok((await decode(exampleBody(), EXAMPLE)).equals(Buffer.alloc(66560, "a")));
    const refused = async (body: Buffer) =>
      assert.rejects(
        () => decode(body, EXAMPLE),
        (e) => e instanceof ServiceError && e.code === "InvalidSignatureException",
      );
    await refused(exampleBody((c) => (c[1]![7] = 0x62)));
    await refused(exampleBody((c) => c.reverse()));
    await assert.rejects(
      () => decode(exampleBody().subarray(0, 66000), EXAMPLE),
      (e) => e instanceof ServiceError && e.code === "IncompleteBody",
      "a body cut short is incomplete",
    );
    await refused(Buffer.from(exampleBody().toString("latin1").replace(EXAMPLE_SIGNATURES[2]!, "0".repeat(64)), "latin1"));
    await refused(
      Buffer.from(
        exampleBody()
          .toString("latin1")
          .replace(/;chunk-signature=[0-9a-f]+/, ""),
        "latin1",
      ),
    );
  });

  describe("through the server", () => {
    let server: TestServer;
    let s3: S3Client;
    before(async () => {
      server = await startTestServer();
      s3 = s3Client(server.url);
      await s3.send(new CreateBucketCommand({ Bucket: "streamed" }));
    });
    after(async () => {
      s3.destroy();
      await server.stop();
    });

    async function put(key: string, data: Buffer, mode: "PAYLOAD" | "PAYLOAD-TRAILER", alter: (body: Buffer) => Buffer = (b) => b) {
      const date = new Date();
      const amzDate = date
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, "");
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE((await import("node:zlib")).crc32(data) >>> 0);
      const headers: Record<string, string> = {
        "x-amz-content-sha256": `STREAMING-AWS4-HMAC-SHA256-${mode}`,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": String(data.length),
      };
      if (mode === "PAYLOAD-TRAILER") headers["x-amz-trailer"] = "x-amz-checksum-crc32";
      const signed = await signS3(server.url, { method: "PUT", path: `/streamed/${key}`, headers, signingDate: date });
      const seed = /Signature=([0-9a-f]{64})/.exec(signed.authorization!)![1]!;
      const signing: ChunkSigning = {
        signingKey: signingKey(ROOT_CREDS.secretAccessKey, amzDate.slice(0, 8), "us-east-1"),
        amzDate,
        scope: `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`,
        seedSignature: seed,
        trailer: mode === "PAYLOAD-TRAILER",
      };
      const trailer = mode === "PAYLOAD-TRAILER" ? { name: "x-amz-checksum-crc32", value: crc.toString("base64") } : undefined;
      const body = alter(signedBody(data, 65536, signing, trailer));
      const res = await fetch(`${server.url}/streamed/${key}`, {
        method: "PUT",
        headers: { ...signed, "content-length": String(body.length) },
        body: new Uint8Array(body),
      });
      return { status: res.status, text: await res.text() };
    }

    it("stores a signed aws-chunked upload, with or without a signed trailer", async () => {
      const data = patterned(200_000, 9);
      assert.equal((await put("plain", data, "PAYLOAD")).status, 200);
      assert.ok((await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "streamed", Key: "plain" }))).Body)).equals(data));
      const withTrailer = await put("trailer", data, "PAYLOAD-TRAILER");
      assert.equal(withTrailer.status, 200, withTrailer.text);
      assert.ok((await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "streamed", Key: "trailer" }))).Body)).equals(data));
    });

    it("answers malformed aws-chunked framing with a 4xx, and keeps serving", async () => {
      const bodies = [
        "zz\r\nabc\r\n0\r\n\r\n",
        "3\r\nabcXY0\r\n\r\n",
        "3\r\nabc\r\n",
        "3\r\nabc\r\n0\r\n\r\ntrailing garbage",
        "3\r\nabc\r\n0\r\nno-colon-trailer\r\n\r\n",
        "ffffffff\r\nabc",
        `${"9".repeat(5000)}\r\n`,
        "",
      ];
      for (const [i, text] of bodies.entries()) {
        const headers = {
          "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
          "content-encoding": "aws-chunked",
          "x-amz-decoded-content-length": "3",
        };
        const { status, text: reply } = await sendS3(server.url, { method: "PUT", path: `/streamed/bad-${i}`, headers, body: text });
        const res = { status };
        assert.ok(res.status >= 400 && res.status < 500, `body ${JSON.stringify(text.slice(0, 40))}: ${res.status} ${reply}`);
        await rejects(() => s3.send(new GetObjectCommand({ Bucket: "streamed", Key: `bad-${i}` })), "NoSuchKey");
      }
    });

    it("refuses an upload whose bytes, chunk signatures or trailer were altered, and stores nothing", async () => {
      const data = patterned(150_000, 10);
      const flipped = await put("flipped", data, "PAYLOAD", (b) => {
        const copy = Buffer.from(b);
        copy[100_000]! ^= 1;
        return copy;
      });
      assert.equal(flipped.status, 403, flipped.text);
      assert.match(flipped.text, /<Code>SignatureDoesNotMatch<\/Code>/);
      await rejects(() => s3.send(new GetObjectCommand({ Bucket: "streamed", Key: "flipped" })), "NoSuchKey");
      const trailer = await put("bad-trailer", data, "PAYLOAD-TRAILER", (b) =>
        Buffer.from(b.toString("latin1").replace(/x-amz-checksum-crc32:[^\r]+/, "x-amz-checksum-crc32:AAAAAA=="), "latin1"),
      );
      assert.equal(trailer.status, 403, trailer.text);
      await rejects(() => s3.send(new GetObjectCommand({ Bucket: "streamed", Key: "bad-trailer" })), "NoSuchKey");
    });
  });
});
