/**
 * `keyhold backup` / `backup verify` / `restore`, as an operator runs them: a backup taken while
 * clients keep writing, restored into a new directory and served again by a keyhold process.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer } from "./process.js";
import { bytesOf, patterned, s3Client } from "./s3.js";
import { MANIFEST, verifyBackup } from "../src/backup/manifest.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Runs the keyhold command without blocking the event loop (the load keeps running meanwhile). */
function keyhold(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (status) => resolve({ status, out }));
  });
}

/** Every file under a directory, relative. */
function filesUnder(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(root, join(dir, e.name)) : [join(dir, e.name).slice(root.length + 1)],
  );
}

interface Sealed {
  keyId: string;
  plaintext: Buffer;
  blob: Uint8Array;
}

async function createAndEncrypt(kms: KMSClient, i: number): Promise<Sealed> {
  const key = await kms.send(new CreateKeyCommand({ Description: `backup load ${i}` }));
  const plaintext = randomBytes(64);
  const out = await kms.send(
    new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId!, Plaintext: plaintext, EncryptionContext: { i: String(i) } }),
  );
  return { keyId: key.KeyMetadata!.KeyId!, plaintext, blob: out.CiphertextBlob! };
}

describe("backup and restore", () => {
  it("an online backup under a write load restores to a keyhold that decrypts, reads back and verifies everything acknowledged before it", async () => {
    const data = tempDir();
    const server = await spawnServer(data);
    const kms = kmsClient(server.url);
    const s3 = s3Client(server.url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "backed-up" }));
      // Acknowledged before the backup starts: what the restore must hold.
      const keys: Sealed[] = [];
      for (let i = 0; i < 12; i++) keys.push(await createAndEncrypt(kms, i));
      const objects = new Map<string, Buffer>();
      for (let i = 0; i < 12; i++) {
        const body = patterned(64 * 1024 + i * 4099, i + 1);
        await s3.send(
          new PutObjectCommand({ Bucket: "backed-up", Key: `before/${i}`, Body: body, ServerSideEncryption: i % 2 ? "aws:kms" : "AES256" }),
        );
        objects.set(`before/${i}`, body);
      }

      // A load of writes that goes on during the backup: new keys and ciphertexts, new objects and
      // overwrites of the same few keys (each overwrite deletes the file the previous one had).
      let stop = false;
      let during = 0;
      let backupRunning = false;
      const load = async (worker: number) => {
        for (let n = 0; !stop; n++) {
          await createAndEncrypt(kms, 1000 * worker + n);
          await s3.send(new PutObjectCommand({ Bucket: "backed-up", Key: `load/${worker}/${n % 3}`, Body: patterned(48 * 1024, n + 7) }));
          if (backupRunning) during++;
        }
      };
      const loads = [1, 2, 3].map(load);
      await new Promise((r) => setTimeout(r, 200));
      const backup = join(tempDir(), "backup");
      backupRunning = true;
      const taken = await keyhold(["backup", "--out", backup, "--data-dir", data]);
      backupRunning = false;
      stop = true;
      await Promise.all(loads);
      assert.equal(taken.status, 0, taken.out);
      assert.ok(during > 0, "the load kept writing while the backup ran");
      assert.match(taken.out, /not in the backup: master\.key/);
      assert.ok(
        !filesUnder(backup).some((f) => f.endsWith("master.key") || f.endsWith("root-credentials")),
        "no master key, no root secret",
      );

      const verified = await keyhold(["backup", "verify", backup]);
      assert.equal(verified.status, 0, verified.out);
      assert.match(verified.out, /^OK: \d+ files match the manifest/m);

      // Restore: into a new directory, private as keyhold makes its own.
      const restored = join(tempDir(), "restored");
      const r = await keyhold(["restore", backup, "--data-dir", restored]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /the master key is not part of a backup/);
      assert.equal(statSync(restored).mode & 0o777, 0o700);
      for (const f of filesUnder(restored)) assert.equal(statSync(join(restored, f)).mode & 0o777, 0o600, f);
      const again = await keyhold(["restore", backup, "--data-dir", restored]);
      assert.equal(again.status, 1);
      assert.match(again.out, /is not empty/);

      // Without its master key the restored directory opens nothing: the default key file is
      // absent, and another master key does not unseal the root key. Neither start creates one.
      const noKey = await keyhold(["server", "--port", "0", "--data-dir", restored]);
      assert.equal(noKey.status, 1);
      assert.match(noKey.out, /master key file .*master\.key does not exist/);
      const otherKey = join(tempDir(), "other.key");
      writeFileSync(otherKey, randomBytes(32).toString("base64"), { mode: 0o600 });
      const wrong = await keyhold(["server", "--port", "0", "--data-dir", restored], { KEYHOLD_MASTER_KEY_FILE: otherKey });
      assert.equal(wrong.status, 1);
      assert.match(wrong.out, /the master key does not unseal the root key/);
      assert.ok(!filesUnder(restored).includes("master.key"));

      // With the master key, kept apart from the backup.
      const keptKey = join(tempDir(), "kept.key");
      copyFileSync(join(data, "master.key"), keptKey);
      await server.kill();
      const back = await spawnServer(restored, { KEYHOLD_MASTER_KEY_FILE: keptKey });
      try {
        const kms2 = kmsClient(back.url);
        const s32 = s3Client(back.url);
        for (const k of keys) {
          const i = keys.indexOf(k);
          const out = await kms2.send(new DecryptCommand({ CiphertextBlob: k.blob, EncryptionContext: { i: String(i) } }));
          assert.equal(out.KeyId?.endsWith(k.keyId), true);
          assert.deepEqual(Buffer.from(out.Plaintext!), k.plaintext);
        }
        for (const [key, body] of objects) {
          const got = await s32.send(new GetObjectCommand({ Bucket: "backed-up", Key: key }));
          assert.deepEqual(await bytesOf(got.Body), body, key);
        }
        kms2.destroy();
        s32.destroy();
      } finally {
        await back.kill();
      }

      // The restored trail verifies: exported and checked with its signed digests.
      const exported = join(tempDir(), "trail");
      const ex = await keyhold(["audit", "export", "--out", exported, "--data-dir", restored]);
      assert.equal(ex.status, 0, ex.out);
      const audit = await keyhold(["audit", "verify", exported]);
      assert.equal(audit.status, 0, audit.out);
      assert.match(audit.out, /^OK: \d+ events/m);
    } finally {
      kms.destroy();
      s3.destroy();
      await server.kill();
    }
  });

  it("backup verify finds a changed byte in any file of a backup, and restore refuses such a backup", async () => {
    const data = tempDir();
    const server = await spawnServer(data);
    const kms = kmsClient(server.url);
    const s3 = s3Client(server.url);
    const backup = join(tempDir(), "backup");
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "flip" }));
      await createAndEncrypt(kms, 1);
      await s3.send(new PutObjectCommand({ Bucket: "flip", Key: "o", Body: patterned(10_000) }));
      const taken = await keyhold(["backup", "--out", backup, "--data-dir", data]);
      assert.equal(taken.status, 0, taken.out);
    } finally {
      kms.destroy();
      s3.destroy();
      await server.kill();
    }
    const files = filesUnder(backup);
    for (const kind of [MANIFEST, "manifest.sha256", "keyhold.db", "audit/keys.db", "audit/chain-1.db", "audit/chain-1/", "s3/objects/"]) {
      assert.ok(
        files.some((f) => f.startsWith(kind)),
        `the backup holds ${kind}`,
      );
    }
    assert.equal(verifyBackup(backup).ok, true);
    for (const f of files) {
      const path = join(backup, f);
      const original = readFileSync(path);
      for (const at of [0, Math.floor(original.length / 2), original.length - 1]) {
        const changed = Buffer.from(original);
        changed[at]! ^= 0x01;
        writeFileSync(path, changed);
        const report = verifyBackup(backup);
        assert.equal(report.ok, false, `a flipped bit at ${at} of ${f} goes unnoticed`);
      }
      writeFileSync(path, original);
    }
    assert.equal(verifyBackup(backup).ok, true);

    // The command says so, and restore restores nothing from a backup that does not verify.
    const object = files.find((f) => f.startsWith("s3/objects/"))!;
    const original = readFileSync(join(backup, object));
    const changed = Buffer.from(original);
    changed[100]! ^= 0x80;
    writeFileSync(join(backup, object), changed);
    const verified = await keyhold(["backup", "verify", backup]);
    assert.equal(verified.status, 1);
    assert.match(verified.out, new RegExp(`FAIL ${object} does not match its SHA-256`));
    const target = join(tempDir(), "target");
    const r = await keyhold(["restore", backup, "--data-dir", target]);
    assert.equal(r.status, 1);
    assert.match(r.out, /does not verify; nothing was restored/);
    assert.deepEqual(readdirSync(join(target, "..")).includes("target"), false);

    // A file added to a backup is no part of it either.
    writeFileSync(join(backup, object), original);
    mkdirSync(join(backup, "extra"));
    writeFileSync(join(backup, "extra", "x"), "x");
    const extra = verifyBackup(backup);
    assert.deepEqual(extra.problems, ["extra/x is not in the manifest"]);
  });
});
