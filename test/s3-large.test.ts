/**
 * A 1 GiB object with SSE-KMS, uploaded in parts and downloaded whole, through a keyhold server
 * process whose peak resident memory (VmHWM) must stay under 200 MB: encryption streams in
 * bounded chunks whatever the object size.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import type { Readable } from "node:stream";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer, type ServerProcess } from "./process.js";
import { s3Client } from "./s3.js";

const PART_BYTES = 8 * 1024 * 1024;
const PARTS = 128; // 1 GiB
const LIMIT_BYTES = 200 * 1024 * 1024;

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, "the server's /proc status has VmHWM");
  return Number(m[1]) * 1024;
}

describe("S3: a 1 GiB SSE-KMS object in flat memory", () => {
  let server: ServerProcess;
  let dir: string;
  let s3: S3Client;
  before(async () => {
    dir = tempDir();
    server = await spawnServer(join(dir, "data"));
    s3 = s3Client(server.url);
  });
  after(async () => {
    s3.destroy();
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads 128 parts of 8 MiB and downloads them whole, decrypting with the server's peak RSS under 200 MB", async (t) => {
    const kms = kmsClient(server.url);
    const key = (await kms.send(new CreateKeyCommand({ Description: "large objects" }))).KeyMetadata!;
    kms.destroy();
    await s3.send(new CreateBucketCommand({ Bucket: "large-objects" }));
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: "large-objects",
        Key: "one-gib",
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: key.KeyId,
      }),
    );
    const base = randomBytes(PART_BYTES);
    const partBody = (n: number) => {
      const b = Buffer.from(base);
      b.writeUInt32BE(n, 0);
      b.writeUInt32BE(n, PART_BYTES - 4);
      return b;
    };
    const uploaded = createHash("sha256");
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (let n = 1; n <= PARTS; n++) {
      const body = partBody(n);
      uploaded.update(body);
      const r = await s3.send(new UploadPartCommand({ Bucket: "large-objects", Key: "one-gib", UploadId, PartNumber: n, Body: body }));
      parts.push({ PartNumber: n, ETag: r.ETag! });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: "large-objects", Key: "one-gib", UploadId, MultipartUpload: { Parts: parts } }),
    );
    assert.match(done.ETag ?? "", /-128"$/);
    assert.equal(done.ServerSideEncryption, "aws:kms");

    const got = await s3.send(new GetObjectCommand({ Bucket: "large-objects", Key: "one-gib" }));
    assert.equal(got.ContentLength, PART_BYTES * PARTS);
    const downloaded = createHash("sha256");
    let bytes = 0;
    for await (const chunk of got.Body as Readable) {
      downloaded.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    assert.equal(bytes, PART_BYTES * PARTS);
    assert.equal(downloaded.digest("hex"), uploaded.digest("hex"));
    const peak = peakRss(server.child.pid!);
    t.diagnostic(`server peak RSS: ${Math.round(peak / 1048576)} MB`);
    assert.ok(peak < LIMIT_BYTES, `the server's peak RSS was ${Math.round(peak / 1048576)} MB`);
  });
});
