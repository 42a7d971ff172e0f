/**
 * keyhold's own audit signing key: RSA-2048, signing digests with PKCS#1 v1.5 SHA-256 as
 * CloudTrail does. Made at the first start; the private key is stored only wrapped by the key
 * store; the public key is stored as PEM and exported for offline verification.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type Database from "better-sqlite3";
import type { KeyStore } from "../keystore/keystore.js";

export interface AuditSigningKey {
  fingerprint: string;
  publicKeyPem: string;
  privateKey: KeyObject;
  /** When the key was made: the start of its validity (CloudTrail's ListPublicKeys). */
  createdAt?: number;
}

export function fingerprintOf(publicKeyPem: string): string {
  return createHash("sha256").update(publicKeyPem.trim()).digest("hex");
}

export function signingKeyContext(fingerprint: string): string {
  return `keyhold:audit-signing-key:v1:${fingerprint}`;
}

export function loadOrCreateSigningKey(db: Database.Database, keystore: KeyStore, now: number): AuditSigningKey {
  const row = db.prepare("SELECT * FROM audit_signing_keys ORDER BY created_at DESC LIMIT 1").get() as
    { fingerprint: string; public_key: string; wrapped_private_key: Buffer; created_at: number } | undefined;
  if (row) return openSigningKey(keystore, row.fingerprint, row.public_key, row.wrapped_private_key, Number(row.created_at));
  const fresh = newSigningKey(keystore);
  db.prepare("INSERT OR IGNORE INTO audit_signing_keys (fingerprint, public_key, wrapped_private_key, created_at) VALUES (?, ?, ?, ?)").run(
    fresh.fingerprint,
    fresh.publicKeyPem,
    fresh.wrappedPrivateKey,
    now,
  );
  // Another process may have made one at the same moment: use whichever is stored.
  return loadOrCreateSigningKey(db, keystore, now);
}

export function publicKeyPem(db: Database.Database): string | undefined {
  const row = db.prepare("SELECT public_key FROM audit_signing_keys ORDER BY created_at DESC LIMIT 1").get() as
    { public_key: string } | undefined;
  return row?.public_key;
}

/** A fresh RSA-2048 signing key: its PEM public key, fingerprint and the private key wrapped by the key store. */
export function newSigningKey(keystore: KeyStore): { fingerprint: string; publicKeyPem: string; wrappedPrivateKey: Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const fingerprint = fingerprintOf(publicKeyPem);
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  try {
    return { fingerprint, publicKeyPem, wrappedPrivateKey: keystore.wrap(der, signingKeyContext(fingerprint)) };
  } finally {
    der.fill(0);
  }
}

/** Opens a stored signing key through the key store. */
export function openSigningKey(
  keystore: KeyStore,
  fingerprint: string,
  publicKeyPem: string,
  wrapped: Buffer,
  createdAt?: number,
): AuditSigningKey {
  const der = keystore.unwrap(wrapped, signingKeyContext(fingerprint));
  const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  return { fingerprint, publicKeyPem, privateKey, createdAt };
}
