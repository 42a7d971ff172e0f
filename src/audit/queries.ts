/** Reading the trail: LookupEvents' filters, GetKeyLastUsage, retention. */
import type Database from "better-sqlite3";
import type { ChainSet } from "./chains.js";

export type LookupKey = "EventId" | "EventName" | "ReadOnly" | "Username" | "ResourceType" | "ResourceName" | "EventSource" | "AccessKeyId";

export interface LookupQuery {
  accountId: string;
  region: string;
  attribute?: { key: LookupKey; value: string };
  startTime?: number;
  endTime?: number;
  /** Per chain, only events with a smaller sequence number (what the NextToken carries). */
  before?: Record<number, number>;
  limit: number;
}

export interface StoredEvent {
  chain: number;
  seq: number;
  eventId: string;
  eventTime: number;
  eventName: string;
  eventSource: string;
  readOnly: boolean;
  accessKeyId?: string;
  username?: string;
  requestId: string;
  record: string;
  resources: { arn: string; type: string }[];
}

const COLUMN: Partial<Record<LookupKey, string>> = {
  EventId: "e.event_id",
  EventName: "e.event_name",
  Username: "e.username",
  EventSource: "e.event_source",
  AccessKeyId: "e.access_key_id",
};

function lookupChain(db: Database.Database, chain: number, q: LookupQuery): StoredEvent[] {
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

export class AuditReader {
  constructor(private readonly chains: ChainSet) {}

  /**
   * Newest first across every chain: each chain is read newest first by sequence, and the pages
   * are merged by event time. `cursor` is where each chain's part of the page ended.
   */
  lookup(q: LookupQuery): { events: StoredEvent[]; cursor?: Record<number, number> } {
    const candidates = this.chains.all().flatMap(({ chain, db }) => lookupChain(db, chain, q));
    candidates.sort((a, b) => b.eventTime - a.eventTime || b.chain - a.chain || b.seq - a.seq);
    const events = candidates.slice(0, q.limit);
    if (candidates.length <= q.limit) return { events };
    const cursor: Record<number, number> = { ...q.before };
    for (const e of events) cursor[e.chain] = Math.min(cursor[e.chain] ?? Infinity, e.seq);
    return { events, cursor };
  }

  /** The newest successful cryptographic use of a key, over every chain. */
  lastUse(arn: string): { eventId: string; eventName: string; eventTime: number; requestId: string } | undefined {
    let best: { eventId: string; eventName: string; eventTime: number; requestId: string } | undefined;
    for (const { db } of this.chains.all()) {
      const row = db.prepare("SELECT event_id, event_name, event_time, request_id FROM audit_key_last_use WHERE arn = ?").get(arn) as
        { event_id: string; event_name: string; event_time: number; request_id: string } | undefined;
      if (row && (!best || Number(row.event_time) > best.eventTime)) {
        best = { eventId: row.event_id, eventName: row.event_name, eventTime: Number(row.event_time), requestId: row.request_id };
      }
    }
    return best;
  }

  /** When tracking began: the creation of the oldest chain. */
  trackingStart(): number | undefined {
    const times = this.chains
      .all()
      .map(({ db }) => db.prepare("SELECT value FROM audit_meta WHERE key = 'created_at'").get() as { value: string } | undefined)
      .filter((r): r is { value: string } => r !== undefined)
      .map((r) => Number(r.value));
    return times.length > 0 ? Math.min(...times) : undefined;
  }
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
