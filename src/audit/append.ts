/**
 * Appends a batch of events to the trail in one transaction: each gets the next sequence number
 * and the hash of the event before it, inside its record (additionalEventData), and is stored
 * with the SHA-256 of its record text. So every record names its predecessor: changing,
 * removing, inserting or moving one breaks a link the verifier checks.
 */
import { hash } from "node:crypto";
import type Database from "better-sqlite3";
import { GENESIS_HASH } from "./database.js";
import type { AuditEvent } from "./record.js";

export function makeAppender(db: Database.Database, chain: number): (events: AuditEvent[]) => number[] {
  const last = db.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
  const insert = db.prepare(
    `INSERT INTO audit_events (seq, event_id, event_time, account_id, region, event_source, event_name, username, access_key_id,
       read_only, error_code, request_id, record, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const resource = db.prepare("INSERT OR IGNORE INTO audit_resources (arn, seq, type) VALUES (?, ?, ?)");
  return db.transaction((events: AuditEvent[]) => {
    const head = last.get() as { seq: number; hash: Buffer } | undefined;
    let seq = head?.seq ?? 0;
    let previous = head?.hash ?? GENESIS_HASH;
    const seqs: number[] = [];
    for (const e of events) {
      seq++;
      const text = `${e.recordPrefix},"additionalEventData":{"keyholdChain":${chain},"keyholdSequence":${seq},"keyholdPreviousHash":"${previous.toString("hex")}"}}`;
      const h = hash("sha256", text, "buffer") as unknown as Buffer;
      insert.run(
        seq,
        e.eventId,
        e.eventTime,
        e.accountId ?? null,
        e.region ?? null,
        e.eventSource,
        e.eventName,
        e.username ?? null,
        e.accessKeyId ?? null,
        e.readOnly ? 1 : 0,
        e.errorCode ?? null,
        e.requestId,
        text,
        h,
      );
      for (const r of e.resources) resource.run(r.arn, seq, r.type);
      previous = h;
      seqs.push(seq);
    }
    return seqs;
  }).immediate as (events: AuditEvent[]) => number[];
}
