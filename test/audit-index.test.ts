/**
 * The trail index (src/audit/trail-index.ts): lookups answered from it give the answers a scan of
 * every record gives, page for page, across segments and chains, whether the index covers the
 * whole trail or lags it; a writer killed with -9 leaves an index that still finds every
 * acknowledged event, and its restart indexes the rest; an index ahead of its chain (a power loss
 * took records back) is cut back; retention prunes it; and the main thread reads no trail bytes
 * for a lookup (the lookup thread does).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs, { readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPairSync } from "node:crypto";
import type Database from "better-sqlite3";
import { fieldsOfRecord, type AuditEvent, type RecordFields } from "../src/audit/record.js";
import { mergePage, type LookupKey, type LookupQuery, type StoredEvent } from "../src/audit/store.js";
import { openAuditDatabase } from "../src/audit/database.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { listSegments, segmentDir } from "../src/audit/segments.js";
import { BLOCK_EVENTS, candidateBlocks, indexedSeq } from "../src/audit/trail-index.js";
import { fingerprintOf, type AuditSigningKey } from "../src/audit/signing-key.js";
import { tempDir } from "./helpers.js";
import { trailEvent, type TrailShape } from "../bench/trail.js";

const ACCOUNTS = ["111122223333", "444455556666"];
const T0 = Date.UTC(2026, 5, 1);

const SHAPE: TrailShape = { accounts: ACCOUNTS, users: 6, keys: 40, start: T0, stepMs: 700 };

function chainPath(dataDir: string, chain: string): string {
  return join(dataDir, "audit", `chain-${chain}.db`);
}

/** Every record of every chain, as lookups read them back. */
function allRecords(dataDir: string, chains: string[]): { chain: string; fields: RecordFields; text: string }[] {
  const out: { chain: string; fields: RecordFields; text: string }[] = [];
  for (const chain of chains) {
    const db = openAuditDatabase(chainPath(dataDir, chain));
    const from = Number(
      (db.prepare("SELECT value FROM audit_meta WHERE key = 'retained_from'").get() as { value: string } | undefined)?.value ?? 1,
    );
    db.close();
    for (const { path } of listSegments(segmentDir(dataDir, chain))) {
      for (const text of readFileSync(path, "utf8").split("\n").slice(0, -1)) {
        const fields = fieldsOfRecord(text);
        if (fields.seq >= from) out.push({ chain, fields, text });
      }
    }
  }
  return out;
}

/** What LookupEvents matched before the index: the same rules, over every record. */
function wanted(e: RecordFields, q: LookupQuery): boolean {
  if (e.accountId !== q.accountId || e.region !== q.region) return false;
  if (q.startTime !== undefined && e.eventTime < Math.floor(q.startTime / 1000) * 1000) return false;
  if (q.endTime !== undefined && e.eventTime > q.endTime) return false;
  if (!q.attribute) return true;
  const { key, value } = q.attribute;
  const byKey: Record<LookupKey, () => boolean> = {
    EventId: () => e.eventId === value,
    EventName: () => e.eventName === value,
    Username: () => e.username === value,
    EventSource: () => e.eventSource === value,
    AccessKeyId: () => e.accessKeyId === value,
    ReadOnly: () => e.readOnly === (value === "true"),
    ResourceName: () => e.resources.some((r) => r.arn === value || r.type === value),
    ResourceType: () => e.resources.some((r) => r.arn === value || r.type === value),
  };
  return byKey[key]();
}

/** Pages compared per query: enough to cross several segments and blocks. */
const PAGES = 6;

