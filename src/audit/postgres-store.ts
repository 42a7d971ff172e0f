/**
 * The audit trail in the shared PostgreSQL database: every node's chains in one table, so
 * LookupEvents and GetKeyLastUsage on any node see every node's calls. A node appends only to
 * its own chain (a session lock claims it), on one connection, one group commit after another.
 * PostgreSQL makes a commit durable before it returns (synchronous_commit on, the default).
 */
import { ConfigError } from "../config.js";
import pg from "pg";
import type { KeyStore } from "../keystore/keystore.js";
import { inTransaction, runPostgresMigrations, type Query } from "../store/postgres.js";
import { DIGESTS_PER_PAGE, type Digest, type SignedDigest } from "./digest.js";
import { GENESIS_HASH } from "./database.js";
import type { AuditEvent } from "./record.js";
import { newSigningKey, openSigningKey, type AuditSigningKey } from "./signing-key.js";
import {
  EVENT_COLUMNS,
  eventRow,
  lastUsesOf,
  linkBatch,
  mergePage,
  signDigest,
  type AccessKeyUse,
  type AuditStore,
  type LastUse,
  type LookupQuery,
  type StoredEvent,
} from "./store.js";

type Row = Record<string, unknown>;

/** The most events one commit takes; what waits beyond it goes in the next. */
const MAX_COMMIT_EVENTS = 4096;
/** The application name of the connection appends commit on (pg_stat_activity shows it). */
export const WRITER_NAME = "keyhold-audit-writer";

const APPEND_SQL = `WITH
  events AS (
    INSERT INTO audit_events (chain, ${EVENT_COLUMNS})
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
      $10::text[], $11::boolean[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]::bytea[])),
  resources AS (
    INSERT INTO audit_event_resources (chain, seq, value, account_id, region, event_time)
    SELECT * FROM unnest($17::text[], $18::bigint[], $19::text[], $20::text[], $21::text[], $22::bigint[]))
  INSERT INTO audit_key_last_use (arn, chain, seq, event_id, event_name, event_time, request_id)
  SELECT * FROM unnest($23::text[], $24::text[], $25::bigint[], $26::text[], $27::text[], $28::bigint[], $29::text[])
  ON CONFLICT (arn) DO UPDATE SET chain = excluded.chain, seq = excluded.seq, event_id = excluded.event_id,
    event_name = excluded.event_name, event_time = excluded.event_time, request_id = excluded.request_id
  WHERE audit_key_last_use.event_time <= excluded.event_time`;

const COLUMN: Record<string, string> = {
  EventId: "event_id",
  EventName: "event_name",
  Username: "username",
  EventSource: "event_source",
  AccessKeyId: "access_key_id",
};

