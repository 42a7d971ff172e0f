/**
 * The key store is where key material is protected. The management layer (kms/) asks it to wrap
 * fresh material for storage and to unwrap stored material for use; it never sees the root key.
 * The software key store is the first implementation; a PKCS#11 store fills the same seam.
 */
export interface KeyStore {
  /** Name shown in logs and docs ("software", later "pkcs11"). */
  readonly kind: string;
  /** Encrypts material under the root key, bound to `context` (who the material belongs to). */
  wrap(material: Buffer, context: string): Buffer;
  /** Reverses wrap; throws if the wrapped value or its context was altered. */
  unwrap(wrapped: Buffer, context: string): Buffer;
  /**
   * A keyed, deterministic fingerprint of material (HMAC under a key derived from the root key):
   * lets keyhold recognise the same material again without storing anything that reveals it.
   */
  fingerprint(material: Buffer, context: string): Buffer;
  close(): void;
}

/** Where a key store keeps its sealed root key: one opaque value, written once. */
export interface SealStorage {
  readSeal(): Promise<Buffer | undefined>;
  /** Stores the seal unless one exists; returns false when another node stored one first. */
  writeSeal(sealed: Buffer): Promise<boolean>;
  /**
   * Replaces the seal with `next` if it still is `current`, in one statement (one transaction):
   * a rekey interrupted at any point leaves exactly one of the two. Returns false when the seal
   * was not `current` (another rekey got there first) and changes nothing then.
   */
  replaceSeal(current: Buffer, next: Buffer): Promise<boolean>;
}
