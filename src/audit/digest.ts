/**
 * Digests: at a fixed interval (and at shutdown) a signed record of the events appended since the
 * previous digest: their sequence range, the hash before the first and of the last, and the
 * previous digest's signature, so digests form a chain of their own.
 *
 * The signature (RSA PKCS#1 v1.5, SHA-256) covers, as CloudTrail's digest signatures do:
 *   digestEndTime "\n" firstSequence "-" lastSequence "\n" hex(sha256(digest JSON)) "\n" previousDigestSignature
 */
import { createPublicKey, createVerify, hash } from "node:crypto";
import type Database from "better-sqlite3";
import type { AuditSigningKey } from "./signing-key.js";
import { retainedFrom } from "./queries.js";
import { fieldsOfRecord } from "./record.js";
import { eventTimeOf, firstOf, linesInOrder, listSegments, newestLine, segmentForward, sequenceOf, type Line } from "./segments.js";
import { signDigest } from "./store.js";

export interface Digest {
  digestVersion: 1;
  digestStartTime: string;
  digestEndTime: string;
  firstSequence: number;
  lastSequence: number;
  eventCount: number;
  previousEventHash: string;
  lastEventHash: string;
  previousDigestSignature: string;
  publicKeyFingerprint: string;
  digestSignatureAlgorithm: "SHA256withRSA";
}

export interface SignedDigest {
  digest: Digest;
  digestSignature: string;
}

export function stringToSign(digest: Digest): string {
  const body = JSON.stringify(digest);
  return `${digest.digestEndTime}\n${digest.firstSequence}-${digest.lastSequence}\n${hash("sha256", body, "hex")}\n${digest.previousDigestSignature}`;
}

export function verifyDigest(signed: SignedDigest, publicKeyPem: string): boolean {
  try {
    return createVerify("sha256")
      .update(stringToSign(signed.digest))
      .verify(createPublicKey(publicKeyPem), Buffer.from(signed.digestSignature, "hex"));
  } catch {
    return false;
  }
}

/**
 * Writes a digest covering a SQLite chain's records since its last digest; undefined when there
 * were none. Each digest keeps where its last record ends, so the next finds its first record
 * without a scan.
 */
export function writeDigest(db: Database.Database, dir: string, key: AuditSigningKey, now: number): SignedDigest | undefined {
  return db
    .transaction(() => {
      const previous = db
        .prepare("SELECT last_seq, end_time, signature, end_segment, end_offset FROM audit_digests ORDER BY id DESC LIMIT 1")
        .get() as
        { last_seq: number; end_time: number; signature: string; end_segment: number | null; end_offset: number | null } | undefined;
      const head = newestLine(dir);
      const from = Math.max((previous?.last_seq ?? 0) + 1, retainedFrom(db));
      if (!head || sequenceOf(head.text) < from) return undefined;
      const first = firstLineFrom(dir, from, previous?.end_segment ?? undefined, previous?.end_offset ?? undefined);
      if (!first) return undefined;
      const firstFields = fieldsOfRecord(first.text);
      const { signed, start, end } = signDigest(
        {
          previous: previous && { lastSeq: previous.last_seq, endTime: Number(previous.end_time), signature: previous.signature },
          head: {
            seq: sequenceOf(head.text),
            hash: hash("sha256", head.text, "buffer") as unknown as Buffer,
            time: eventTimeOf(head.text),
          },
          first: { seq: firstFields.seq, time: firstFields.eventTime },
          before: Buffer.from(firstFields.previousHash, "hex"),
        },
        key,
        now,
      );
      db.prepare(
        "INSERT INTO audit_digests (first_seq, last_seq, start_time, end_time, body, signature, end_segment, end_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        signed.digest.firstSequence,
        signed.digest.lastSequence,
        start,
        end,
        JSON.stringify(signed.digest),
        signed.digestSignature,
        head.segment.first,
        head.end,
      );
      return signed;
    })
    .immediate();
}

/**
 * The record with sequence number `from`: the one after where the previous digest ended when that
 * is known, else the first of the segment that holds it at or after `from`.
 */
function firstLineFrom(dir: string, from: number, segment?: number, offset?: number): Line | undefined {
  const segments = listSegments(dir);
  if (segment !== undefined && offset !== undefined) {
    for (const s of segments) {
      if (s.first < segment) continue;
      const line = firstOf(segmentForward(s, s.first === segment ? offset : 0));
      if (line === undefined) continue;
      if (sequenceOf(line.text) === from) return line;
      break;
    }
  }
  for (const line of linesInOrder(dir, from)) if (sequenceOf(line.text) >= from) return line;
  return undefined;
}

/** Digests read from the database at once, at most. */
export const DIGESTS_PER_PAGE = 1000;

/** A chain's digests in the order they were signed, DIGESTS_PER_PAGE rows a query, up to the one ending at `through`. */
export function* readDigests(db: Database.Database, through = Number.MAX_SAFE_INTEGER): Generator<SignedDigest> {
  const page = db.prepare(
    `SELECT id, body, signature FROM audit_digests WHERE id > ? AND last_seq <= ? ORDER BY id LIMIT ${DIGESTS_PER_PAGE}`,
  );
  for (let after = 0; ;) {
    const rows = page.all(after, through) as { id: number; body: string; signature: string }[];
    for (const r of rows) yield { digest: JSON.parse(r.body) as Digest, digestSignature: r.signature };
    if (rows.length < DIGESTS_PER_PAGE) return;
    after = rows.at(-1)!.id;
  }
}

export function digestSpan(db: Database.Database): { first: number; last: number } | undefined {
  const row = db.prepare("SELECT min(first_seq) AS first, max(last_seq) AS last FROM audit_digests").get() as {
    first: number | null;
    last: number | null;
  };
  return row.first === null || row.last === null ? undefined : { first: row.first, last: row.last };
}
