/**
 * What an acknowledged write means: after kill -9 it is there. And what must never be written:
 * no data key and no key material in plaintext, anywhere in the data directory or the log.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, closeSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hash } from "node:crypto";
import { join } from "node:path";
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
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { ChainLogWriter } from "../src/audit/log-writer.js";
import { keyLastUse } from "../src/audit/queries.js";
import { indexedSeq } from "../src/audit/trail-index.js";
import { listSegments } from "../src/audit/segments.js";
import type { AuditEvent } from "../src/audit/record.js";
import { exportTrail, PUBLIC_KEY_FILE } from "../src/audit/export.js";
import { verifyExport } from "../src/audit/verify.js";

function client(url: string): KMSClient {
  return kmsClient(url);
}

const KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** A minimal event for a chain writer, numbered `n`: an Encrypt with KEY_ARN (so a use of it). */
function auditEvent(n: number): AuditEvent {
  const time = Date.now();
  return {
    eventId: `e${n}`,
    eventTime: time,
    accountId: "111122223333",
    eventSource: "kms.amazonaws.com",
    eventName: "Encrypt",
    readOnly: true,
    requestId: `r${n}`,
    resources: [{ arn: KEY_ARN, type: "AWS::KMS::Key" }],
    usesKeys: true,
    recordPrefix:
      `{"eventVersion":"1.11","userIdentity":{"accountId":"111122223333"},"eventTime":"${new Date(time).toISOString()}",` +
      `"eventSource":"kms.amazonaws.com","eventName":"Encrypt","requestID":"r${n}","eventID":"e${n}","readOnly":true,` +
      `"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"${KEY_ARN}"}],"recipientAccountId":"111122223333","additionalEventData":{`,
  };
}

