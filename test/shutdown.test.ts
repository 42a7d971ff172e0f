/**
 * SIGTERM under load: keyhold stops accepting, answers what it accepted, syncs and digests its
 * trail, closes its database and exits 0; nothing a client saw acknowledged is lost.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer, type ServerProcess } from "./process.js";
import { bytesOf, patterned, s3Client } from "./s3.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** What a client may see of a server going away before it read the request: no answer, no effect. */
const NOT_ACCEPTED = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE"]);

function connectionError(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException & { $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode !== undefined) return undefined;
  if (e.code && NOT_ACCEPTED.has(e.code)) return e.code;
  if (/socket hang up/.test(e.message)) return "socket hang up";
  return undefined;
}

interface Call {
  /** A value only this call sends (a key description, an encryption context value), to find it in the trail. */
  marker: string;
  requestId?: string;
  failed?: string;
}

function exitOf(server: ServerProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null)
      return resolve({ code: server.child.exitCode, signal: server.child.signalCode });
    server.child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

/** Every record of a data directory's trail, as text. */
async function trailText(dataDir: string): Promise<string> {
  const store = new SqliteAuditStore(dataDir);
  try {
    let text = "";
    for (const chain of await store.chains()) for await (const r of store.records(chain)) text += r.record + "\n";
    return text;
  } finally {
    await store.close();
  }
}

function run(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? "" } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (status) => resolve({ status, out }));
  });
}

