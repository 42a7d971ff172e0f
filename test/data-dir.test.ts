/**
 * The data directory is keyhold's alone: 0700, every file under it 0600 and every directory 0700,
 * whatever existed before (issue 19). --allow-open-data-dir leaves an open directory open, with a
 * warning, and still makes every file 0600.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { CreateKeyCommand, EncryptCommand } from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { startTestServer, tempDir } from "./helpers.js";
import { s3Client } from "./s3.js";
import { loadConfig } from "../src/config.js";

/** Every file and directory under `root`, with its permission bits. */
function modes(root: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    out.push({ path, dir: entry.isDirectory(), mode: statSync(path).mode & 0o777 });
    if (entry.isDirectory()) out.push(...modes(path));
  }
  return out;
}

function loose(root: string): string[] {
  return modes(root)
    .filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
    .map((e) => `${e.path} ${e.mode.toString(8)}`);
}

/** Starts a server on `dataDir` with TLS, makes keys, a bucket and an object, and stops it. */
async function use(dataDir: string, config: Record<string, unknown> = {}): Promise<string[]> {
  const server = await startTestServer({ dataDir, config: { tlsPort: 0, ...config } });
  try {
    const kms = server.client();
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }));
    const s3 = s3Client(server.url);
    const bucket = `modes-${Math.random().toString(36).slice(2, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "object bytes" }));
    s3.destroy();
    // While the server runs: the SQLite -wal and -shm files exist now.
    assert.ok(
      modes(dataDir).some((e) => e.path.endsWith("keyhold.db-wal")),
      "the key database's WAL is there to check",
    );
    return loose(dataDir).concat(server.logs.filter((l) => l.includes("data directory")));
  } finally {
    await server.stop();
  }
}

describe("data directory permissions", () => {
  it("a pre-created 0755 data directory is made 0700, and every file and directory under it is private", async () => {
    const parent = tempDir();
    const dataDir = join(parent, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    try {
      const found = await use(dataDir);
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      const files = found.filter((l) => !l.includes("data directory"));
      assert.deepEqual(files, []);
      assert.ok(
        found.some((l) => /data directory .* was open to other users \(mode 0755\): made 0700/.test(l)),
        "the log says the directory was tightened",
      );
      assert.ok(modes(dataDir).length >= 8, "the walk saw the databases, audit files, TLS files and the object");

      // Files left open by an older version or by hand are tightened at the next start.
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, "keyhold.db"), 0o644);
      chmodSync(join(dataDir, "master.key"), 0o644);
      const again = await use(dataDir);
      assert.deepEqual(
        again.filter((l) => !l.includes("data directory")),
        [],
      );
      assert.equal(statSync(join(dataDir, "keyhold.db")).mode & 0o777, 0o600);
      assert.equal(statSync(join(dataDir, "master.key")).mode & 0o777, 0o600);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("--allow-open-data-dir true leaves an open directory open, with a warning; its files are private all the same", async () => {
    const parent = tempDir();
    const dataDir = join(parent, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    try {
      const found = await use(dataDir, { allowOpenDataDir: true });
      assert.equal(statSync(dataDir).mode & 0o777, 0o755);
      assert.deepEqual(
        found.filter((l) => !l.includes("data directory")),
        [],
      );
      assert.ok(found.some((l) => /data directory .* is open to other users \(mode 0755\), left so by --allow-open-data-dir/.test(l)));
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("the setting is a flag and an environment variable, true or false", () => {
    assert.equal(loadConfig({}, []).allowOpenDataDir, false);
    assert.equal(loadConfig({ KEYHOLD_ALLOW_OPEN_DATA_DIR: "true" }, []).allowOpenDataDir, true);
    assert.equal(loadConfig({ KEYHOLD_ALLOW_OPEN_DATA_DIR: "true" }, ["--allow-open-data-dir", "false"]).allowOpenDataDir, false);
    assert.throws(() => loadConfig({}, ["--allow-open-data-dir", "yes"]), /true or false/);
  });
});
