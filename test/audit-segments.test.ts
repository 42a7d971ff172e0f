/**
 * The trail's records in segment files: what lookups read back from a record is what the event
 * was built with; segments roll over, page, digest and retire whole; a trail kept in SQLite rows
 * before moves into a segment unchanged.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, hash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CompletedCall } from "../src/call.js";
import { buildEvents, buildRelatedEvent, buildServiceEvent, fieldsOfRecord, type AuditEvent } from "../src/audit/record.js";
import { chainedRecord, EVENT_COLUMNS, eventRow, linkBatch, type StoredEvent } from "../src/audit/store.js";
import { GENESIS_HASH, openAuditDatabase } from "../src/audit/database.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { listSegments, segmentDir, segmentForward } from "../src/audit/segments.js";
import { fingerprintOf, type AuditSigningKey } from "../src/audit/signing-key.js";
import { collect, tempDir } from "./helpers.js";

const A = "111122223333";
const B = "444455556666";
const KEY = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function call(over: Partial<CompletedCall>): CompletedCall {
  return {
    requestId: `req-${Math.random()}`,
    time: Date.UTC(2026, 10, 30, 21, 0, 0, 250),
    service: "kms",
    operation: "Encrypt",
    readOnly: true,
    region: "us-east-1",
    sourceIp: "192.0.2.1",
    userAgent: "test",
    trail: { resources: [{ arn: KEY, type: "AWS::KMS::Key" }], input: { keyId: KEY } },
    ...over,
  };
}

const root = {
  accountId: A,
  accessKeyId: "AKIAROOTROOTROOT0001",
  principal: { type: "Root" as const, accountId: A, arn: `arn:aws:iam::${A}:root`, principalId: A },
};
const user = {
  accountId: A,
  accessKeyId: "AKIAUSERUSERUSER0001",
  principal: {
    type: "IAMUser" as const,
    accountId: A,
    arn: `arn:aws:iam::${A}:user/ops/alice`,
    principalId: "AIDAALICE",
    userName: "alice",
  },
};
const session = {
  accountId: B,
  accessKeyId: "ASIASESSIONSESSION01",
  principal: {
    type: "AssumedRole" as const,
    accountId: B,
    arn: `arn:aws:sts::${B}:assumed-role/reader/night-job`,
    principalId: "AROAREADER:night-job",
    roleArn: `arn:aws:iam::${B}:role/reader`,
    roleName: "reader",
    sessionName: "night-job",
    issuedAt: Date.now(),
  },
};

/** An Encrypt recorded for `n`, as a chain writer receives it. */
function encryptEvent(n: number, time: number): AuditEvent {
  return buildEvents(call({ requestId: `req-${n}`, time, caller: root }))[0]!;
}

