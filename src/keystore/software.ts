/**
 * The software key store: a random 256-bit root key, sealed at rest under a key-encryption key
 * (KEK) that comes either from a master key file or from a passphrase through scrypt.
 *
 * Sealed root key (docs/key-hierarchy.md):
 *   "KHRK" | version 0x01 | KEK kind (0x01 file, 0x02 passphrase) | salt (16) | iv (12) | ct (32) | tag (16)
 * with the first 22 bytes as additional data, so the KEK kind and salt cannot be swapped.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tighten } from "../data-dir.js";
import { dirname } from "node:path";
import { createHmac, createSecretKey, hkdfSync, randomBytes, scryptSync, type KeyObject } from "node:crypto";
import { KEY_LENGTH, open, seal, systemRandom, type RandomSource } from "../crypto/aes-gcm.js";
import type { KeyStore, SealStorage } from "./keystore.js";

const MAGIC = Buffer.from("KHRK", "ascii");
const SEAL_VERSION = 1;
const HEADER_LENGTH = 4 + 1 + 1 + 16;
const KEK_FILE = 1;
const KEK_PASSPHRASE = 2;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export type KekSource = { kind: "file"; path: string } | { kind: "passphrase"; passphrase: string };

export class KeyStoreError extends Error {}

/** Reads the master key file, creating it (0600, 32 random bytes, base64) when absent. */
export function loadOrCreateMasterKeyFile(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(KEY_LENGTH).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(path, 0o600);
  } else {
    // The key that seals every key: an existing file others may read is made 0600 before it is used.
    tighten(path, 0o600);
  }
  const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  if (key.length !== KEY_LENGTH) {
    throw new KeyStoreError(`master key file ${path} must hold ${KEY_LENGTH} bytes in base64, found ${key.length}`);
  }
  return key;
}

function deriveKek(source: KekSource, salt: Buffer): Buffer {
  return source.kind === "file"
    ? loadOrCreateMasterKeyFile(source.path)
    : scryptSync(source.passphrase.normalize("NFKC"), salt, KEY_LENGTH, SCRYPT);
}

export class SoftwareKeyStore implements KeyStore {
  readonly kind = "software";
  private readonly fingerprintKey: KeyObject;

  private constructor(
    private readonly rootKey: KeyObject,
    private readonly random: RandomSource,
  ) {
    // A separate key for fingerprints, so no MAC is ever computed under the wrapping key itself.
    this.fingerprintKey = createSecretKey(Buffer.from(hkdfSync("sha256", rootKey, Buffer.alloc(0), "keyhold:fingerprint:v1", 32)));
  }

  /** Unseals the root key, or creates and seals one on first start. */
  static async open(storage: SealStorage, source: KekSource, random: RandomSource = systemRandom): Promise<SoftwareKeyStore> {
    const existing = await storage.readSeal();
    const kekKind = source.kind === "file" ? KEK_FILE : KEK_PASSPHRASE;
    if (!existing) {
      const salt = random(16);
      const header = Buffer.concat([MAGIC, Buffer.from([SEAL_VERSION, kekKind]), salt]);
      const kek = deriveKek(source, salt);
      const root = random(KEY_LENGTH);
      const written = await storage.writeSeal(Buffer.concat([header, seal(kek, root, header, random)]));
      kek.fill(0);
      // Several nodes starting on a new database: the first seal wins, the others open it.
      if (!written) return SoftwareKeyStore.open(storage, source, random);
      return new SoftwareKeyStore(takeKey(root), random);
    }
    if (existing.length < HEADER_LENGTH || !existing.subarray(0, 4).equals(MAGIC) || existing[4] !== SEAL_VERSION) {
      throw new KeyStoreError("the sealed root key in the database is not in a format this keyhold understands");
    }
    if (existing[5] !== kekKind) {
      const want = existing[5] === KEK_FILE ? "a master key file (KEYHOLD_MASTER_KEY_FILE)" : "a passphrase (KEYHOLD_MASTER_PASSPHRASE)";
      throw new KeyStoreError(`the root key was sealed with ${want}; start keyhold with the same`);
    }
    // An initialized data directory whose master key file is missing (a typo in
    // --master-key-file, a lost mount): making a new random key there would never unseal the root
    // key and would leave a misleading file behind. Say so and create nothing.
    if (source.kind === "file" && !existsSync(source.path)) {
      throw new KeyStoreError(
        `master key file ${source.path} does not exist; the root key of this data directory is sealed with the master key file it was initialized with (nothing was created)`,
      );
    }
    const header = existing.subarray(0, HEADER_LENGTH);
    const kek = deriveKek(source, existing.subarray(6, HEADER_LENGTH));
    const root = open(kek, existing.subarray(HEADER_LENGTH), header);
    kek.fill(0);
    if (!root) throw new KeyStoreError("the master key does not unseal the root key (wrong master key file or passphrase)");
    return new SoftwareKeyStore(takeKey(root), random);
  }

  wrap(material: Buffer, context: string): Buffer {
    return seal(this.rootKey, material, Buffer.from(context, "utf8"), this.random);
  }

  unwrap(wrapped: Buffer, context: string): Buffer {
    const material = open(this.rootKey, wrapped, Buffer.from(context, "utf8"));
    if (!material) throw new KeyStoreError(`wrapped material for ${context} does not open under the root key`);
    return material;
  }

  fingerprint(material: Buffer, context: string): Buffer {
    return createHmac("sha256", this.fingerprintKey).update(context).update("\0").update(material).digest();
  }

  close(): void {}
}

/** Moves raw key bytes into a KeyObject (held outside the JS heap) and zeroes the Buffer. */
export function takeKey(bytes: Buffer): KeyObject {
  const key = createSecretKey(bytes); // copied into native memory
  bytes.fill(0);
  return key;
}
