/** `audit export` and `audit verify` stream: an hour's file is never one string, nor read as one. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, hash } from "node:crypto";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { GENESIS_HASH, openAuditDatabase } from "../src/audit/database.js";
import { DIGESTS_PER_PAGE, digestSpan, readDigests } from "../src/audit/digest.js";
import { exportTrail } from "../src/audit/export.js";
import { NotARecordsFile, RecordsScanner } from "../src/audit/records-reader.js";
import { chainedRecord, type AuditStore } from "../src/audit/store.js";
import { MAX_PROBLEMS, verifyExport } from "../src/audit/verify.js";
import { progressLine } from "../src/cli/progress.js";
import { garbageBound } from "../src/cli/audit.js";
import { fingerprintOf, type AuditSigningKey } from "../src/audit/signing-key.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { writeTrail } from "../bench/trail.js";
import { collect, tempDir } from "./helpers.js";

const HOUR = 3_600_000;
const START = Date.UTC(2026, 11, 7, 1, 30);

/** `n` chained records over three hours, made on the fly; `pulled` counts those handed out. */
function generatedTrail(n: number, onPull: (pulled: number) => void = () => {}): { store: AuditStore; texts: () => string[] } {
  const made: string[] = [];
  const store = {
    chains: async () => ["1"],
    digestSpan: async () => undefined,
    async *digests() {},
    publicKeyPem: async () => undefined,
    async *records(chain: string) {
      let previous: Buffer = GENESIS_HASH;
      for (let seq = 1; seq <= n; seq++) {
        const time = START + Math.floor(((seq - 1) * 3 * HOUR) / n);
        const prefix =
          `{"eventVersion":"1.08","eventTime":"${new Date(time).toISOString().slice(0, 19)}Z","eventSource":"kms.amazonaws.com",` +
          `"eventName":"Encrypt","awsRegion":"us-east-1","sourceIPAddress":"127.0.0.1","userAgent":"generated \\"quoted\\" agent",` +
          `"requestParameters":{"keyId":"arn:aws:kms:us-east-1:000000000000:key/${seq % 50}","encryptionContext":{"n":"${seq}"}},` +
          `"eventID":"event-${seq}","readOnly":true,"additionalEventData":{`;
        const text = chainedRecord(prefix, chain, seq, previous);
        previous = hash("sha256", text, "buffer") as unknown as Buffer;
        made.push(text);
        onPull(seq - 1);
        yield { time, record: text };
      }
    },
  };
  return { store: store as unknown as AuditStore, texts: () => made };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));
}

