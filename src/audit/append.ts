/**
 * Appends a batch of events to the trail in one transaction: each gets the next sequence number
 * and the hash of the event before it, inside its record (additionalEventData), and is stored
 * with the SHA-256 of its record text. So every record names its predecessor: changing,
 * removing, inserting or moving one breaks a link the verifier checks.
 */
import type Database from "better-sqlite3";
import { GENESIS_HASH } from "./database.js";
import type { AuditEvent } from "./record.js";
import { EVENT_COLUMNS, eventRow, linkBatch } from "./store.js";

export function makeAppender(db: Database.Database, chain: string): (events: AuditEvent[]) => number[] {
  const last = db.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
  const insert = db.prepare(
    `INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES (${EVENT_COLUMNS.split(",")
      .map(() => "?")
      .join(", ")})`,
  );
  const lastUse = db.prepare(
    `INSERT INTO audit_key_last_use (arn, seq, event_id, event_name, event_time, request_id) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (arn) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, event_name = excluded.event_name,
       event_time = excluded.event_time, request_id = excluded.request_id`,
  );
  return db.transaction((events: AuditEvent[]) => {
    const head = last.get() as { seq: number; hash: Buffer } | undefined;
    const { linked, lastUses } = linkBatch(events, chain, head ?? { seq: 0, hash: GENESIS_HASH });
    // SQLite stores booleans as integers.
    for (const l of linked) insert.run(...eventRow(l).map((v) => (typeof v === "boolean" ? Number(v) : v)));
    for (const [arn, { seq, event: e }] of lastUses) lastUse.run(arn, seq, e.eventId, e.eventName, e.eventTime, e.requestId);
    return linked.map((l) => l.seq);
  }).immediate as (events: AuditEvent[]) => number[];
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs an append, retrying while another connection holds the chain file's write lock (the
 * scheduler's process writing a digest, or retention deleting old events). SQLite's own busy
 * handler sleeps in steps of milliseconds; waiting here in steps of 0.2 ms keeps a contended
 * commit's latency low. The connection must have `busy_timeout = 0`.
 */
export function retryWhileBusy<T>(append: () => T, limitMs = 10_000): T {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      return append();
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw error;
      Atomics.wait(sleeper, 0, 0, 0.2);
    }
  }
}