/** The pages a full scan gives: per chain the newest (by sequence) limit + 1 matches below the cursor, merged. */
function referencePages(records: ReturnType<typeof allRecords>, q: LookupQuery): number[][] {
  const perChain = new Map<string, StoredEvent[]>();
  for (const { chain, fields, text } of records) {
    if (!wanted(fields, q)) continue;
    const list = perChain.get(chain) ?? [];
    list.push({ chain, ...fields, record: text });
    perChain.set(chain, list);
  }
  for (const list of perChain.values()) list.sort((a, b) => b.seq - a.seq);
  const pages: number[][] = [];
  let before: Record<string, number> | undefined;
  while (pages.length < PAGES) {
    const candidates = [...perChain.entries()].flatMap(([chain, list]) =>
      list.filter((e) => before?.[chain] === undefined || e.seq < before[chain]!).slice(0, q.limit + 1),
    );
    const page = mergePage(candidates, { ...q, before });
    pages.push(page.events.map((e) => (e.chain === "1" ? e.seq : -e.seq)));
    if (!page.cursor) break;
    before = page.cursor;
  }
  return pages;
}

async function storePages(store: SqliteAuditStore, q: LookupQuery): Promise<number[][]> {
  const pages: number[][] = [];
  let before: Record<string, number> | undefined;
  while (pages.length < PAGES) {
    const page = await store.lookup({ ...q, before });
    pages.push(page.events.map((e) => (e.chain === "1" ? e.seq : -e.seq)));
    if (!page.cursor) break;
    before = page.cursor;
  }
  return pages;
}

/** Queries over every attribute: values present (common and rare) and absent, with and without time ranges. */
function queries(records: ReturnType<typeof allRecords>, pick: () => number): LookupQuery[] {
  const sample = () => records[Math.floor(pick() * records.length) % records.length]!.fields;
  const qs: LookupQuery[] = [];
  const region = "us-east-1";
  for (const accountId of [...ACCOUNTS, "999999999999"]) {
    qs.push({ accountId, region, limit: 50 });
    qs.push({ accountId, region: "eu-west-1", limit: 50 });
  }
  for (let i = 0; i < 12; i++) {
    const e = sample();
    const accountId = e.accountId!;
    const limit = 5 + Math.floor(pick() * 46);
    const values: [LookupKey, string | undefined][] = [
      ["EventId", e.eventId],
      ["EventName", e.eventName],
      ["ReadOnly", String(e.readOnly)],
      ["ReadOnly", "no"],
      ["Username", e.username],
      ["ResourceName", e.resources[0]?.arn],
      ["ResourceType", e.resources[0]?.type],
      ["EventSource", e.eventSource],
      ["AccessKeyId", e.accessKeyId],
      ["EventName", "NoSuchOperation"],
    ];
    for (const [key, value] of values) {
      if (value === undefined) continue;
      qs.push({ accountId, region, attribute: { key, value }, limit });
    }
    const a = T0 + Math.floor(pick() * records.length * 700);
    const b = a + Math.floor(pick() * 200_000);
    qs.push({ accountId, region, startTime: a, endTime: b, limit });
    qs.push({ accountId, region, startTime: a + 123, limit });
    qs.push({ accountId, region, endTime: b, limit });
    qs.push({ accountId, region, attribute: { key: "EventName", value: e.eventName }, startTime: a, endTime: b, limit });
    qs.push({ accountId, region, attribute: { key: "Username", value: e.username ?? "root" }, endTime: a, limit });
  }
  return qs;
}

/** A repeatable stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Appends `count` events to a store in batches of 1–40, as concurrent calls arrive. */
/** Appends `count` events in batches of 1 to `largest` (as the writer groups concurrent calls). */
async function fill(store: SqliteAuditStore, from: number, count: number, pick: () => number, largest = 40): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (let n = from; n < from + count;) {
    const batch: AuditEvent[] = [];
    const size = Math.min(1 + Math.floor(pick() * largest), from + count - n);
    for (let i = 0; i < size; i++, n++) batch.push(trailEvent(SHAPE, n, pick));
    await store.append(batch);
    all.push(...batch);
  }
  return all;
}

async function assertSameAnswers(dataDir: string, chains: string[], reader: SqliteAuditStore, seed: number): Promise<number> {
  const records = allRecords(dataDir, chains);
  let checked = 0;
  for (const q of queries(records, random(seed))) {
    assert.deepEqual(await storePages(reader, q), referencePages(records, q), JSON.stringify(q));
    checked++;
  }
  return checked;
}