describe("audit records in segment files", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("what a lookup reads back from a record is what its event was built with, for every kind of caller", () => {
    const calls: AuditEvent[] = [
      ...buildEvents(call({ caller: root })),
      ...buildEvents(call({ caller: user, operation: "Decrypt" })),
      ...buildEvents(call({ caller: user, error: { code: "AccessDeniedException", message: "no" } })),
      ...buildEvents(call({ caller: session })), // B uses A's key: one event for each account
      ...buildEvents(
        call({ claimed: { accessKeyId: "AKIAFORGEDFORGED0001", accountId: A }, error: { code: "SignatureDoesNotMatch", message: "no" } }),
      ),
      ...buildEvents(call({ caller: root, service: "cloudtrail", operation: "LookupEvents", trail: { resources: [] } })),
      buildRelatedEvent(call({ caller: user, service: "s3", operation: "PutObject" }), {
        service: "kms",
        operation: "GenerateDataKey",
        invokedBy: "s3.amazonaws.com",
        trail: { resources: [{ arn: KEY, type: "AWS::KMS::Key" }] },
      }),
      buildServiceEvent({
        time: Date.now(),
        eventName: "RotateKey",
        accountId: A,
        region: "us-east-1",
        resource: { arn: KEY, type: "AWS::KMS::Key" },
        details: { keyId: KEY },
      }),
    ];
    assert.equal(calls.length, 9);
    assert.deepEqual(
      calls.map((e) => e.usesKeys),
      [true, true, false, true, false, false, false, true, false],
    );
    const previous = hash("sha256", "before", "buffer") as unknown as Buffer;
    for (const { recordPrefix, ...event } of calls) {
      const fields = fieldsOfRecord(chainedRecord(recordPrefix, "1", 7, previous));
      const expected = { ...event, eventTime: Math.floor(event.eventTime / 1000) * 1000, seq: 7, previousHash: previous.toString("hex") };
      // What the record leaves out, the fields leave out (an absent member is undefined either way).
      assert.deepEqual(JSON.parse(JSON.stringify(fields)), JSON.parse(JSON.stringify(expected)), event.eventName);
    }
  });

  it("records roll over into new segments; lookups page across them; digests and retention work on whole segments", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const store = new SqliteAuditStore(dataDir, "1", "commit", undefined, { segmentBytes: 4096 });
    const t0 = Date.UTC(2026, 0, 1);
    await store.start(t0);
    try {
      for (let n = 1; n <= 40; n += 4) await store.append([1, 2, 3, 4].map((i) => encryptEvent(n + i - 1, t0 + (n + i) * 1000)));
      const dir = segmentDir(dataDir, "1");
      const before = listSegments(dir);
      assert.ok(before.length >= 5, `${before.length} segments`);

      const pages: StoredEvent[][] = [];
      let cursor: Record<string, number> | undefined;
      do {
        const page = await store.lookup({ accountId: A, region: "us-east-1", limit: 7, before: cursor });
        pages.push(page.events);
        cursor = page.cursor;
      } while (cursor);
      assert.deepEqual(
        pages.flat().map((e) => e.seq),
        Array.from({ length: 40 }, (_, i) => 40 - i),
      );
      assert.equal(pages.length, 6);
      const byAttr = await store.lookup({
        accountId: A,
        region: "us-east-1",
        attribute: { key: "EventId", value: pages[3]![2]!.eventId },
        limit: 50,
      });
      assert.deepEqual(
        byAttr.events.map((e) => e.seq),
        [pages[3]![2]!.seq],
      );
      assert.deepEqual((await store.lookup({ accountId: B, region: "us-east-1", limit: 50 })).events, []);
      assert.equal((await store.lastUse(KEY))?.requestId, "req-40");
      assert.equal((await store.accessKeyLastUse(root.accessKeyId))?.eventSource, "kms.amazonaws.com");

      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }) as string;
      const key: AuditSigningKey = { privateKey, publicKeyPem, fingerprint: fingerprintOf(publicKeyPem) };
      assert.equal(await store.digest(key, t0 + 100_000), 1);
      for (let n = 41; n <= 50; n++) await store.append([encryptEvent(n, t0 + 200_000 + n)]);
      assert.equal(await store.digest(key, t0 + 300_000), 1);
      const digests = await collect(store.digests("1"));
      assert.deepEqual(
        digests.map((d) => [d.digest.firstSequence, d.digest.lastSequence]),
        [
          [1, 40],
          [41, 50],
        ],
      );

      assert.equal(await store.prune(t0 + 150_000), 40);
      const records: string[] = [];
      for await (const { record } of store.records("1")) records.push(record);
      const seqs = records.map((r) => fieldsOfRecord(r).seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: 10 }, (_, i) => 41 + i),
      );
      const after = listSegments(dir);
      assert.ok(after.length < before.length, "whole segments were deleted");
      assert.ok(after[0]!.first <= 41 && (after[1]?.first ?? Infinity) > 41, "the segment holding the retained start stays");
      // The retained start is anchored by its digest: it names the hash the first retained record links to.
      const [kept] = await collect(store.digests("1"));
      assert.equal(kept!.digest.previousEventHash, fieldsOfRecord(records[0]!).previousHash);
      assert.equal(kept!.digest.lastEventHash, hash("sha256", records.at(-1)!, "hex"));
      assert.deepEqual(
        (await store.lookup({ accountId: A, region: "us-east-1", limit: 50 })).events.map((e) => e.seq),
        [...seqs].reverse(),
      );
    } finally {
      await store.close();
    }
  });

  it("a trail kept in SQLite rows before moves into the first segment unchanged, and the chain goes on from it", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const db = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
    const { linked } = linkBatch(
      [1, 2, 3].map((n) => encryptEvent(n, Date.now())),
      "1",
      { seq: 0, hash: GENESIS_HASH },
    );
    const insert = db.prepare(
      `INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES (${EVENT_COLUMNS.split(",")
        .map(() => "?")
        .join(", ")})`,
    );
    for (const l of linked) insert.run(...eventRow(l).map((v) => (typeof v === "boolean" ? Number(v) : v)));
    db.close();

    const store = new SqliteAuditStore(dataDir, "1", "commit");
    await store.start(Date.now());
    try {
      await store.append([encryptEvent(4, Date.now())]);
      const records: string[] = [];
      for await (const { record } of store.records("1")) records.push(record);
      assert.deepEqual(
        records.slice(0, 3),
        linked.map((l) => l.text),
      );
      assert.equal(fieldsOfRecord(records[3]!).seq, 4);
      assert.equal(fieldsOfRecord(records[3]!).previousHash, linked[2]!.hash.toString("hex"));
      assert.equal((await store.lastUse(KEY))?.requestId, "req-4");
    } finally {
      await store.close();
    }
    const check = openAuditDatabase(join(dataDir, "audit", "chain-1.db"));
    assert.equal((check.prepare("SELECT count(*) AS n FROM audit_events").get() as { n: number }).n, 0);
    check.close();
  });

  it("reads a segment's lines whole and in order through one reused buffer: lines across reads, longer than a read, a partial last line left out", () => {
    const dir = tempDir("keyhold-segment-read-");
    dirs.push(dir);
    const path = join(dir, "segment");
    // Around the 1 MiB read: many short lines, lines crossing each read's end, one of 2.5 MiB
    // (longer than a read: the buffer grows), multi-byte characters, and a last line with no newline.
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`{"n":${i},"pad":"${"x".repeat(i % 997)}","é":"ü€"}`);
    lines.push("y".repeat(2_621_440));
    for (let i = 0; i < 2000; i++) lines.push(`{"after":${i},"text":"${"z".repeat((i * 7919) % 1500)}"}`);
    const text = lines.join("\n") + "\n" + '{"partial":';
    writeFileSync(path, text);
    const read = [...segmentForward({ first: 1, path }, 0)];
    assert.equal(read.length, lines.length);
    let end = 0;
    read.forEach((line, i) => {
      assert.equal(line.text, lines[i]);
      end += Buffer.byteLength(lines[i]!) + 1;
      assert.equal(line.end, end);
    });
    // From an offset within the file (a line's start), as the writer's recovery reads.
    const from = read[2999]!.end;
    const rest = [...segmentForward({ first: 1, path }, from)].map((l) => l.text);
    assert.deepEqual(rest, lines.slice(3000));
  });
});