describe("streaming audit export and verify", () => {
  it('export holds at most one batch of records, writes CloudTrail\'s {"Records":[…]} byte for byte, and verify reads it back', async () => {
    const n = 20_000;
    const batch = 500;
    let written = 0;
    let mostHeld = 0;
    const { store, texts } = generatedTrail(n, (pulled) => (mostHeld = Math.max(mostHeld, pulled - written)));
    const out = tempDir("keyhold-stream-export-");
    try {
      const progress: number[] = [];
      const r = await exportTrail(store, out, {
        batchRecords: batch,
        onProgress: (done) => {
          written = done;
          progress.push(done);
        },
      });
      assert.deepEqual(r, { files: 4, events: n, digests: 0 });
      // Records pulled from the trail but not yet handed to the gzip stream: never a whole hour.
      assert.ok(mostHeld < batch, `held ${mostHeld} records`);
      assert.equal(progress.at(-1), n);
      // The files are what the one-string export wrote, and what AWS's tools read: gzipped JSON.
      const files = filesUnder(join(out, "events"));
      assert.deepEqual(
        files.map((f) => f.slice(out.length)),
        [
          "/events/chain-1/2026/12/07/keyhold_20261207T01Z.json.gz",
          "/events/chain-1/2026/12/07/keyhold_20261207T02Z.json.gz",
          "/events/chain-1/2026/12/07/keyhold_20261207T03Z.json.gz",
          "/events/chain-1/2026/12/07/keyhold_20261207T04Z.json.gz",
        ],
      );
      const all = texts();
      let at = 0;
      for (const f of files) {
        const text = gunzipSync(readFileSync(f)).toString("utf8");
        const records = (JSON.parse(text) as { Records: unknown[] }).Records;
        assert.equal(text, `{"Records":[${all.slice(at, at + records.length).join(",")}]}`);
        at += records.length;
        assert.equal(statSync(f).mode & 0o777, 0o600);
      }
      assert.equal(at, n);

      const seen: number[] = [];
      let total = 0;
      const report = await verifyExport(out, "no key needed: no digests", {
        onProgress: (events, _read, bytesTotal) => {
          seen.push(events);
          total = bytesTotal;
        },
      });
      assert.deepEqual(report.problems, []);
      assert.equal(report.events, n);
      assert.equal(report.unsignedTail, n);
      assert.ok(seen.length >= n / 1000 && seen.at(-1) === n, "progress as events are checked");
      assert.equal(
        total,
        files.reduce((s, f) => s + statSync(f).size, 0),
      );

      // A file cut short is named, as is one altered in the middle of a long file.
      const middle = files[1]!;
      const original = readFileSync(middle);
      const plain = gunzipSync(original);
      writeFileSync(middle, gzipSync(plain.subarray(0, plain.length - 1000)));
      const cut = await verifyExport(out, "");
      assert.match(cut.problems.join("\n"), /keyhold_20261207T02Z\.json\.gz is not a readable gzip of \{"Records": \[\.\.\.\]\}/);
      writeFileSync(middle, gzipSync(plain.toString("utf8").replace('"event-7500"', '"event-75OO"')));
      const altered = await verifyExport(out, "");
      assert.match(altered.problems[0]!, /event event-75OO \(sequence 7500\) was altered/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("verify names the first thousand problems of a chain and counts the rest", async () => {
    const { store } = generatedTrail(2500);
    const out = tempDir("keyhold-stream-problems-");
    try {
      await exportTrail(store, out);
      // Every record now claims another chain than its folder's.
      renameSync(join(out, "events", "chain-1"), join(out, "events", "chain-2"));
      const report = await verifyExport(out, "");
      assert.equal(report.problems.length, MAX_PROBLEMS + 1);
      assert.match(report.problems[0]!, /chain-2: event event-1 in .* does not belong to chain 2: inserted/);
      assert.equal(report.problems.at(-1), `chain-2: and ${2500 - MAX_PROBLEMS} more problems`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("the scanner takes the layout however the text is cut and spaced, and refuses anything else", () => {
    const records = [`{"a":"x}]\\"{","b":[1,{"c":2}]}`, `{}`, `{"d":"\\\\"}`];
    const layouts = [`{"Records":[${records.join(",")}]}`, ` {\n "Records" : [\n  ${records.join(" ,\n  ")}\n ]\n}\n`];
    for (const text of layouts) {
      for (const size of [1, 2, 3, 7, text.length]) {
        const scanner = new RecordsScanner();
        const out: string[] = [];
        for (let i = 0; i < text.length; i += size) scanner.push(text.slice(i, i + size), out);
        scanner.end();
        assert.deepEqual(out, records, `chunks of ${size}`);
      }
    }
    const empty = new RecordsScanner();
    const none: string[] = [];
    empty.push(`{"Records":[]}`, none);
    empty.end();
    assert.deepEqual(none, []);
    for (const bad of [
      `{"Records":[{},]}`,
      `{"Records":[{}{}]}`,
      `{"Records":[,{}]}`,
      `{"Other":[{}]}`,
      `{"Records":[1]}`,
      `{"Records":[{}]}x`,
      `{"Records":[{}]`,
      `{"Records":[{"a":"}]}`,
    ]) {
      assert.throws(
        () => {
          const s = new RecordsScanner();
          s.push(bad, []);
          s.end();
        },
        NotARecordsFile,
        bad,
      );
    }
  });

  it("progress shows on a terminal only: events, rate and time left", () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
    let t = 0;
    const quiet = progressLine("exporting", stream(false), () => t);
    t = 1000;
    quiet.update(10, 10, 100);
    quiet.finish();
    assert.deepEqual(written, []);
    t = 0;
    const line = progressLine("exporting", stream(true), () => t);
    t = 2000;
    line.update(50_000, 50_000, 200_000);
    t = 2100; // within 200 ms of the last: not redrawn
    line.update(51_000, 51_000, 200_000);
    line.finish();
    assert.equal(written.length, 2);
    assert.match(written[0]!, /exporting: 25%, 50,000 events, 25,000\/s, 6s left/);
    assert.equal(written[1], "\r\x1b[K");
  });
});

describe("a generated trail with digests (bench/trail.ts writeTrail)", () => {
  it("is signed as a server signs it: export and verify check every digest, and a tampered event or a removed digest is refused", async () => {
    const dataDir = tempDir("keyhold-trail-digests-");
    const out = tempDir("keyhold-trail-digests-out-");
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const key: AuditSigningKey = { fingerprint: fingerprintOf(publicKeyPem), publicKeyPem, privateKey };
    const store = new SqliteAuditStore(dataDir, "bench", "periodic");
    try {
      const start = Date.UTC(2026, 11, 7, 1, 30);
      await store.start(start);
      // 3,000 events a second apart: 50 minutes in two hours, a digest per minute of it (batches of 50).
      const shape = { accounts: ["000000000000", "111122223333"], users: 5, keys: 20, start, stepMs: 1000 };
      const digests = await writeTrail(store, shape, 3000, { batch: 50, digests: { key, chain: "bench" } });
      assert.ok(digests >= 49 && digests <= 51, `${digests} digests`);
      // As a running server would, the store takes more calls and signs another digest while the
      // events are exported: it covers events the export does not have, and stays out of it (the
      // digests are exported up to where they ended when the export began).
      let later: Promise<number> | undefined;
      const exported = await exportTrail(store, out, {
        batchRecords: 500,
        onProgress: () => {
          later ??= writeTrail(store, { ...shape, start: start + 3_000_000 }, 50, { batch: 50, seed: 7 }).then(() =>
            store.digest(key, start + 3_100_000, "bench"),
          );
        },
      });
      assert.equal(await later, 1, "a digest was signed during the export");
      assert.deepEqual(exported, { files: 2, events: 3000, digests });
      assert.equal((await collect(store.digests("bench"))).length, digests + 1);

      const ok = await verifyExport(out, publicKeyPem);
      assert.deepEqual(ok.problems, []);
      assert.deepEqual([ok.events, ok.digests, ok.unsignedTail], [3000, digests, 0]);

      // An event altered in the second file: its successor's link, and the digest covering it, say so.
      const files = filesUnder(join(out, "events"));
      const second = files[1]!;
      const original = readFileSync(second);
      const text = gunzipSync(original).toString("utf8");
      const at = text.indexOf('"eventName":"Encrypt"', text.length / 2);
      writeFileSync(second, gzipSync(text.slice(0, at) + '"eventName":"Decrypt"' + text.slice(at + '"eventName":"Encrypt"'.length)));
      const tampered = await verifyExport(out, publicKeyPem);
      assert.equal(tampered.ok, false);
      assert.match(tampered.problems[0]!, /was altered: its hash no longer matches the link/);
      writeFileSync(second, original);

      // A digest removed from the middle of the digest chain.
      const digestFiles = filesUnder(join(out, "digests"));
      rmSync(digestFiles[10]!);
      const removed = await verifyExport(out, publicKeyPem);
      assert.equal(removed.ok, false);
      assert.match(removed.problems.join("\n"), /does not follow the digest before it: a digest was removed, inserted or reordered/);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("audit export's garbage bound", () => {
  it("collects every 10,000 events, and only when more array buffers than its limit are held", () => {
    let collections = 0;
    const bound = garbageBound(8 * 1024 * 1024, () => collections++);
    let held: Buffer[] | undefined = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024, 1));
    assert.ok(process.memoryUsage().arrayBuffers >= 40 * 1024 * 1024);
    bound(5_000); // checked every 10,000 events only
    assert.equal(collections, 0);
    bound(10_000);
    assert.equal(collections, 1);
    held = undefined;
    assert.equal(held, undefined);
    const none = garbageBound(Number.MAX_SAFE_INTEGER, () => collections++);
    none(10_000);
    assert.equal(collections, 1);
  });

  it("its collection frees the array buffers no longer used", async () => {
    const bound = garbageBound(8 * 1024 * 1024);
    let held: Buffer[] | undefined = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024, 1));
    assert.ok(process.memoryUsage().arrayBuffers >= 40 * 1024 * 1024);
    held = undefined;
    bound(10_000);
    assert.equal(held, undefined);
    // V8 releases the buffers' memory on a background thread after the collection: a loaded
    // machine may take a moment. Without a collection they stay (nothing else allocates here).
    for (let i = 0; i < 100 && process.memoryUsage().arrayBuffers >= 8 * 1024 * 1024; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(process.memoryUsage().arrayBuffers < 8 * 1024 * 1024, `${process.memoryUsage().arrayBuffers} bytes of array buffers`);
  });
});

describe("a chain's digests", () => {
  it("are read a page at a time, in the order they were signed, up to the one ending where the caller says", () => {
    const dir = tempDir("keyhold-digest-pages-");
    const db = openAuditDatabase(join(dir, "chain-1.db"));
    try {
      const count = 2 * DIGESTS_PER_PAGE + 345;
      const insert = db.prepare(
        "INSERT INTO audit_digests (first_seq, last_seq, start_time, end_time, body, signature) VALUES (?, ?, ?, ?, ?, ?)",
      );
      db.transaction(() => {
        for (let i = 0; i < count; i++)
          insert.run(i * 10 + 1, i * 10 + 10, i, i + 1, JSON.stringify({ firstSequence: i * 10 + 1 }), `s${i}`);
      })();
      let pages = 0;
      const all = db.prepare.bind(db);
      const counting = Object.assign(Object.create(db) as typeof db, {
        prepare: (sql: string) => {
          const statement = all(sql);
          return Object.assign(Object.create(statement) as typeof statement, {
            all: (...args: unknown[]) => (pages++, statement.all(...args)),
          });
        },
      });
      const read = [...readDigests(counting)];
      assert.equal(read.length, count);
      assert.deepEqual(
        read.map((d) => d.digestSignature),
        Array.from({ length: count }, (_, i) => `s${i}`),
      );
      assert.equal(pages, 3);
      assert.deepEqual(digestSpan(db), { first: 1, last: count * 10 });
      const upTo = [...readDigests(db, 15_000)];
      assert.equal(upTo.length, 1500);
      assert.equal(upTo.at(-1)!.digest.firstSequence, 14_991);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