/** Takes the index back to its last block ending at or before `seq`, as a writer that saved no more leaves it. */
function resetIndexTo(db: Database.Database, seq: number): number {
  db.prepare("DELETE FROM audit_blocks WHERE last_seq > ?").run(seq);
  const { last } = db.prepare("SELECT max(last_seq) AS last FROM audit_blocks").get() as { last: number };
  db.prepare("UPDATE audit_meta SET value = ? WHERE key = 'indexed_seq'").run(String(last));
  return last;
}

describe("the trail index", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("answers every lookup as a scan of the whole trail does, page for page, over segments and two chains, indexed whole or lagging", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const pick = random(7);
    const one = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 64 * 1024 });
    const two = new SqliteAuditStore(dataDir, "2", "periodic", undefined, { segmentBytes: 48 * 1024 });
    await one.start(T0);
    await two.start(T0);
    // Batches up to 100 events: each still indexed in blocks of BLOCK_EVENTS records at most.
    await fill(one, 0, 1500, pick, 100);
    await fill(two, 1500, 700, pick);
    await one.close();
    await two.close();
    assert.ok(listSegments(segmentDir(dataDir, "1")).length >= 10, "many segments");

    const reader = new SqliteAuditStore(dataDir);
    try {
      const db = openAuditDatabase(chainPath(dataDir, "1"));
      assert.equal(indexedSeq(db), 1500, "a closed writer leaves its whole chain indexed");
      const blocks = (db.prepare("SELECT count(*) AS n FROM audit_blocks").get() as { n: number }).n;
      assert.ok(blocks > 10 && blocks < 1500, `${blocks} blocks`);
      const largest = (db.prepare("SELECT max(last_seq - first_seq + 1) AS n FROM audit_blocks").get() as { n: number }).n;
      assert.equal(largest, BLOCK_EVENTS, "no block holds more than BLOCK_EVENTS records, whatever the batch");
      const whole = await assertSameAnswers(dataDir, ["1", "2"], reader, 11);
      assert.ok(whole > 150, `${whole} queries`);

      // An index that lags the chain (a writer killed before it saved its last blocks): the records after it are scanned.
      assert.ok(resetIndexTo(db, 1100) < 1500);
      db.close();
      await assertSameAnswers(dataDir, ["1", "2"], reader, 12);
    } finally {
      await reader.close();
    }
  });

  it("a writer killed with -9 mid-write leaves every acknowledged event findable, and its restart indexes the rest", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const storeUrl = new URL("../src/audit/sqlite-store.js", import.meta.url).href;
    const trailUrl = new URL("../bench/trail.js", import.meta.url).href;
    // Appends batches without pause and prints each acknowledged batch's event ids.
    const script = `
      import { SqliteAuditStore } from ${JSON.stringify(storeUrl)};
      import { trailEvent } from ${JSON.stringify(trailUrl)};
      const store = new SqliteAuditStore(${JSON.stringify(dataDir)}, "1", process.argv[1], undefined, { segmentBytes: 256 * 1024 });
      await store.start(${T0});
      const shape = ${JSON.stringify(SHAPE)};
      let s = 5;
      const pick = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
      for (let n = 0; ; ) {
        const batch = [];
        for (let i = 0; i < 16; i++, n++) batch.push(trailEvent(shape, n, pick));
        const p = store.append(batch);
        await p;
        process.stdout.write(batch.map((e) => e.eventId).join("\\n") + "\\n");
      }`;
    for (const sync of ["commit", "periodic"]) {
      rmSync(join(dataDir, "audit"), { recursive: true, force: true });
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, sync], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      // Killed once several index saves (every 100 ms) have happened and more records are arriving.
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (out.split("\n").length > 2000) {
            clearInterval(check);
            child.kill("SIGKILL");
            resolve();
          }
        }, 5);
      });
      await new Promise((r) => child.once("exit", r));
      const acknowledged = out.split("\n").slice(0, -1);
      assert.ok(acknowledged.length >= 2000);

      const db = openAuditDatabase(chainPath(dataDir, "1"));
      const indexed = indexedSeq(db);
      db.close();
      const reader = new SqliteAuditStore(dataDir);
      try {
        // Before any restart, the index as the kill left it, and the records after it.
        for (const id of acknowledged.filter((_, i) => i % 100 === 0 || i > acknowledged.length - 100)) {
          const { events } = await reader.lookup({
            accountId: ACCOUNTS[0]!,
            region: "us-east-1",
            attribute: { key: "EventId", value: id },
            limit: 5,
          });
          const { events: other } = await reader.lookup({
            accountId: ACCOUNTS[1]!,
            region: "us-east-1",
            attribute: { key: "EventId", value: id },
            limit: 5,
          });
          assert.equal(events.length + other.length, 1, `${sync}: ${id} found once (index at ${indexed})`);
        }
        await assertSameAnswers(dataDir, ["1"], reader, 21);
      } finally {
        await reader.close();
      }
      // The restarted writer brings the index to the chain's head.
      const writer = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 256 * 1024 });
      await writer.start(T0);
      const head = allRecords(dataDir, ["1"]).length;
      const after = openAuditDatabase(chainPath(dataDir, "1"));
      assert.equal(indexedSeq(after), head, `${sync}: indexed to the head after the restart`);
      after.close();
      await writer.close();
      const again = new SqliteAuditStore(dataDir);
      try {
        await assertSameAnswers(dataDir, ["1"], again, 22);
      } finally {
        await again.close();
      }
    }
  });

  it("an index ahead of its chain (records a power loss took back) is cut back when the writer starts, and new records are found in their place", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const pick = random(3);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 1 << 20 });
    await store.start(T0);
    const first = await fill(store, 0, 600, pick);
    await store.close();
    // The power loss: the last records never reached the disk, the index's save did.
    const [segment] = listSegments(segmentDir(dataDir, "1"));
    const text = readFileSync(segment!.path, "utf8");
    const keep = text.split("\n").slice(0, 450).join("\n") + "\n";
    truncateSync(segment!.path, Buffer.byteLength(keep));
    assert.equal(statSync(segment!.path).size, Buffer.byteLength(keep));

    const again = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 1 << 20 });
    await again.start(T0);
    const db = openAuditDatabase(chainPath(dataDir, "1"));
    assert.equal(indexedSeq(db), 450);
    db.close();
    const later = await fill(again, 10_000, 100, pick);
    await again.close();
    const reader = new SqliteAuditStore(dataDir);
    try {
      for (const e of first.slice(450)) {
        const { events } = await reader.lookup({
          accountId: e.accountId!,
          region: "us-east-1",
          attribute: { key: "EventId", value: e.eventId },
          limit: 5,
        });
        assert.deepEqual(events, [], "a record the power loss took is not found");
      }
      for (const e of later) {
        const { events } = await reader.lookup({
          accountId: e.accountId!,
          region: "us-east-1",
          attribute: { key: "EventId", value: e.eventId },
          limit: 5,
        });
        assert.equal(events.length, 1);
      }
      await assertSameAnswers(dataDir, ["1"], reader, 31);
    } finally {
      await reader.close();
    }
  });

  it("retention prunes the index with the records: no block or posting below the retained start, and lookups answer as before", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const pick = random(9);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 32 * 1024 });
    await store.start(T0);
    try {
      await fill(store, 0, 800, pick);
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }) as string;
      const key: AuditSigningKey = { privateKey, publicKeyPem, fingerprint: fingerprintOf(publicKeyPem) };
      assert.equal(await store.digest(key, T0 + 800 * 700), 1);
      await fill(store, 800, 400, pick);
      await store.close();
      const writer = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 32 * 1024 });
      await writer.start(T0);
      assert.equal(await writer.prune(T0 + 800 * 700 + 1), 800);
      await writer.close();

      const db = openAuditDatabase(chainPath(dataDir, "1"));
      const low = db.prepare("SELECT min(last_seq) AS last, min(segment) AS segment FROM audit_blocks").get() as {
        last: number;
        segment: number;
      };
      assert.ok(low.last >= 801, `oldest block ends at ${low.last}`);
      const gone = db.prepare("SELECT count(*) AS n FROM audit_postings WHERE segment < ?").get(low.segment) as { n: number };
      assert.equal(gone.n, 0, "no posting of a segment before the oldest block's");
      const kept = db.prepare("SELECT count(*) AS n FROM audit_postings WHERE segment >= ?").get(low.segment) as { n: number };
      assert.ok(kept.n > 0);
      assert.ok(low.segment > 1, "whole segments were pruned");
      db.close();
      const reader = new SqliteAuditStore(dataDir);
      try {
        const records = allRecords(dataDir, ["1"]);
        assert.ok(records.every((r) => r.fields.seq >= 801));
        await assertSameAnswers(dataDir, ["1"], reader, 41);
      } finally {
        await reader.close();
      }
    } finally {
      await store.close();
    }
  });

  it("a record is found by the second its record shows: an EndTime inside that second, before the call's own millisecond, finds it", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(T0);
    const shape = { ...SHAPE, accounts: [ACCOUNTS[0]!], start: T0 + 750, stepMs: 1000 };
    const events = Array.from({ length: 10 }, (_, n) => trailEvent(shape, n, () => 0));
    assert.ok(
      events.every((e) => e.eventTime % 1000 >= 1),
      "calls begin after the start of their second",
    );
    await store.append(events);
    await store.close();
    const reader = new SqliteAuditStore(dataDir);
    try {
      const first = events[0]!;
      const second = Math.floor(first.eventTime / 1000) * 1000;
      const { events: found } = await reader.lookup({
        accountId: ACCOUNTS[0]!,
        region: "us-east-1",
        startTime: second,
        endTime: second,
        limit: 50,
      });
      assert.deepEqual(
        found.map((e) => e.eventId),
        [first.eventId],
      );
    } finally {
      await reader.close();
    }
  });

  it("the main thread reads no byte of the trail for a lookup: the lookup thread does", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 64 * 1024 });
    await store.start(T0);
    try {
      await fill(store, 0, 500, random(4));
      const segments = fileURLToPath(new URL(`file://${segmentDir(dataDir, "1")}/`));
      let reads = 0;
      const original = fs.readSync;
      const openSync = fs.openSync;
      const trailFds = new Set<number>();
      // Every read of a file under the chain's segment directory, on this thread.
      fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
        const fd = (openSync as (...a: unknown[]) => number)(path, ...rest);
        if (String(path).startsWith(segments)) trailFds.add(fd);
        return fd;
      }) as typeof fs.openSync;
      fs.readSync = ((fd: number, ...rest: unknown[]) => {
        if (trailFds.has(fd)) reads++;
        return (original as (...a: unknown[]) => number)(fd, ...rest);
      }) as typeof fs.readSync;
      syncBuiltinESMExports();
      try {
        // The probe sees this thread's reads: records() reads the segments here.
        for await (const _ of store.records("1")) break;
        assert.ok(reads > 0, "the probe counts reads of the trail on this thread");
        reads = 0;
        const all = await store.lookup({ accountId: ACCOUNTS[0]!, region: "us-east-1", limit: 50 });
        const named = await store.lookup({
          accountId: ACCOUNTS[0]!,
          region: "us-east-1",
          attribute: { key: "EventName", value: "Decrypt" },
          limit: 50,
        });
        assert.equal(all.events.length, 50);
        assert.ok(named.events.length > 0);
        assert.equal(reads, 0, "no trail read on the main thread during lookups");
      } finally {
        fs.readSync = original;
        fs.openSync = openSync;
        syncBuiltinESMExports();
      }
    } finally {
      await store.close();
    }
  });

  it("keys are within an account and region: a lookup reads only blocks where its own account has the value; an index of the earlier format is rebuilt when the writer starts", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const pick = random(23);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 64 * 1024 });
    await store.start(T0);
    await fill(store, 0, 1200, pick);
    await store.close();
    const dir = segmentDir(dataDir, "1");
    const records = allRecords(dataDir, ["1"]);
    const bySeq = new Map(records.map((r) => [r.fields.seq, r.fields]));
    /** For every candidate block of `q`, whether one of its records is one `q` wants. */
    const blocksWanted = (db: Database.Database, q: LookupQuery): boolean[] => {
      const bounds = { below: Infinity, from: 1, indexed: indexedSeq(db), longestCallMs: 15 * 60_000 };
      const out: boolean[] = [];
      for (const slice of candidateBlocks(dir, db, q, bounds)) {
        for (const b of slice) {
          let any = false;
          for (let seq = b.first_seq; seq <= b.last_seq; seq++) any ||= wanted(bySeq.get(seq)!, q);
          out.push(any);
        }
      }
      return out;
    };
    // Values both accounts have (EventName, Username, EventSource, ReadOnly) asked for in each:
    // with keys shared by the accounts, a block where only the other account has the value was read.
    /** How many blocks the lookups below read; throws if one reads a block that holds none it wants. */
    const onlyBlocksWanted = (db: Database.Database): number => {
      let blocks = 0;
      for (const accountId of ACCOUNTS) {
        for (const attribute of [
          { key: "EventName", value: "Sign" },
          { key: "EventName", value: "CreateKey" },
          { key: "Username", value: "app-2" },
          { key: "EventSource", value: "s3.amazonaws.com" },
          { key: "ReadOnly", value: "false" },
        ] as const) {
          const q: LookupQuery = { accountId, region: "us-east-1", attribute, limit: 50 };
          const found = blocksWanted(db, q);
          assert.ok(found.length > 0, JSON.stringify(q));
          assert.ok(
            found.every(Boolean),
            `${JSON.stringify(q)}: ${found.filter((x) => !x).length} of ${found.length} blocks hold none it wants`,
          );
          blocks += found.length;
        }
        assert.deepEqual(blocksWanted(db, { accountId, region: "eu-west-1", limit: 50 }), [], "no block of another region");
      }
      return blocks;
    };
    const db = openAuditDatabase(chainPath(dataDir, "1"));
    assert.ok(onlyBlocksWanted(db) > 100);

    // The index as migration 3 left it (keys without the account): migration 4 empties it and
    // the writer rebuilds it from the segments when it starts.
    db.prepare("DELETE FROM schema_migrations WHERE id = 4").run();
    db.prepare("INSERT INTO audit_postings (segment, key, block) VALUES (1, 12345, 1)").run();
    db.close();
    const restarted = new SqliteAuditStore(dataDir, "1", "commit");
    await restarted.start(T0);
    await restarted.close();
    const after = openAuditDatabase(chainPath(dataDir, "1"));
    try {
      assert.equal(indexedSeq(after), 1200, "the whole chain indexed again");
      assert.equal((after.prepare("SELECT count(*) AS n FROM audit_postings WHERE key = 12345").get() as { n: number }).n, 0);
      assert.ok(onlyBlocksWanted(after) > 100);
    } finally {
      after.close();
    }
    const reader = new SqliteAuditStore(dataDir);
    try {
      await assertSameAnswers(dataDir, ["1"], reader, 29);
    } finally {
      await reader.close();
    }
  });

  it("the lookup thread runs at a lower CPU priority than the event loop (Linux: its own nice value)", async (t) => {
    if (process.platform !== "linux") return t.skip("a thread's own nice value is Linux's");
    const dataDir = tempDir();
    dirs.push(dataDir);
    const store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(T0);
    const niceOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      // Fields after the command's closing parenthesis: state is field 3, nice field 19.
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    };
    const threads = () => new Map(fs.readdirSync("/proc/self/task").map((tid) => [tid, niceOf(tid)]));
    try {
      await fill(store, 0, 50, random(5));
      const before = threads();
      await store.lookup({ accountId: ACCOUNTS[0]!, region: "us-east-1", limit: 5 });
      const started = [...threads()].filter(([tid]) => !before.has(tid));
      // The event loop's own (0, or what the test runner was started at).
      const loop = niceOf(String(process.pid));
      assert.ok(started.length > 0, "the first lookup starts the lookup thread");
      assert.ok(
        started.some(([, nice]) => nice === Math.max(10, loop)),
        `a new thread at nice 10 beside an event loop at ${loop}: ${JSON.stringify(started)}`,
      );
    } finally {
      await store.close();
    }
  });
});
