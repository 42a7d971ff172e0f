/**
 * Bad input never produces a 500, over S3 too: every S3 route gets signed requests with garbage
 * in its headers, query parameters and body, and every answer must be a 2xx, a 3xx or a 4xx with
 * S3's XML error (501 NotImplemented for what keyhold does not serve) — never a 5xx.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { S3_ROUTES } from "../src/s3/registry.js";
import { startTestServer, type TestServer } from "./helpers.js";
import { s3Client, sendS3 } from "./s3.js";

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

const pick = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

const HEADER_GARBAGE: Record<string, string[]> = {
  "x-amz-server-side-encryption": ["AES256", "aws:kms", "aws:kms:dsse", "ROT13", ""],
  "x-amz-server-side-encryption-aws-kms-key-id": ["alias/none", "arn:aws:kms:us-east-1:111122223333:key/nope", "x".repeat(3000)],
  "x-amz-server-side-encryption-context": [
    "not base64!",
    Buffer.from("[1,2]").toString("base64"),
    Buffer.from('{"a":1}').toString("base64"),
  ],
  "x-amz-server-side-encryption-bucket-key-enabled": ["true", "maybe"],
  "x-amz-server-side-encryption-customer-algorithm": ["AES256", "DES"],
  "x-amz-server-side-encryption-customer-key": ["AAAA", Buffer.alloc(32, 1).toString("base64")],
  "x-amz-server-side-encryption-customer-key-md5": ["garbage", ""],
  range: ["bytes=", "bytes=5-1", "bytes=-0", "bytes=99999999-", "items=0-1", "bytes=0-1,3-4"],
  "content-md5": ["nope", "AAAAAAAAAAAAAAAAAAAAAA=="],
  "x-amz-checksum-crc32": ["AAAA", "!!"],
  "x-amz-checksum-crc32c": ["AAAAAA=="],
  "x-amz-copy-source": [
    "",
    "/",
    "fuzz-bucket",
    "fuzz-bucket/",
    "%zz",
    "fuzz-bucket/missing",
    "fuzz-bucket/existing?versionId=1",
    "other-bucket/x",
  ],
  "x-amz-copy-source-range": ["bytes=0-", "bytes=9-1", "x"],
  "x-amz-metadata-directive": ["MOVE", "REPLACE"],
  "x-amz-meta-big": ["m".repeat(3000)],
  "if-match": ['"nope"', "*"],
};

const QUERY_GARBAGE: Record<string, string[]> = {
  "max-keys": ["-1", "abc", "99999999999999999999", "0"],
  "continuation-token": ["garbage", Buffer.from("v1:").toString("base64"), ""],
  "encoding-type": ["url", "base64"],
  prefix: ["", "é", "\u0000"],
  delimiter: ["/", ""],
  partNumber: ["0", "10001", "x", "1"],
  uploadId: ["not-an-id", "00000000-0000-4000-8000-000000000000"],
  "max-parts": ["-5", "x"],
  "part-number-marker": ["x"],
  "max-uploads": ["0", "q"],
  "start-after": ["zzz"],
};

const BODIES = [
  "",
  "<",
  "<Delete><Object><Key></Key></Object></Delete>",
  "<Delete><Object/></Delete>",
  "<Delete>" + "<Object><Key>k</Key></Object>".repeat(1001) + "</Delete>",
  "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>",
  "<CompleteMultipartUpload/>",
  "<ServerSideEncryptionConfiguration><Rule><BlockedEncryptionTypes><EncryptionType>ALL</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>",
  "<ServerSideEncryptionConfiguration><Rule/><Rule/></ServerSideEncryptionConfiguration>",
  "<CreateBucketConfiguration><LocationConstraint>mars-1</LocationConstraint></CreateBucketConfiguration>",
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}',
  '{"Statement": 7}',
  "\u0000\u202e✓ not xml at all",
  '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>',
];

describe("fuzzing S3: no 5xx for bad input", () => {
  let server: TestServer;
  let s3: S3Client;
  before(async () => {
    server = await startTestServer();
    s3 = s3Client(server.url);
    await s3.send(new CreateBucketCommand({ Bucket: "fuzz-bucket" }));
    await s3.send(new PutObjectCommand({ Bucket: "fuzz-bucket", Key: "existing", Body: "some bytes" }));
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  it(`sends ${S3_ROUTES.length} routes × 24 malformed requests, and each answer is S3's 2xx/3xx/4xx (or 501)`, async () => {
    const r = rng(20261130);
    let sent = 0;
    const seen = new Map<string, number>();
    for (const route of S3_ROUTES) {
      for (let i = 0; i < 24; i++) {
        const path =
          route.target === "service"
            ? "/"
            : route.target === "bucket"
              ? pick(r, ["/fuzz-bucket", "/no-such-bucket-x", "/Bad_Name"])
              : pick(r, ["/fuzz-bucket/existing", "/fuzz-bucket/new%20key", "/fuzz-bucket/" + "k".repeat(1100), "/no-such-bucket-x/k"]);
        const query: Record<string, string> = {};
        if (route.subresource)
          query[route.subresource] =
            route.subresource === "list-type"
              ? pick(r, ["2", "3"])
              : route.subresource === "uploadId"
                ? pick(r, QUERY_GARBAGE.uploadId!)
                : "";
        for (let q = 0; q < 2; q++) {
          const name = pick(r, Object.keys(QUERY_GARBAGE));
          query[name] = pick(r, QUERY_GARBAGE[name]!);
        }
        const headers: Record<string, string> = {};
        if (route.header) headers[route.header] = pick(r, HEADER_GARBAGE[route.header] ?? ["x"]);
        for (let h = 0; h < 3; h++) {
          const name = pick(r, Object.keys(HEADER_GARBAGE));
          headers[name] = pick(r, HEADER_GARBAGE[name]!);
        }
        const body = route.method === "PUT" || route.method === "POST" ? pick(r, BODIES) : "";
        headers["x-amz-content-sha256"] = createHash("sha256").update(body).digest("hex");
        const res = await sendS3(server.url, { method: route.method, path, query, headers, body });
        const text = res.text;
        sent++;
        const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? String(res.status);
        seen.set(code, (seen.get(code) ?? 0) + 1);
        const label = `${route.name} ${route.method} ${path.slice(0, 60)} ${JSON.stringify(query).slice(0, 120)} ${JSON.stringify(headers).slice(0, 200)} body=${JSON.stringify(body.slice(0, 60))}`;
        assert.ok(res.status < 500 || res.status === 501, `${label}: ${res.status} ${text.slice(0, 300)}`);
        if (res.status >= 400 && route.method !== "HEAD")
          assert.match(text, /<Error><Code>[A-Za-z.]+<\/Code><Message>[^<]+<\/Message>/, label);
        assert.ok(!/at .*\.js:\d+/.test(text), `${label}: a stack trace`);
      }
    }
    assert.equal(sent, S3_ROUTES.length * 24);
    // The requests are signed correctly, so they reach the operations: refusals are about their content.
    assert.equal(seen.get("SignatureDoesNotMatch"), undefined, `signature failures: ${JSON.stringify([...seen])}`);
    assert.ok(
      (seen.get("200") ?? 0) + (seen.get("204") ?? 0) + (seen.get("206") ?? 0) > 20,
      `some requests succeed: ${JSON.stringify([...seen])}`,
    );
    assert.ok(seen.size >= 15, `a variety of refusals: ${JSON.stringify([...seen])}`);
    assert.ok(
      !server.logs.some((l) => /failed: /.test(l)),
      `internal faults were logged:\n${server.logs
        .filter((l) => /failed: /.test(l))
        .join("\n")
        .slice(0, 2000)}`,
    );
  });
});