describe("graceful shutdown", () => {
  for (const workers of [1, 2]) {
    it(`SIGTERM under a load of SDK calls${workers > 1 ? ` (--workers ${workers})` : ""} loses no acknowledged call, no audit event, and resets no accepted request`, async () => {
      const data = tempDir();
      const env: Record<string, string> = { KEYHOLD_SHUTDOWN_TIMEOUT: "30" };
      if (workers > 1) env.KEYHOLD_WORKERS = String(workers);
      const server = await spawnServer(data, env);
      const kms = kmsClient(server.url);
      const s3 = s3Client(server.url);
      await s3.send(new CreateBucketCommand({ Bucket: "drain" }));

      // A request accepted before the signal and still arriving after it: an upload whose body
      // stops after 24 MiB (more than any socket buffer holds, so keyhold is reading it) until
      // the server has begun to shut down.
      const size = 32 * 1024 * 1024;
      const body = patterned(size, 3);
      let pulled = 0;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let reachedPause!: () => void;
      const paused = new Promise<void>((r) => (reachedPause = r));
      const source = new Readable({
        read() {
          if (pulled >= size) return void this.push(null);
          const push = () => {
            const chunk = body.subarray(pulled, pulled + 256 * 1024);
            pulled += chunk.length;
            this.push(chunk);
          };
          if (pulled >= 24 * 1024 * 1024 && pulled - 256 * 1024 < 24 * 1024 * 1024) {
            reachedPause();
            void released.then(push);
          } else push();
        },
      });
      const upload = s3.send(new PutObjectCommand({ Bucket: "drain", Key: "in-flight", Body: source, ContentLength: size }));

      // The load: each loop creates a key and encrypts under it, again and again, until keyhold is gone.
      const keys: (Call & { keyId?: string })[] = [];
      const sealed: (Call & { keyId: string; plaintext: Buffer; blob?: Uint8Array })[] = [];
      const unexpected: string[] = [];
      let gone = false;
      const loop = async () => {
        while (!gone) {
          const create: Call & { keyId?: string } = { marker: `shutdown-${randomUUID()}` };
          keys.push(create);
          try {
            const out = await kms.send(new CreateKeyCommand({ Description: create.marker }));
            create.keyId = out.KeyMetadata!.KeyId!;
            create.requestId = out.$metadata.requestId;
          } catch (error) {
            const why = connectionError(error);
            if (!why) unexpected.push(`CreateKey: ${(error as Error).name}: ${(error as Error).message}`);
            create.failed = why ?? "unexpected";
            continue;
          }
          const enc = { marker: randomUUID(), keyId: create.keyId, plaintext: randomBytes(32) } as (typeof sealed)[number];
          sealed.push(enc);
          try {
            const out = await kms.send(
              new EncryptCommand({ KeyId: enc.keyId, Plaintext: enc.plaintext, EncryptionContext: { call: enc.marker } }),
            );
            enc.blob = out.CiphertextBlob;
            enc.requestId = out.$metadata.requestId;
          } catch (error) {
            const why = connectionError(error);
            if (!why) unexpected.push(`Encrypt: ${(error as Error).name}: ${(error as Error).message}`);
            enc.failed = why ?? "unexpected";
          }
        }
      };
      const loops = Array.from({ length: 8 }, loop);
      await paused;
      while (keys.filter((k) => k.requestId).length < 40) await new Promise((r) => setTimeout(r, 20));

      const exited = exitOf(server);
      server.child.kill("SIGTERM");
      // Once keyhold says it is stopping (it no longer accepts), the upload's body goes on.
      while (!/SIGTERM: (not ready|stopping)/.test(server.output()) && server.child.exitCode === null)
        await new Promise((r) => setTimeout(r, 10));
      release();
      const uploaded = await upload;
      assert.equal(uploaded.$metadata.httpStatusCode, 200, "the upload accepted before SIGTERM is answered");
      const { code, signal } = await exited;
      gone = true;
      await Promise.all(loops);
      kms.destroy();
      s3.destroy();
      assert.equal(signal, null, server.output());
      assert.equal(code, 0, server.output());
      assert.match(server.output(), /stopped; audit trail synced and digested, database closed/);
      assert.deepEqual(unexpected, [], "only connection errors for requests never accepted");
      const acked = [...keys, ...sealed].filter((c) => c.requestId);
      assert.ok(acked.length >= 80, `${acked.length} calls acknowledged`);

      // The trail after the stop: every acknowledged call's request id, no failed call's marker
      // (a call a client saw fail was never accepted), and the chain verifies with its digests.
      const text = await trailText(data);
      for (const c of acked) assert.ok(text.includes(`"requestID":"${c.requestId}"`), `the trail holds request ${c.requestId}`);
      for (const c of [...keys, ...sealed].filter((c) => c.failed)) {
        assert.ok(!text.includes(c.marker), `a call that failed with ${c.failed} was carried out (${c.marker})`);
      }
      const exported = join(tempDir(), "trail");
      const ex = await run(["audit", "export", "--out", exported, "--data-dir", data]);
      assert.equal(ex.status, 0, ex.out);
      const verified = await run(["audit", "verify", exported]);
      assert.equal(verified.status, 0, verified.out);
      assert.match(verified.out, /^OK: \d+ events, \d+ digests\n/m);
      assert.doesNotMatch(verified.out, /not yet covered by a signed digest/, "the final digest covers the last event");

      // After a restart: each acknowledged key is there and each acknowledged ciphertext decrypts.
      const again = await spawnServer(data, env);
      const kms2 = kmsClient(again.url);
      const s32 = s3Client(again.url);
      try {
        for (const k of keys.filter((k) => k.requestId)) {
          const d = await kms2.send(new DescribeKeyCommand({ KeyId: k.keyId }));
          assert.equal(d.KeyMetadata?.Description, k.marker);
        }
        for (const e of sealed.filter((e) => e.requestId)) {
          const out = await kms2.send(new DecryptCommand({ CiphertextBlob: e.blob, EncryptionContext: { call: e.marker } }));
          assert.deepEqual(Buffer.from(out.Plaintext!), e.plaintext);
        }
        const got = await s32.send(new GetObjectCommand({ Bucket: "drain", Key: "in-flight" }));
        assert.ok((await bytesOf(got.Body)).equals(body), "the upload finished during the drain reads back");
      } finally {
        kms2.destroy();
        s32.destroy();
        await again.kill();
      }
    });
  }
});