/** The request ids of every record in a data directory's trail. */
async function recordedRequestIds(dataDir: string): Promise<Set<string>> {
  const store = new SqliteAuditStore(dataDir);
  const ids = new Set<string>();
  try {
    for (const chain of await store.chains()) {
      for await (const { record } of store.records(chain)) ids.add((JSON.parse(record) as { requestID: string }).requestID);
    }
  } finally {
    await store.close();
  }
  return ids;
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
      // Counted in acknowledged calls, not in time: a loaded machine must not fail the test.
      const until = Date.now() + 15_000;
      while (acknowledged.length <= 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await server.kill("SIGKILL");
      stop = true;
      await Promise.all(callers);
      kms.destroy();
      assert.ok(acknowledged.length > 50, `enough load: ${acknowledged.length} calls`);

      const recorded = await recordedRequestIds(dataDir);
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
      const report = await verifyExport(out, readFileSync(join(out, PUBLIC_KEY_FILE), "utf8"));
      assert.deepEqual(report.problems, []);
      assert.equal(report.events, recorded.size);
    });
  }

  /** A writer of chain 1 in `dir`, started. */
  function startWriter(
    dir: string,
    sync: "commit" | "periodic",
    errors: string[] = [],
  ): { writer: ChainLogWriter; db: ReturnType<typeof openAuditDatabase> } {
    const db = openAuditDatabase(join(dir, "chain-1.db"));
    const writer = new ChainLogWriter({
      dir: join(dir, "chain-1"),
      chain: "1",
      db,
      sync,
      log: { info() {}, error: (m) => errors.push(m) },
    });
    writer.start();
    return { writer, db };
  }

  it("with --audit-sync periodic, appends are fdatasynced and indexed (their key uses with them) within moments, with no further append", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { writer, db } = startWriter(dir, "periodic");
    const internals = writer as unknown as { syncedSeq: number; persistedSeq: number };
    await writer.append([auditEvent(1), auditEvent(2)]);
    assert.equal(internals.syncedSeq, 0, "answered before the disk");
    for (let waited = 0; internals.persistedSeq < 2 && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.equal(internals.syncedSeq, 2, "fdatasynced by the writer's timer");
    assert.equal(indexedSeq(db), 2, "indexed by the writer's timer");
    // Read through the index's posting of the key's uses: nothing after the index is left to scan.
    assert.equal(keyLastUse(join(dir, "chain-1"), db, KEY_ARN)?.requestId, "r2");
    await writer.close();
    db.close();
  });

  it("with --audit-sync commit, an append is answered once an fdatasync after its write has ended", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { writer, db } = startWriter(dir, "commit");
    const internals = writer as unknown as { syncedSeq: number };
    const appends = [writer.append([auditEvent(1)]), writer.append([auditEvent(2), auditEvent(3)])];
    assert.equal(internals.syncedSeq, 0);
    await appends[0];
    assert.ok(internals.syncedSeq >= 1);
    await appends[1];
    assert.equal(internals.syncedSeq, 3);
    await writer.close();
    db.close();
  });

  for (const sync of ["commit", "periodic"] as const) {
    it(`a write that fails is said in the log, and every later append fails at once (--audit-sync ${sync})`, async () => {
      const dir = tempDir();
      dirs.push(dir);
      const errors: string[] = [];
      const { writer, db } = startWriter(dir, sync, errors);
      await writer.append([auditEvent(1)]);
      closeSync((writer as unknown as { fd: number }).fd); // the segment's file is gone from under the writer
      await assert.rejects(writer.append([auditEvent(2)]), /audit write failed/);
      await assert.rejects(writer.append([auditEvent(3)]), /audit write failed/);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /chain 1 can take no more records .*every call fails until a restart/);
      (writer as unknown as { fd: number }).fd = -1;
      await writer.close();
      db.close();
    });
  }

  const damages: { name: string; damage: (path: string) => void; kept: string[] }[] = [
    { name: "half a record", damage: (path) => appendFileSync(path, '{"eventVersion":"1.11","userIdentity":{"accoun'), kept: ["r1", "r2"] },
    {
      // After a power loss, blocks written but never synced may read back as zeros, with the
      // later blocks intact: the record after them links to nothing the chain holds.
      name: "zeros, then a whole-looking record",
      damage: (path) => {
        const [, second] = readFileSync(path, "utf8").split("\n");
        appendFileSync(path, "\0".repeat(512) + second!.replace('"keyholdSequence":2', '"keyholdSequence":3') + "\n");
      },
      kept: ["r1", "r2"],
    },
    {
      name: "zeros inside the last record",
      damage: (path) => {
        const text = readFileSync(path);
        text.fill(0, text.length - 200, text.length - 100);
        writeFileSync(path, text);
      },
      kept: ["r1"],
    },
  ];
  for (const { name, damage, kept } of damages) {
    it(`records a crash left damaged (${name}) are cut at the next start, and the chain goes on whole from the last whole record`, async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      const dir = join(dataDir, "audit");
      const first = startWriter(dir, "commit");
      await first.writer.append([auditEvent(1), auditEvent(2)]);
      await first.writer.close();
      first.db.close();
      const [segment] = listSegments(join(dir, "chain-1"));
      damage(segment!.path);
      const second = startWriter(dir, "commit");
      await second.writer.append([auditEvent(3)]);
      await second.writer.close();
      second.db.close();
      const lines = readFileSync(segment!.path, "utf8").split("\n");
      assert.equal(lines.pop(), "", "each record ends its line");
      const records = lines.map(
        (l) => JSON.parse(l) as { requestID: string; additionalEventData: { keyholdSequence: number; keyholdPreviousHash: string } },
      );
      assert.deepEqual(
        records.map((r) => r.requestID),
        [...kept, "r3"],
      );
      assert.deepEqual(
        records.map((r) => r.additionalEventData.keyholdSequence),
        records.map((_, i) => i + 1),
      );
      for (let i = 1; i < lines.length; i++)
        assert.equal(records[i]!.additionalEventData.keyholdPreviousHash, hash("sha256", lines[i - 1]!, "hex"));
    });
  }

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
