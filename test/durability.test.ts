/**
 * What an acknowledged write means: after kill -9 it is there. And what must never be written:
 * no data key and no key material in plaintext, anywhere in the data directory or the log.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer } from "./process.js";
import { SqliteRepository } from "../src/store/sqlite.js";
import { SoftwareKeyStore } from "../src/keystore/software.js";
import { materialContext } from "../src/kms/service.js";
import { openAuditDatabase } from "../src/audit/database.js";
import { listChains } from "../src/audit/chains.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { openChainWriter } from "../src/audit/sqlite-writer.js";
import type { AuditEvent } from "../src/audit/record.js";
import { exportTrail, PUBLIC_KEY_FILE } from "../src/audit/export.js";
import { verifyExport } from "../src/audit/verify.js";

function client(url: string): KMSClient {
  return kmsClient(url);
}

/** A minimal event for a chain writer, numbered `n`. */
function auditEvent(n: number): AuditEvent {
  return {
    eventId: `e${n}`,
    eventTime: Date.now(),
    eventSource: "kms.amazonaws.com",
    eventName: "Encrypt",
    readOnly: false,
    requestId: `r${n}`,
    resources: [],
    usesKeys: false,
    recordPrefix: '{"eventVersion":"1.11","additionalEventData":{',
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("durability and plaintext hygiene", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("every acknowledged write survives kill -9, including writes in flight when it lands", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    let server = await spawnServer(dataDir);
    let kms = client(server.url);
    const keyId = (await kms.send(new CreateKeyCommand({ Description: "survivor" }))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: "alias/survivor", TargetKeyId: keyId }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const blob = (await kms.send(new EncryptCommand({ KeyId: "alias/survivor", Plaintext: Buffer.from("still here") }))).CiphertextBlob!;

    // A stream of CreateKey calls; kill -9 lands while some are in flight.
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          acknowledged.push((await kms.send(new CreateKeyCommand({ Description: "burst" }))).KeyMetadata!.KeyId!);
        } catch {
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await server.kill("SIGKILL");
    stop = true;
    await Promise.all(writers);
    kms.destroy();
    assert.ok(acknowledged.length > 0, "some writes were acknowledged before the kill");

    server = await spawnServer(dataDir);
    kms = client(server.url);
    try {
      const md = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/survivor" }))).KeyMetadata!;
      assert.equal(md.KeyId, keyId);
      assert.equal(md.Description, "survivor");
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), "still here");
      for (const id of acknowledged) assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.KeyId, id);
    } finally {
      kms.destroy();
      await server.kill();
    }
  });

  for (const sync of ["commit", "periodic"]) {
    it(`every acknowledged call has its audit event after kill -9 under load (--audit-sync ${sync})`, async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      const server = await spawnServer(dataDir, { KEYHOLD_AUDIT_SYNC: sync });
      const kms = client(server.url);
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const acknowledged: string[] = [];
      let stop = false;
      const callers = Array.from({ length: 16 }, async () => {
        while (!stop) {
          try {
            const out = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("audited") }));
            acknowledged.push(out.$metadata.requestId!);
          } catch {
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 500));
      await server.kill("SIGKILL");
      stop = true;
      await Promise.all(callers);
      kms.destroy();
      assert.ok(acknowledged.length > 50, `enough load: ${acknowledged.length} calls`);

      const recorded = new Set<string>();
      for (const { path } of listChains(dataDir)) {
        const db = openAuditDatabase(path);
        for (const r of db.prepare("SELECT request_id FROM audit_events").all() as { request_id: string }[]) recorded.add(r.request_id);
        db.close();
      }
      assert.ok(recorded.size > 0);
      const missing = acknowledged.filter((id) => !recorded.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged calls have no audit event`);

      // And the chain the kill interrupted is whole: every link checks out offline.
      const out = tempDir();
      dirs.push(out);
      const store = new SqliteAuditStore(dataDir);
      try {
        await exportTrail(store, out);
      } finally {
        await store.close();
      }
      const report = verifyExport(out, readFileSync(join(out, PUBLIC_KEY_FILE), "utf8"));
      assert.deepEqual(report.problems, []);
      assert.equal(report.events, recorded.size);
    });
  }

  it("with --audit-sync periodic, an event reaches the database file itself (checkpointed, so fsynced) within moments, with no further request", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const server = await spawnServer(dataDir, { KEYHOLD_AUDIT_SYNC: "periodic" });
    const kms = client(server.url);
    try {
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const requestId = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }))).$metadata.requestId!;
      // Only what was checkpointed is in the database file: a copy without its WAL holds nothing else.
      // Until the first checkpoint the copy has no tables yet, and a copy taken while a checkpoint
      // writes may be torn: both count as "not there yet".
      const inDatabaseFile = (): number => {
        const copy = join(tempDir(), "chain.db");
        dirs.push(dirname(copy));
        const [chain] = listChains(dataDir);
        copyFileSync(chain!.path, copy);
        let db: Database.Database | undefined;
        try {
          db = new Database(copy, { readonly: true });
          return (db.prepare("SELECT count(*) AS n FROM audit_events WHERE request_id = ?").get(requestId) as { n: number }).n;
        } catch (error) {
          if (String((error as { code?: string }).code).startsWith("SQLITE_")) return 0;
          throw error;
        } finally {
          db?.close();
        }
      };
      let found = inDatabaseFile();
      for (let waited = 0; found === 0 && waited < 3000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        found = inDatabaseFile();
      }
      assert.equal(found, 1, "the Encrypt's event is in the database file, not only in its WAL");
    } finally {
      kms.destroy();
      await server.kill();
    }
  });

  it("with --audit-sync periodic, a checkpoint thread that dies is said in the log, and each commit is then fsynced on the event loop", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const errors: string[] = [];
    const writer = openChainWriter(join(dir, "chain-1.db"), "1", "periodic", { info() {}, error: (m) => errors.push(m) });
    await writer.start();
    const internals = writer as unknown as { checkpointer: Worker; db: Database.Database };
    assert.equal(internals.db.pragma("synchronous", { simple: true }), 1, "NORMAL while the thread checkpoints");
    await internals.checkpointer.terminate();
    for (let waited = 0; errors.length === 0 && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /checkpoint thread of .*chain-1\.db stopped .*fsynced on the event loop/);
    assert.equal(internals.db.pragma("synchronous", { simple: true }), 2, "FULL: every commit is fsynced");
    await writer.append([auditEvent(1)]);
    assert.equal((internals.db.prepare("SELECT count(*) AS n FROM audit_events").get() as { n: number }).n, 1);
    await writer.close(); // answered, though the thread it would ask is gone
  });

  it(
    "with --audit-sync commit, a writer thread that dies fails each later append at once instead of leaving it waiting",
    { timeout: 10_000 },
    async () => {
      const dir = tempDir();
      dirs.push(dir);
      const writer = openChainWriter(join(dir, "chain-1.db"), "1", "commit");
      await writer.start();
      await writer.append([auditEvent(1)]);
      await (writer as unknown as { worker: Worker }).worker.terminate();
      await assert.rejects(writer.append([auditEvent(2)]), /the audit writer thread stopped/);
      // And every one after, long after the thread's end was noticed.
      await assert.rejects(writer.append([auditEvent(3)]), /audit write failed: the audit writer thread stopped/);
      await writer.close(); // answered, though the thread it would ask is gone
    },
  );

  it("no data key and no key material appears in plaintext in the data directory or the server's output", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const server = await spawnServer(dataDir);
    const kms = client(server.url);
    const dataKeys: Buffer[] = [];
    const keyIds: string[] = [];
    try {
      for (let k = 0; k < 3; k++) {
        const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        keyIds.push(keyId);
        await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
        for (let i = 0; i < 10; i++) {
          const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: { i: String(i) } }));
          dataKeys.push(Buffer.from(dk.Plaintext!));
          await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { i: String(i) } }));
        }
      }
    } finally {
      kms.destroy();
      await server.kill("SIGKILL"); // leave the WAL as a crash would
    }

    // The key material, recovered the only way it can be: through the key store.
    const repo = new SqliteRepository(join(dataDir, "keyhold.db"));
    const keystore = await SoftwareKeyStore.open(repo, { kind: "file", path: join(dataDir, "master.key") });
    const materials: Buffer[] = [];
    for (const keyId of keyIds) {
      for (const v of await repo.listKeyVersions(keyId))
        materials.push(keystore.unwrap(v.wrappedMaterial, materialContext(keyId, v.version)));
    }
    await repo.close();
    assert.equal(materials.length, 6);
    assert.equal(dataKeys.length, 30);

    const haystacks = [
      ...filesUnder(dataDir).map((f) => ({ name: f, bytes: readFileSync(f) })),
      { name: "server output", bytes: Buffer.from(server.output()) },
    ];
    for (const secret of [...dataKeys, ...materials]) {
      for (const form of [secret, Buffer.from(secret.toString("base64")), Buffer.from(secret.toString("hex"))]) {
        for (const h of haystacks) assert.ok(!h.bytes.includes(form), `a plaintext key was found in ${h.name}`);
      }
    }
  });
});
