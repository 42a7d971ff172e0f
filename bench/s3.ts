/**
 * `npm run bench` (second part), or `npm run bench:s3`: PUT and GET throughput of 64 MiB objects
 * through @aws-sdk/client-s3 against a keyhold server process (one process), with SSE-S3 and
 * SSE-KMS, and in the same run the ceiling: node:crypto AES-256-GCM sealing and opening the same
 * bytes in keyhold's 64 KiB chunks on one core, in memory. Prints MB/s and the ratio keyhold/ceiling.
 *
 * Uploads go as the SDK sends a stream: aws-chunked with a CRC32 trailer (no SHA-256 of the
 * payload). Two more figures say where the limits lie: the same SDK calls against a bare
 * node:http server (bench/bare-s3.ts: no crypto, no disk), and writing 64 MiB to the data
 * directory's disk with fsync. BENCH_S3_OBJECTS (default 6) sets how many objects each measurement moves.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { openSync, closeSync, fsyncSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client, type ServerSideEncryption } from "@aws-sdk/client-s3";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { ACCESS_KEY_ID, SECRET, runBench, start, startKeyhold } from "./servers.js";

const OBJECT_BYTES = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;
const OBJECTS = Number(process.env.BENCH_S3_OBJECTS ?? 6);
const MB = 1024 * 1024;

/** node:crypto alone: seal then open `data` in 64 KiB AES-256-GCM chunks, on this one core. */
function ceiling(data: Buffer): { seal: number; open: number } {
  const key = randomBytes(32);
  const nonce = Buffer.alloc(12);
  const sealed: Buffer[] = [];
  let t = process.hrtime.bigint();
  for (let round = 0; round < 3; round++) {
    sealed.length = 0;
    for (let i = 0; i * CHUNK < data.length; i++) {
      nonce.writeUInt32BE(i, 8);
      const c = createCipheriv("aes-256-gcm", key, nonce);
      c.setAAD(nonce);
      sealed.push(Buffer.concat([c.update(data.subarray(i * CHUNK, (i + 1) * CHUNK)), c.final(), c.getAuthTag()]));
    }
  }
  const seal = (3 * data.length) / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  for (let round = 0; round < 3; round++) {
    sealed.forEach((s, i) => {
      nonce.writeUInt32BE(i, 8);
      const d = createDecipheriv("aes-256-gcm", key, nonce);
      d.setAAD(nonce);
      d.setAuthTag(s.subarray(s.length - 16));
      d.update(s.subarray(0, s.length - 16));
      d.final();
    });
  }
  const open = (3 * data.length) / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  return { seal, open };
}

function pieces(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += MB) yield data.subarray(at, at + MB);
    })(),
  );
}

/** Writing `data` to a file in `dir` and fsyncing it, as keyhold must before it answers a PUT. */
function diskRate(dir: string, data: Buffer): number {
  const t = process.hrtime.bigint();
  for (let round = 0; round < 3; round++) {
    const fd = openSync(join(dir, `disk-${round}`), "w");
    for (let at = 0; at < data.length; at += MB) writeSync(fd, data, at, MB);
    fsyncSync(fd);
    closeSync(fd);
  }
  const rate = (3 * data.length) / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  for (let round = 0; round < 3; round++) rmSync(join(dir, `disk-${round}`));
  return rate;
}

/** PUT and GET MB/s of `OBJECTS` objects through `s3`. */
async function transfer(s3: S3Client, data: Buffer, label: string, extra: Record<string, string>): Promise<{ put: number; get: number }> {
  await s3.send(new PutObjectCommand({ Bucket: "bench", Key: `${label}-warm`, Body: pieces(data), ContentLength: data.length, ...extra }));
  let t = process.hrtime.bigint();
  for (let i = 0; i < OBJECTS; i++) {
    await s3.send(
      new PutObjectCommand({ Bucket: "bench", Key: `${label}-${i}`, Body: pieces(data), ContentLength: data.length, ...extra }),
    );
  }
  const put = (OBJECTS * OBJECT_BYTES) / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  for (let i = 0; i < OBJECTS; i++) {
    const got = await s3.send(new GetObjectCommand({ Bucket: "bench", Key: `${label}-${i}` }));
    let bytes = 0;
    for await (const chunk of got.Body as Readable) bytes += (chunk as Buffer).length;
    if (bytes !== OBJECT_BYTES) throw new Error(`GET returned ${bytes} bytes`);
  }
  const get = (OBJECTS * OBJECT_BYTES) / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  return { put, get };
}

async function main(): Promise<void> {
  const data = randomBytes(OBJECT_BYTES);
  const bare = ceiling(data);
  // One process, as the figures before the defaults changed were measured (the audit sync hardly
  // matters for 64 MiB objects).
  const server = await startKeyhold(["--workers", "1", "--audit-sync", "commit"]);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
  const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
  const kms = new KMSClient({ endpoint, region: "us-east-1", credentials });
  try {
    const keyId = (await kms.send(new CreateKeyCommand({ Description: "bench" }))).KeyMetadata!.KeyId!;
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    process.stdout.write(
      `\nS3 objects of 64 MiB, ${OBJECTS} each way, keyhold (one process) vs node:crypto AES-256-GCM in 64 KiB chunks on one core\n\n`,
    );
    process.stdout.write(
      "| scenario          | keyhold MB/s | ceiling MB/s | ratio |\n|-------------------|-------------:|-------------:|------:|\n",
    );
    const f = (n: number) => n.toFixed(0).padStart(12);
    for (const [label, sse] of [
      ["SSE-S3", "AES256"],
      ["SSE-KMS", "aws:kms"],
    ] as [string, ServerSideEncryption][]) {
      const { put, get } = await transfer(s3, data, label, {
        ServerSideEncryption: sse,
        ...(sse === "aws:kms" ? { SSEKMSKeyId: keyId } : {}),
      });
      process.stdout.write(`| PUT ${label.padEnd(13)} | ${f(put)} | ${f(bare.seal)} | ${(put / bare.seal).toFixed(2).padStart(5)} |\n`);
      process.stdout.write(`| GET ${label.padEnd(13)} | ${f(get)} | ${f(bare.open)} | ${(get / bare.open).toFixed(2).padStart(5)} |\n`);
    }
    const bareServer = await start(fileURLToPath(new URL("./bare-s3.js", import.meta.url)), [], {}, /bare listening on (\d+)/);
    const bareS3 = new S3Client({
      endpoint: `http://127.0.0.1:${bareServer.port}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
    });
    try {
      const transport = await transfer(bareS3, data, "bare", {});
      process.stdout.write(
        `\nlimits in the same run: the SDK against a bare node:http server (no crypto, no disk) PUT ${transport.put.toFixed(0)} MB/s, ` +
          `GET ${transport.get.toFixed(0)} MB/s; the data directory's disk, 64 MiB written and fsynced: ${diskRate(server.dataDir, data).toFixed(0)} MB/s\n`,
      );
    } finally {
      bareS3.destroy();
      bareServer.child.kill("SIGTERM");
    }
  } finally {
    s3.destroy();
    kms.destroy();
    await server.stop();
  }
}

runBench(main);