export class PostgresAuditStore implements AuditStore {
  /** Appends are merged here into one commit (append), so the trail may send them as they form. */
  readonly appendsInFlight = 16;
  /** The connection that holds this process's claim on its chain. */
  private claim: pg.Client | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly ownChain: string | undefined,
  ) {}

  static async open(url: string, ownChain?: string): Promise<PostgresAuditStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    // An idle connection that PostgreSQL closes (a restart) is an 'error' event, which unheard ends
    // the process; the pool drops that connection and the next query opens another.
    pool.on("error", () => undefined);
    await runPostgresMigrations(pool);
    return new PostgresAuditStore(pool, url, ownChain);
  }

  private async q(sql: string, values?: unknown[]): Promise<Row[]> {
    return (await this.pool.query(sql, values)).rows as Row[];
  }

  private tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  async start(now: number): Promise<void> {
    if (this.ownChain === undefined) return;
    // One process per chain: a second process with the same node id (two servers started on one
    // data directory) would break the chain's sequence; it is refused here, in words. The claim
    // is a session lock, so it goes with the process, even one killed with -9.
    const claim = new pg.Client({ connectionString: this.url });
    // A restart of PostgreSQL ends the claim's session (unheard, its 'error' would end the process);
    // the chain's primary key still refuses a second writer.
    claim.on("error", () => {
      if (this.claim === claim) this.claim = undefined;
    });
    await claim.connect();
    const { rows } = await claim.query("SELECT pg_try_advisory_lock(hashtext($1)) AS claimed", [`keyhold-audit-chain:${this.ownChain}`]);
    if (!(rows[0] as { claimed: boolean }).claimed) {
      await claim.end();
      throw new ConfigError(
        `audit chain ${this.ownChain} is in use by another keyhold process: every node needs its own data directory (its node-id); share only <data-dir>/s3/objects`,
      );
    }
    this.claim = claim;
    await this.q("INSERT INTO audit_chains (chain, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", [this.ownChain, now]);
  }

  async signingKey(keystore: KeyStore, now: number): Promise<AuditSigningKey> {
    const existing = (await this.q("SELECT * FROM audit_signing_keys ORDER BY created_at, fingerprint LIMIT 1"))[0];
    if (existing) {
      return openSigningKey(
        keystore,
        existing.fingerprint as string,
        existing.public_key as string,
        existing.wrapped_private_key as Buffer,
        Number(existing.created_at),
      );
    }
    const fresh = newSigningKey(keystore);
    await this.q(
      "INSERT INTO audit_signing_keys (fingerprint, public_key, wrapped_private_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [fresh.fingerprint, fresh.publicKeyPem, fresh.wrappedPrivateKey, now],
    );
    return this.signingKey(keystore, now); // whichever node's key was stored first
  }

  async publicKeyPem(): Promise<string | undefined> {
    return (await this.q("SELECT public_key FROM audit_signing_keys ORDER BY created_at, fingerprint LIMIT 1"))[0]?.public_key as
      string | undefined;
  }

  /** This process's chain head, once read: only this process appends to its chain. */
  private head: { seq: number; hash: Buffer } | undefined;
  /** Appends waiting for the next commit, and whether one is under way. */
  private waiting: { events: AuditEvent[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  private writing = false;
  /** The connection appends commit on: one, so commits of this chain follow one another. */
  private writer: pg.Client | undefined;

  /**
   * Group commit, as the file writer does it: appends that arrive while a commit is under way wait,
   * and the next commit takes all of them at once (one statement, one transaction, one WAL flush),
   * so the number of commits per second stays what the disk allows while the events per commit grow
   * with the load. Each append resolves only once its commit is durable.
   */
  append(events: AuditEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      if (!this.writing) void this.writeWaiting();
    });
  }

  private async writeWaiting(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      let n = 0;
      let events = 0;
      while (n < this.waiting.length && (n === 0 || events + this.waiting[n]!.events.length <= MAX_COMMIT_EVENTS)) {
        events += this.waiting[n]!.events.length;
        n++;
      }
      const group = this.waiting.splice(0, n);
      try {
        await this.commit(group.flatMap((a) => a.events));
        for (const a of group) a.resolve();
      } catch (error) {
        for (const a of group) a.reject(error as Error);
      }
    }
    this.writing = false;
  }

  private async writerConnection(): Promise<pg.Client> {
    if (this.writer) return this.writer;
    const client = new pg.Client({ connectionString: this.url, application_name: WRITER_NAME });
    // A connection lost between commits says so here (unhandled, it would end the process); the
    // next commit opens another.
    client.on("error", () => {
      if (this.writer === client) this.writer = undefined;
    });
    await client.connect();
    this.writer = client;
    return client;
  }

  /**
   * One statement inserts the batch's events, their resources and the last use of each key: run
   * outside BEGIN/COMMIT, it is its own transaction, so the whole batch commits in one round trip
   * or none of it does. A failed commit leaves the chain as the database has it: the head is read
   * again before the next batch is linked (a commit whose answer was lost may still have landed, and
   * the next batch then follows it).
   */
  private async commit(events: AuditEvent[]): Promise<void> {
    const chain = this.ownChain;
    if (chain === undefined) throw new Error("this audit store has no chain to append to");
    try {
      const client = await this.writerConnection();
      let start = this.head;
      if (!start) {
        const row = (await client.query("SELECT seq, hash FROM audit_events WHERE chain = $1 ORDER BY seq DESC LIMIT 1", [chain]))
          .rows[0] as Row | undefined;
        start = row ? { seq: Number(row.seq), hash: row.hash as Buffer } : { seq: 0, hash: GENESIS_HASH };
      }
      const { linked, head } = linkBatch(events, chain, start);
      // Column arrays for INSERT … SELECT FROM unnest(…): the statement text stays the same whatever
      // the batch size, so PostgreSQL plans it once instead of parsing thousands of parameters.
      const cols: unknown[][] = Array.from({ length: 16 + 6 + 7 }, () => []);
      for (const l of linked) {
        // bytea travels in the text array as \x-hex, cast back by the statement.
        [chain, ...eventRow(l)].forEach((v, j) => cols[j]!.push(Buffer.isBuffer(v) ? "\\x" + v.toString("hex") : v));
        const e = l.event;
        for (const value of new Set(e.resources.flatMap((r) => [r.type, r.arn]))) {
          [chain, l.seq, value, e.accountId ?? null, e.region ?? null, e.eventTime].forEach((v, j) => cols[16 + j]!.push(v));
        }
      }
      // In ARN order: nodes whose batches share keys then lock their rows in one order, so two
      // commits wait for each other instead of deadlocking (which would fail both batches).
      for (const [arn, { seq, event: e }] of [...lastUsesOf(linked)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        [arn, chain, seq, e.eventId, e.eventName, e.eventTime, e.requestId].forEach((v, j) => cols[22 + j]!.push(v));
      }
      // The primary key (chain, seq) refuses a second writer on this chain.
      await client.query(APPEND_SQL, cols);
      this.head = head;
    } catch (error) {
      this.head = undefined;
      const lost = this.writer;
      this.writer = undefined;
      await lost?.end().catch(() => undefined);
      throw error;
    }
  }

  /** The statement and its parameters for one LookupEvents page (PostgreSQL plans it from the indexes of migration 8). */
  lookupQuery(q: LookupQuery): { sql: string; args: unknown[] } {
    const args: unknown[] = [q.accountId, q.region];
    const param = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    // A resource lookup reads the side table's index newest first and joins each hit to its event;
    // the other lookups read an index of audit_events itself. Either way the time range and the
    // page's cursor apply to the table whose index is read.
    const byResource = q.attribute?.key === "ResourceName" || q.attribute?.key === "ResourceType";
    const t = byResource ? "r" : "e";
    const where = [`${t}.account_id = $1`, `${t}.region = $2`];
    if (q.attribute) {
      const { key, value } = q.attribute;
      if (byResource) where.push(`r.value = ${param(value)}`);
      else if (key === "ReadOnly") where.push(`e.read_only = ${param(value === "true")}`);
      else where.push(`e.${COLUMN[key]} = ${param(value)}`);
    }
    if (q.startTime !== undefined) where.push(`${t}.event_time >= ${param(q.startTime)}`);
    if (q.endTime !== undefined) where.push(`${t}.event_time <= ${param(q.endTime)}`);
    for (const [chain, seq] of Object.entries(q.before ?? {}))
      where.push(`NOT (${t}.chain = ${param(chain)} AND ${t}.seq >= ${param(seq)})`);
    const from = byResource ? "audit_event_resources r JOIN audit_events e ON e.chain = r.chain AND e.seq = r.seq" : "audit_events e";
    return {
      sql: `SELECT e.* FROM ${from} WHERE ${where.join(" AND ")} ORDER BY ${t}.event_time DESC, ${t}.chain DESC, ${t}.seq DESC LIMIT ${param(q.limit + 1)}`,
      args,
    };
  }

  /** PostgreSQL's plan for a lookup (EXPLAIN), for checking which indexes serve it. */
  async explainLookup(q: LookupQuery): Promise<string> {
    const { sql, args } = this.lookupQuery(q);
    return (await this.q(`EXPLAIN ${sql}`, args)).map((r) => r["QUERY PLAN"] as string).join("\n");
  }

  async lookup(q: LookupQuery): Promise<{ events: StoredEvent[]; cursor?: Record<string, number> }> {
    const { sql, args } = this.lookupQuery(q);
    const rows = await this.q(sql, args);
    return mergePage(
      rows.map((r) => ({
        chain: r.chain as string,
        seq: Number(r.seq),
        eventId: r.event_id as string,
        eventTime: Number(r.event_time),
        eventName: r.event_name as string,
        eventSource: r.event_source as string,
        readOnly: r.read_only === true,
        accessKeyId: (r.access_key_id as string | null) ?? undefined,
        username: (r.username as string | null) ?? undefined,
        requestId: r.request_id as string,
        record: r.record as string,
        resources: (JSON.parse(r.resources as string) as [string, string][]).map(([type, arn]) => ({ arn, type })),
      })),
      q,
    );
  }

  async lastUse(arn: string): Promise<LastUse | undefined> {
    const r = (await this.q("SELECT event_id, event_name, event_time, request_id FROM audit_key_last_use WHERE arn = $1", [arn]))[0];
    return (
      r && {
        eventId: r.event_id as string,
        eventName: r.event_name as string,
        eventTime: Number(r.event_time),
        requestId: r.request_id as string,
      }
    );
  }

  async accessKeyLastUse(accessKeyId: string): Promise<AccessKeyUse | undefined> {
    const r = (
      await this.q(
        "SELECT event_time, event_source, region FROM audit_events WHERE access_key_id = $1 AND username IS NOT NULL ORDER BY event_time DESC LIMIT 1",
        [accessKeyId],
      )
    )[0];
    return (
      r && { eventTime: Number(r.event_time), eventSource: r.event_source as string, region: (r.region as string | null) ?? undefined }
    );
  }

  async trackingStart(): Promise<number | undefined> {
    const r = (await this.q("SELECT min(created_at) AS t FROM audit_chains"))[0];
    return r?.t === null || r?.t === undefined ? undefined : Number(r.t);
  }

  async digest(key: AuditSigningKey, now: number, only?: string): Promise<number> {
    let written = 0;
    for (const chain of only === undefined ? await this.chains() : [only]) {
      const done = await this.tx(async (q) => {
        await q("SELECT chain FROM audit_chains WHERE chain = $1 FOR UPDATE", [chain]);
        const previous = (
          await q("SELECT last_seq, end_time, signature FROM audit_digests WHERE chain = $1 ORDER BY id DESC LIMIT 1", [chain])
        )[0];
        const head = (await q("SELECT seq, hash, event_time FROM audit_events WHERE chain = $1 ORDER BY seq DESC LIMIT 1", [chain]))[0];
        const from = previous ? Number(previous.last_seq) + 1 : 1;
        if (!head || Number(head.seq) < from) return false;
        const first = (
          await q("SELECT seq, event_time FROM audit_events WHERE chain = $1 AND seq >= $2 ORDER BY seq LIMIT 1", [chain, from])
        )[0]!;
        const before = (await q("SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2", [chain, Number(first.seq) - 1]))[0];
        const { signed, start, end } = signDigest(
          {
            previous: previous && {
              lastSeq: Number(previous.last_seq),
              endTime: Number(previous.end_time),
              signature: previous.signature as string,
            },
            head: { seq: Number(head.seq), hash: head.hash as Buffer, time: Number(head.event_time) },
            first: { seq: Number(first.seq), time: Number(first.event_time) },
            before: before?.hash as Buffer | undefined,
          },
          key,
          now,
        );
        await q(
          "INSERT INTO audit_digests (chain, first_seq, last_seq, start_time, end_time, body, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          [
            chain,
            signed.digest.firstSequence,
            signed.digest.lastSequence,
            start,
            end,
            JSON.stringify(signed.digest),
            signed.digestSignature,
          ],
        );
        return true;
      });
      if (done) written++;
    }
    return written;
  }

  async prune(cutoff: number): Promise<number> {
    let removed = 0;
    for (const chain of await this.chains()) {
      removed += await this.tx(async (q) => {
        const last = (await q("SELECT max(last_seq) AS seq FROM audit_digests WHERE chain = $1 AND end_time < $2", [chain, cutoff]))[0];
        if (last?.seq === null || last?.seq === undefined) return 0;
        const gone = await q("DELETE FROM audit_events WHERE chain = $1 AND seq <= $2 RETURNING seq", [chain, last.seq]);
        await q("DELETE FROM audit_event_resources WHERE chain = $1 AND seq <= $2", [chain, last.seq]);
        await q("DELETE FROM audit_digests WHERE chain = $1 AND last_seq <= $2", [chain, last.seq]);
        return gone.length;
      });
    }
    return removed;
  }

  async chains(): Promise<string[]> {
    return (await this.q("SELECT chain FROM audit_chains ORDER BY chain")).map((r) => r.chain as string);
  }

  async *records(chain: string, from = 1): AsyncIterable<{ time: number; record: string }> {
    let after = from - 1;
    for (;;) {
      const rows = await this.q("SELECT seq, event_time, record FROM audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT 1000", [
        chain,
        after,
      ]);
      if (rows.length === 0) return;
      for (const r of rows) yield { time: Number(r.event_time), record: r.record as string };
      after = Number(rows[rows.length - 1]!.seq);
    }
  }

  async digestSpan(chain: string): Promise<{ first: number; last: number } | undefined> {
    const row = (await this.q("SELECT min(first_seq) AS first, max(last_seq) AS last FROM audit_digests WHERE chain = $1", [chain]))[0];
    return row?.first == null || row.last == null ? undefined : { first: Number(row.first), last: Number(row.last) };
  }

  async *digests(chain: string, through = Number.MAX_SAFE_INTEGER): AsyncIterable<SignedDigest> {
    for (let after = 0; ;) {
      const rows = await this.q(
        `SELECT id, body, signature FROM audit_digests WHERE chain = $1 AND id > $2 AND last_seq <= $3 ORDER BY id LIMIT ${DIGESTS_PER_PAGE}`,
        [chain, after, through],
      );
      for (const r of rows) yield { digest: JSON.parse(r.body as string) as Digest, digestSignature: r.signature as string };
      if (rows.length < DIGESTS_PER_PAGE) return;
      after = Number(rows.at(-1)!.id);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
    await this.writer?.end().catch(() => undefined);
    await this.claim?.end();
  }
}
