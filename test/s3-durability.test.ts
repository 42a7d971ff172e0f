/**
 * S3 writes acknowledged to a client survive kill -9: objects put (SSE-S3 and SSE-KMS, some
 * spanning many chunks) while the server is killed are all there, byte for byte, after a
 * restart; no half-written object is ever visible.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer } from "./process.js";
import { bytesOf, patterned, s3Client } from "./s3.js";

describe("S3 durability", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("every acknowledged PutObject survives kill -9, including uploads in flight when it lands", async (t) => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    let server = await spawnServer(dataDir);
    const kms = kmsClient(server.url);
    const keyId = (await kms.send(new CreateKeyCommand({ Description: "durable objects" }))).KeyMetadata!.KeyId!;
    kms.destroy();
    let s3 = s3Client(server.url);
    await s3.send(new CreateBucketCommand({ Bucket: "durable" }));

    const acknowledged = new Map<string, string>(); // key → sha256 of its bytes
    let stop = false;
    let n = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      while (!stop) {
        const i = n++;
        const key = `w${w}/object-${i}`;
        const body = patterned(i % 3 === 0 ? 300_000 + i : 1000 + i, i + 1);
        try {
          await s3.send(
            new PutObjectCommand({
              Bucket: "durable",
              Key: key,
              Body: body,
              ...(i % 2 ? { ServerSideEncryption: "aws:kms", SSEKMSKeyId: keyId } : {}),
            }),
          );
          acknowledged.set(key, createHash("sha256").update(body).digest("hex"));
        } catch {
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 800));
    await server.kill("SIGKILL");
    stop = true;
    await Promise.all(writers);
    s3.destroy();
    assert.ok(acknowledged.size > 0, "some uploads were acknowledged before the kill");
    t.diagnostic(`${acknowledged.size} uploads acknowledged before kill -9`);

    server = await spawnServer(dataDir);
    s3 = s3Client(server.url);
    try {
      for (const [key, digest] of acknowledged) {
        const got = await s3.send(new GetObjectCommand({ Bucket: "durable", Key: key }));
        assert.equal(
          createHash("sha256")
            .update(await bytesOf(got.Body))
            .digest("hex"),
          digest,
          `${key} came back whole`,
        );
      }
      // Whatever is listed (acknowledged or not) reads back whole: never half an object.
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: "durable", ContinuationToken: token }));
        for (const c of page.Contents ?? []) {
          const got = await s3.send(new GetObjectCommand({ Bucket: "durable", Key: c.Key }));
          assert.equal((await bytesOf(got.Body)).length, c.Size, `${c.Key} is whole`);
        }
        token = page.NextContinuationToken;
      } while (token);
    } finally {
      s3.destroy();
      await server.kill();
    }
  });
});
