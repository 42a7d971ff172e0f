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

/** Writes a digest covering a SQLite chain's events since its last one; undefined when there were none. */
export function writeDigest(db: Database.Database, key: AuditSigningKey, now: number): SignedDigest | undefined {
  return db
    .transaction(() => {
      const previous = db.prepare("SELECT last_seq, end_time, signature FROM audit_digests ORDER BY id DESC LIMIT 1").get() as
        { last_seq: number; end_time: number; signature: string } | undefined;
      const head = db.prepare("SELECT seq, hash, event_time FROM audit_events ORDER BY seq DESC LIMIT 1").get() as
        { seq: number; hash: Buffer; event_time: number } | undefined;
      const from = (previous?.last_seq ?? 0) + 1;
      if (!head || head.seq < from) return undefined;
      const first = db.prepare("SELECT seq, event_time FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT 1").get(from) as {
        seq: number;
        event_time: number;
      };
      const before = db.prepare("SELECT hash FROM audit_events WHERE seq = ?").get(first.seq - 1) as { hash: Buffer } | undefined;
      const { signed, start, end } = signDigest(
        {
          previous: previous && { lastSeq: previous.last_seq, endTime: Number(previous.end_time), signature: previous.signature },
          head: { seq: head.seq, hash: head.hash, time: Number(head.event_time) },
          first: { seq: first.seq, time: Number(first.event_time) },
          before: before?.hash,
        },
        key,
        now,
      );
      db.prepare("INSERT INTO audit_digests (first_seq, last_seq, start_time, end_time, body, signature) VALUES (?, ?, ?, ?, ?, ?)").run(
        signed.digest.firstSequence,
        signed.digest.lastSequence,
        start,
        end,
        JSON.stringify(signed.digest),
        signed.digestSignature,
      );
      return signed;
    })
    .immediate();
}

export function readDigests(db: Database.Database): SignedDigest[] {
  return (db.prepare("SELECT body, signature FROM audit_digests ORDER BY id").all() as { body: string; signature: string }[]).map((r) => ({
    digest: JSON.parse(r.body) as Digest,
    digestSignature: r.signature,
  }));
}
