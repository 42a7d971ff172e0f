/**
 * GetKeyLastUsage on a SQLite trail: a key's last use is found through the trail index (no table
 * row is written per key as calls go), among many keys and after later calls that are not uses;
 * retention folds the uses it removes into the table first; the table of a trail from before the
 * index held uses keeps what it had.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { CompletedCall } from "../src/call.js";
import { buildEvents, type AuditEvent } from "../src/audit/record.js";
import { openAuditDatabase } from "../src/audit/database.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { ChainLogWriter } from "../src/audit/log-writer.js";
import { foldKeyUses, keyLastUse, keyUsesFolded, prunableTo, pruneBefore, runToEnd } from "../src/audit/queries.js";
import { keyUseKey } from "../src/audit/trail-index.js";
import { listSegments, segmentDir } from "../src/audit/segments.js";
import { fingerprintOf, type AuditSigningKey } from "../src/audit/signing-key.js";
import { tempDir } from "./helpers.js";

const A = "111122223333";
const arn = (i: number) => `arn:aws:kms:us-east-1:${A}:key/00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
const root = {
  accountId: A,
  accessKeyId: "AKIAROOTROOTROOT0001",
  principal: { type: "Root" as const, accountId: A, arn: `arn:aws:iam::${A}:root`, principalId: A },
};

/** A KMS call on key `i`, as a chain writer receives its event. */
function event(i: number, requestId: string, time: number, over: Partial<CompletedCall> = {}): AuditEvent {
  return buildEvents({
    requestId,
    time,
    service: "kms",
    operation: "Encrypt",
    readOnly: true,
    region: "us-east-1",
    sourceIp: "192.0.2.1",
    userAgent: "test",
    caller: root,
    trail: { resources: [{ arn: arn(i), type: "AWS::KMS::Key" }], input: { keyId: arn(i) } },
    ...over,
  })[0]!;
}

function signingKey(): AuditSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }) as string;
  return { privateKey, publicKeyPem, fingerprint: fingerprintOf(publicKeyPem) };
}

function tableRows(dataDir: string): { arn: string; seq: number; request_id: string }[] {
  const db = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
  try {
    return db.prepare("SELECT arn, seq, request_id FROM audit_key_last_use ORDER BY arn").all() as {
      arn: string;
      seq: number;
      request_id: string;
    }[];
  } finally {
    db.close();
  }
}

