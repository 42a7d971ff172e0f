/**
 * The software key store: a random 256-bit root key, held in memory in a KeyObject and sealed at
 * rest under a key-encryption key (KEK) from a master key file, a passphrase (scrypt), or a
 * non-extractable key in a PKCS#11 token (src/keystore/seal.ts, docs/key-hierarchy.md). The
 * token, when there is one, is used only to unseal the root key at start: key material is
 * wrapped and unwrapped under the root key in this process, at software speed.
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from "node:crypto";
import { KEY_LENGTH, open, seal, systemRandom, type RandomSource } from "../crypto/aes-gcm.js";
import type { KeyStore, SealStorage } from "./keystore.js";
import { KeyStoreError, sealRoot, unsealRoot, type KekSource } from "./seal.js";

export { KeyStoreError, loadOrCreateMasterKeyFile, type KekSource } from "./seal.js";

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
    if (existing) return new SoftwareKeyStore(takeKey(await unsealRoot(existing, source)), random);
    const root = random(KEY_LENGTH);
    const { sealed, made } = await sealRoot(source, root, random);
    if (await storage.writeSeal(sealed)) return new SoftwareKeyStore(takeKey(root), random);
    // Several nodes starting on a new database: the first seal wins, the others open it (and a
    // token key made for the losing seal goes).
    root.fill(0);
    if (made && source.kind === "pkcs11") await source.token.destroy(made).catch(() => undefined);
    return SoftwareKeyStore.open(storage, source, random);
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
