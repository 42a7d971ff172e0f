/** Reading and pruning one SQLite chain: LookupEvents' filters, retention. */
import type Database from "better-sqlite3";
import type { LookupKey, LookupQuery, StoredEvent } from "./store.js";

const COLUMN: Partial<Record<LookupKey, string>> = {
  EventId: "e.event_id",
  EventName: "e.event_name",
  Username: "e.username",
  EventSource: "e.event_source",
  AccessKeyId: "e.access_key_id",
};

export function lookupChain(db: Database.Database, chain: string, q: LookupQuery): StoredEvent[] {
  const where = ["e.account_id = ?", "e.region = ?"];
  const args: unknown[] = [q.accountId, q.region];
  if (q.attribute) {
    const { key, value } = q.attribute;
    if (key === "ResourceName" || key === "ResourceType") {
      where.push("instr(e.resources, ?) > 0");
      args.push(JSON.stringify(value));
    } else if (key === "ReadOnly") {
      where.push("e.read_only = ?");
      args.push(value === "true" ? 1 : 0);
    } else {
      where.push(`${COLUMN[key]} = ?`);
      args.push(value);
    }
  }
  if (q.startTime !== undefined) (where.push("e.event_time >= ?"), args.push(q.startTime));
  if (q.endTime !== undefined) (where.push("e.event_time <= ?"), args.push(q.endTime));
  const before = q.before?.[chain];
  if (before !== undefined) (where.push("e.seq < ?"), args.push(before));
  const rows = db
    .prepare(`SELECT e.* FROM audit_events e WHERE ${where.join(" AND ")} ORDER BY e.seq DESC LIMIT ?`)
    .all(...args, q.limit + 1) as Record<string, unknown>[];
  return rows.map((r) => ({
    chain,
    seq: Number(r.seq),
    eventId: r.event_id as string,
    eventTime: Number(r.event_time),
    eventName: r.event_name as string,
    eventSource: r.event_source as string,
    readOnly: r.read_only === 1,
    accessKeyId: (r.access_key_id as string | null) ?? undefined,
    username: (r.username as string | null) ?? undefined,
    requestId: r.request_id as string,
    record: r.record as string,
    resources: (JSON.parse(r.resources as string) as [string, string][]).map(([type, arn]) => ({ arn, type })),
  }));
}

export function markCreated(db: Database.Database, now: number): void {
  db.prepare("INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('created_at', ?)").run(String(now));
}

/**
 * Deletes events older than `cutoff`, in whole digest ranges only, so what remains starts at a
 * digest whose previousEventHash anchors the chain: still verifiable from the retained start.
 */
export function pruneBefore(db: Database.Database, cutoff: number): number {
  return db
    .transaction(() => {
      const last = db.prepare("SELECT max(last_seq) AS seq FROM audit_digests WHERE end_time < ?").get(cutoff) as { seq: number | null };
      if (last.seq === null) return 0;
      const removed = db.prepare("DELETE FROM audit_events WHERE seq <= ?").run(last.seq).changes;
      db.prepare("DELETE FROM audit_digests WHERE last_seq <= ?").run(last.seq);
      return removed;
    })
    .immediate();
}