describe("GetKeyLastUsage on a SQLite trail", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("finds each key's last use through the index, past later calls that are not uses, with no row written per key", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    let store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 64 * 1024 });
    await store.start(t0);
    try {
      // 300 keys used once each, in batches as concurrent calls are written.
      for (let i = 0; i < 300; i += 10) {
        await store.append(Array.from({ length: 10 }, (_, j) => event(i + j, `use-${i + j}`, t0 + (i + j) * 1000)));
      }
      // Then key 0 described 200 times, and a Decrypt with key 1 that failed: neither is a use.
      for (let n = 0; n < 200; n += 20) {
        await store.append(
          Array.from({ length: 20 }, (_, j) => event(0, `describe-${n + j}`, t0 + 400_000 + n + j, { operation: "DescribeKey" })),
        );
      }
      await store.append([
        event(1, "failed", t0 + 500_000, { operation: "Decrypt", error: { code: "InvalidCiphertextException", message: "no" } }),
      ]);
    } finally {
      await store.close();
    }
    assert.ok(listSegments(segmentDir(dataDir, "1")).length >= 3, "the uses span several segments");
    assert.deepEqual(tableRows(dataDir), [], "no key's use went to the table");

    // Started again, the index covers every record: the answers come from its postings.
    store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 64 * 1024 });
    await store.start(t0 + 600_000);
    try {
      for (const i of [0, 1, 2, 150, 299]) assert.equal((await store.lastUse(arn(i)))?.requestId, `use-${i}`, `key ${i}`);
      const last = await store.lastUse(arn(7));
      assert.equal(last?.eventName, "Encrypt");
      assert.equal(last?.eventTime, t0 + 7000);
      assert.equal(await store.lastUse(arn(300)), undefined, "a key never used");
      // A use the index has not seen yet (written less than 100 ms ago) is found in the records after it.
      await store.append([event(150, "use-again", t0 + 700_000, { operation: "GenerateDataKey" })]);
      const again = await store.lastUse(arn(150));
      assert.deepEqual([again?.requestId, again?.eventName], ["use-again", "GenerateDataKey"]);
    } finally {
      await store.close();
    }
  });

  it("retention first folds the uses it removes into the table: a key used only before the retained start keeps its last use", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 8 * 1024 });
    await store.start(t0);
    try {
      const key = signingKey();
      // Old: keys 1 and 2 used (key 1 twice), then key 3 described only.
      await store.append([event(1, "old-1a", t0 + 1000), event(2, "old-2", t0 + 2000)]);
      await store.append([event(1, "old-1b", t0 + 3000), event(3, "old-3", t0 + 4000, { operation: "DescribeKey" })]);
      for (let n = 0; n < 40; n++) await store.append([event(4, `old-4-${n}`, t0 + 5000 + n)]);
      assert.equal(await store.digest(key, t0 + 100_000), 1);
      // New: key 2 used again, key 5 used.
      await store.append([event(2, "new-2", t0 + 200_000), event(5, "new-5", t0 + 201_000)]);
      assert.equal(await store.digest(key, t0 + 300_000), 1);

      assert.equal(await store.prune(t0 + 150_000), 44);
      assert.deepEqual(
        (await store.lookup({ accountId: A, region: "us-east-1", limit: 50 })).events.map((e) => e.requestId),
        ["new-5", "new-2"],
        "the old records are gone from the trail",
      );
      assert.equal((await store.lastUse(arn(1)))?.requestId, "old-1b", "kept in the table");
      assert.equal((await store.lastUse(arn(4)))?.requestId, "old-4-39");
      assert.equal((await store.lastUse(arn(2)))?.requestId, "new-2", "a retained use is later than the table's");
      assert.equal((await store.lastUse(arn(5)))?.requestId, "new-5");
      assert.equal(await store.lastUse(arn(3)), undefined, "described, never used");
      assert.deepEqual(
        tableRows(dataDir).map((r) => [r.arn, r.seq, r.request_id]),
        [
          [arn(1), 3, "old-1b"],
          [arn(2), 2, "old-2"],
          [arn(4), 44, "old-4-39"],
        ],
        "only the removed records' uses, the last of each key",
      );
      const db = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
      assert.equal(keyUsesFolded(db), 44);
      db.close();
      // Pruning again with nothing more to remove changes nothing.
      assert.equal(await store.prune(t0 + 150_000), 0);
      assert.equal((await store.lastUse(arn(1)))?.requestId, "old-1b");
    } finally {
      await store.close();
    }
  });

  it("a fold of more keys than it holds at once writes them in several passes, each key's last use once", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    const store = new SqliteAuditStore(dataDir, "1", "periodic");
    await store.start(t0);
    try {
      const key = signingKey();
      const keys = 12_345;
      for (let i = 0; i < keys; i += 500) {
        await store.append(Array.from({ length: Math.min(500, keys - i) }, (_, j) => event(i + j, `old-${i + j}`, t0 + 1000)));
      }
      await store.append([event(7, "old-7-again", t0 + 2000)]);
      assert.equal(await store.digest(key, t0 + 100_000), 1);
      await store.append([event(keys, "new", t0 + 200_000)]);
      assert.equal(await store.digest(key, t0 + 300_000), 1);
      assert.equal(await store.prune(t0 + 150_000), keys + 1);
      const rows = tableRows(dataDir);
      assert.equal(rows.length, keys);
      assert.equal(new Set(rows.map((r) => r.arn)).size, keys);
      assert.equal(rows.find((r) => r.arn === arn(7))?.request_id, "old-7-again");
      for (const i of [0, 9_999, 10_000, keys - 1]) assert.equal((await store.lastUse(arn(i)))?.requestId, `old-${i}`);
      assert.equal((await store.lastUse(arn(keys)))?.requestId, "new");
    } finally {
      await store.close();
    }
  });

  it("a trail whose writer kept every key's use in the table keeps them; a use a power loss took back leaves the table", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    let store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(t0);
    try {
      await store.append([event(1, "indexed-1", t0 + 1000), event(2, "indexed-2", t0 + 2000)]);
    } finally {
      await store.close();
    }
    // As an earlier keyhold left it: every key's last use in the table up to persisted_seq (here
    // key 8, used in a record retention has removed since), no key_uses_folded; and one row from
    // a record past the chain's end (seq 9: the records a power loss took back).
    const db = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
    db.exec("DELETE FROM audit_meta WHERE key = 'key_uses_folded'");
    db.prepare("INSERT INTO audit_meta (key, value) VALUES ('persisted_seq', '2') ON CONFLICT (key) DO UPDATE SET value = '2'").run();
    const row = db.prepare(
      "INSERT INTO audit_key_last_use (arn, seq, event_id, event_name, event_time, request_id) VALUES (?, ?, ?, ?, ?, ?)",
    );
    row.run(arn(8), 1, "e-8", "Sign", t0 - 1000, "before-8");
    db.close();
    store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(t0 + 10_000);
    try {
      assert.equal((await store.lastUse(arn(8)))?.requestId, "before-8", "the table's own use");
      assert.equal((await store.lastUse(arn(1)))?.requestId, "indexed-1");
      // Calls go on: persisted_seq moves with the access keys' uses, the table's end stays.
      await store.append([event(3, "later-3", t0 + 20_000)]);
      await new Promise((r) => setTimeout(r, 250));
      const check = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
      assert.equal(keyUsesFolded(check), 2);
      assert.equal((check.prepare("SELECT value FROM audit_meta WHERE key = 'persisted_seq'").get() as { value: string }).value, "3");
      // Now a table ahead of the chain: its end past the head, a row from a record the chain no longer holds.
      check.prepare("UPDATE audit_meta SET value = '9' WHERE key = 'key_uses_folded'").run();
      check
        .prepare("INSERT INTO audit_key_last_use (arn, seq, event_id, event_name, event_time, request_id) VALUES (?, ?, ?, ?, ?, ?)")
        .run(arn(9), 9, "e-9", "Encrypt", t0 + 30_000, "lost-9");
      check.close();
    } finally {
      await store.close();
    }
    store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(t0 + 40_000);
    try {
      assert.equal(await store.lastUse(arn(9)), undefined, "the lost record's use is gone");
      assert.equal((await store.lastUse(arn(8)))?.requestId, "before-8");
      assert.equal((await store.lastUse(arn(3)))?.requestId, "later-3");
      // The table was made again from the retained records: their uses, and key 8's from before.
      assert.deepEqual(
        tableRows(dataDir).map((r) => r.arn),
        [arn(1), arn(2), arn(3), arn(8)],
      );
    } finally {
      await store.close();
    }
  });

  it("retention finishing while GetKeyLastUsage reads still gives the key's use: the table is read again when the index has none", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 8 * 1024 });
    await store.start(t0);
    const key = signingKey();
    await store.append([event(1, "old-1", t0 + 1000)]);
    for (let n = 0; n < 40; n++) await store.append([event(4, `old-4-${n}`, t0 + 5000 + n)]);
    await store.digest(key, t0 + 100_000);
    await store.append([event(5, "new-5", t0 + 200_000)]);
    await store.digest(key, t0 + 300_000);
    await store.close();
    const dir = segmentDir(dataDir, "1");
    const path = join(dataDir, "audit", "chain-1.db");
    const pruner = openAuditDatabase(path);
    const reader = openAuditDatabase(path);
    try {
      // Retention runs to its end (fold, then the records go) after the reader has read the table
      // and before it asks the index: as it may while a reader's search goes over many segments.
      let pruned = 0;
      const prepare = reader.prepare.bind(reader);
      const racing = Object.assign(Object.create(reader) as typeof reader, {
        prepare: (sql: string) => {
          if (pruned === 0 && sql.includes("FROM audit_postings")) {
            runToEnd(foldKeyUses(dir, pruner, prunableTo(pruner, t0 + 150_000)));
            pruned = pruneBefore(pruner, dir, t0 + 150_000);
          }
          return prepare(sql);
        },
      });
      assert.equal(keyLastUse(dir, racing, arn(1))?.requestId, "old-1");
      assert.equal(pruned, 41, "the records went while it read");
    } finally {
      pruner.close();
      reader.close();
    }
  });

  it("a trail from before whose index went past its saved uses (a crash between the two) gets those uses in the table", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    let store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(t0);
    await store.append([event(1, "use-1", t0 + 1000)]);
    await store.append([event(2, "use-2", t0 + 2000)]);
    await store.close();
    // As the earlier version could leave it: records 1-2 indexed without postings of their uses,
    // the table saved up to 1 only.
    const db = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
    for (const i of [1, 2]) db.prepare("DELETE FROM audit_postings WHERE key = ?").run(keyUseKey(arn(i)));
    db.exec("DELETE FROM audit_meta WHERE key = 'key_uses_folded'");
    db.prepare("UPDATE audit_meta SET value = '1' WHERE key = 'persisted_seq'").run();
    db.prepare(
      "INSERT INTO audit_key_last_use (arn, seq, event_id, event_name, event_time, request_id) VALUES (?, 1, 'e1', 'Encrypt', ?, 'use-1')",
    ).run(arn(1), t0 + 1000);
    db.close();
    store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(t0 + 10_000);
    try {
      assert.equal((await store.lastUse(arn(1)))?.requestId, "use-1");
      assert.equal((await store.lastUse(arn(2)))?.requestId, "use-2");
    } finally {
      await store.close();
    }
  });

  it("a writer starts while another connection holds the chain's write lock (retention at work): a normal start writes nothing of its own", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    const store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(t0);
    await store.append([event(1, "r1", t0 + 1000)]);
    await store.close();
    // The writer's own connection, as the store opens it: it never waits for a lock.
    const db = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
    db.pragma("busy_timeout = 0");
    const other = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
    other.exec("BEGIN IMMEDIATE");
    const writer = new ChainLogWriter({ dir: segmentDir(dataDir, "1"), chain: "1", db, sync: "commit" });
    try {
      writer.start();
      await writer.append([event(1, "r2", t0 + 2000)]); // and it takes calls
    } finally {
      other.exec("ROLLBACK");
      other.close();
      await writer.close();
      db.close();
    }
  });

  it("two retention passes asked at once are one: the second joins the first", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const t0 = Date.UTC(2026, 0, 1);
    const store = new SqliteAuditStore(dataDir, "1", "periodic");
    await store.start(t0);
    try {
      const key = signingKey();
      for (let i = 0; i < 20_000; i += 500) {
        await store.append(Array.from({ length: 500 }, (_, j) => event((i + j) % 3, `r${i + j}`, t0 + 1000)));
      }
      await store.digest(key, t0 + 100_000);
      await store.append([event(9, "new", t0 + 200_000)]);
      await store.digest(key, t0 + 300_000);
      assert.deepEqual(await Promise.all([store.prune(t0 + 150_000), store.prune(t0 + 150_000)]), [20_000, 20_000]);
      assert.equal(await store.prune(t0 + 150_000), 0);
      assert.equal((await store.lastUse(arn(2)))?.requestId, "r19997");
    } finally {
      await store.close();
    }
  });
});
