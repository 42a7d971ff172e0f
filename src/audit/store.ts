/**
 * Where the audit trail is kept. The trail is a set of hash chains, one per writer process; a
 * store appends to this process's own chain and reads, digests, prunes and exports all of them.
 * SQLite keeps each chain in a file of the node's data directory; PostgreSQL keeps every node's
 * chains in the shared database.
 */
import { createSign, hash } from "node:crypto";
import type { KeyStore } from "../keystore/keystore.js";
import { GENESIS_HASH } from "./database.js";
import { stringToSign, type Digest, type SignedDigest } from "./digest.js";
import type { AuditEvent } from "./record.js";
import type { AuditSigningKey } from "./signing-key.js";

export type LookupKey = "EventId" | "EventName" | "ReadOnly" | "Username" | "ResourceType" | "ResourceName" | "EventSource" | "AccessKeyId";

export interface LookupQuery {
  accountId: string;
  region: string;
  attribute?: { key: LookupKey; value: string };
  startTime?: number;
  endTime?: number;
  /** Per chain, only events with a smaller sequence number (what the NextToken carries). */
  before?: Record<string, number>;
  limit: number;
}

export interface StoredEvent {
  chain: string;
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

export interface AccessKeyUse {
  eventTime: number;
  eventSource: string;
  region?: string;
}

export interface LastUse {
  eventId: string;
  eventName: string;
  eventTime: number;
  requestId: string;
}

export interface AuditStore {
  /**
   * How many appends may be under way at once. A store whose writer merges the appends waiting for
   * it into one commit (the SQLite writer thread) takes several, so its next commit can start the
   * moment the last one ends; one that commits each append on its own takes few.
   */
  readonly appendsInFlight: number;
  /** Readies this process's chain for appends (a reader-only store need not be started). */
  start(now: number): Promise<void>;
  signingKey(keystore: KeyStore, now: number): Promise<AuditSigningKey>;
  publicKeyPem(): Promise<string | undefined>;
  /** Appends to this process's chain; durable when the promise resolves. */
  append(events: AuditEvent[]): Promise<void>;
  lookup(q: LookupQuery): Promise<{ events: StoredEvent[]; cursor?: Record<string, number> }>;
  lastUse(arn: string): Promise<LastUse | undefined>;
  /**
   * The newest event of a call signed with this access key whose signature checked out (its
   * username is set), over every chain; GetAccessKeyLastUsed. No index serves it: a key unused
   * in the retained trail costs a scan of it, as a LookupEvents by AccessKeyId does.
   */
  accessKeyLastUse(accessKeyId: string): Promise<AccessKeyUse | undefined>;
  trackingStart(): Promise<number | undefined>;
  /** Digests every chain (or only `chain`) that has events since its last digest; returns how many. */
  digest(key: AuditSigningKey, now: number, chain?: string): Promise<number>;
  prune(cutoff: number): Promise<number>;
  chains(): Promise<string[]>;
  /** The chain's retained records in sequence order, from sequence number `from` (default: the first). */
  records(chain: string, from?: number): AsyncIterable<{ time: number; record: string }>;
  /** The sequence numbers the chain's digests cover: the first digest's first, the last one's last. */
  digestSpan(chain: string): Promise<{ first: number; last: number } | undefined>;
  /**
   * The chain's digests in the order they were signed, read a page at a time (a server signs one a
   * minute: over half a million a year), up to the one that ends at `through` when given.
   */
  digests(chain: string, through?: number): AsyncIterable<SignedDigest>;
  close(): Promise<void>;
}

/** The record text closed with keyhold's chain fields: its chain, sequence number and predecessor's hash. */
export function chainedRecord(prefix: string, chain: string, seq: number, previous: Buffer): string {
  return `${prefix}"keyholdChain":${JSON.stringify(chain)},"keyholdSequence":${seq},"keyholdPreviousHash":"${previous.toString("hex")}"}}`;
}

export interface LinkedEvent {
  event: AuditEvent;
  seq: number;
  /** The record text as stored and exported; its SHA-256 is `hash`. */
  text: string;
  hash: Buffer;
}

/**
 * Links a batch onto a chain's head: each event gets the next sequence number and its
 * predecessor's hash in its record. Also returns the new head.
 */
export function linkBatch(
  events: AuditEvent[],
  chain: string,
  head: { seq: number; hash: Buffer },
): { linked: LinkedEvent[]; head: { seq: number; hash: Buffer } } {
  let { seq, hash: previous } = head;
  const linked: LinkedEvent[] = [];
  for (const event of events) {
    seq++;
    const text = chainedRecord(event.recordPrefix, chain, seq, previous);
    const item = { event, seq, text, hash: hash("sha256", text, "buffer") as unknown as Buffer };
    linked.push(item);
    previous = item.hash;
  }
  return { linked, head: { seq, hash: previous } };
}

/** Per key, a linked batch's last successful use of it (written once per key rather than once per event). */
export function lastUsesOf(linked: LinkedEvent[]): Map<string, LinkedEvent> {
  const lastUses = new Map<string, LinkedEvent>();
  for (const item of linked) if (item.event.usesKeys) for (const r of item.event.resources) lastUses.set(r.arn, item);
  return lastUses;
}

/** The audit_events columns both stores write, in the order eventRow gives them. */
export const EVENT_COLUMNS =
  "seq, event_id, event_time, account_id, region, event_source, event_name, username, access_key_id, read_only, error_code, request_id, resources, record, hash";

export function eventRow({ event: e, seq, text, hash }: LinkedEvent): unknown[] {
  return [
    seq,
    e.eventId,
    e.eventTime,
    e.accountId ?? null,
    e.region ?? null,
    e.eventSource,
    e.eventName,
    e.username ?? null,
    e.accessKeyId ?? null,
    e.readOnly,
    e.errorCode ?? null,
    e.requestId,
    resourceColumn(e.resources),
    text,
    hash,
  ];
}

/**
 * The resources column: JSON pairs [type, ARN]. Lookups by ResourceName or ResourceType search it
 * for the quoted value, which cannot match inside another value.
 */
export function resourceColumn(resources: { arn: string; type: string }[]): string {
  return JSON.stringify(resources.map((r) => [r.type, r.arn]));
}

/** One page of LookupEvents, newest first, from every chain's newest-first candidates. */
export function mergePage(candidates: StoredEvent[], q: LookupQuery): { events: StoredEvent[]; cursor?: Record<string, number> } {
  candidates.sort((a, b) => b.eventTime - a.eventTime || (a.chain < b.chain ? 1 : a.chain > b.chain ? -1 : 0) || b.seq - a.seq);
  const events = candidates.slice(0, q.limit);
  if (candidates.length <= q.limit) return { events };
  const cursor: Record<string, number> = { ...q.before };
  for (const e of events) cursor[e.chain] = Math.min(cursor[e.chain] ?? Infinity, e.seq);
  return { events, cursor };
}

export interface DigestInputs {
  previous?: { lastSeq: number; endTime: number; signature: string };
  head: { seq: number; hash: Buffer; time: number };
  first: { seq: number; time: number };
  before?: Buffer;
}

/** Builds and signs the digest of one chain's events since its previous digest. */
export function signDigest(inputs: DigestInputs, key: AuditSigningKey, now: number): { signed: SignedDigest; start: number; end: number } {
  const { previous, head, first, before } = inputs;
  const start = previous?.endTime ?? first.time;
  const end = Math.max(now, head.time, start);
  const digest: Digest = {
    digestVersion: 1,
    digestStartTime: new Date(start).toISOString(),
    digestEndTime: new Date(end).toISOString(),
    firstSequence: first.seq,
    lastSequence: head.seq,
    eventCount: head.seq - first.seq + 1,
    previousEventHash: (before ?? GENESIS_HASH).toString("hex"),
    lastEventHash: head.hash.toString("hex"),
    previousDigestSignature: previous?.signature ?? "",
    publicKeyFingerprint: key.fingerprint,
    digestSignatureAlgorithm: "SHA256withRSA",
  };
  const digestSignature = createSign("sha256").update(stringToSign(digest)).sign(key.privateKey).toString("hex");
  return { signed: { digest, digestSignature }, start, end };
}
