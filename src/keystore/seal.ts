/**
 * The sealed root key: the one value that protects every key keyhold holds, sealed under a
 * key-encryption key (KEK) from a master key file, a passphrase (scrypt), or a non-extractable
 * AES-256 key inside a PKCS#11 token (src/hsm/token.ts). Format (docs/key-hierarchy.md):
 *
 *   "KHRK" | version 0x01 | KEK kind | salt or key id (16) | iv (12) | sealed root key (32) | tag (16)
 *
 * with the first 22 bytes as additional data, so neither the KEK kind nor the salt can be swapped.
 * KEK kind 0x01 file, 0x02 passphrase (the 16 bytes are scrypt's salt), 0x03 PKCS#11 (the 16 bytes
 * name the token key, labelled "keyhold-root-<hex>", and the GCM runs inside the token).
 *
 * Rekey (`keyhold rekey`) reseals the same root key under another KEK: nothing else is rewritten,
 * and the seal row is swapped in one statement, so an interrupted rekey leaves exactly one seal.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes, scryptSync } from "node:crypto";
import { tighten } from "../data-dir.js";
import { KEY_LENGTH, open, seal, type RandomSource } from "../crypto/aes-gcm.js";
import { TokenError, type KeyRef, type Token } from "../hsm/token.js";
import type { SealStorage } from "./keystore.js";

const MAGIC = Buffer.from("KHRK", "ascii");
const SEAL_VERSION = 1;
export const HEADER_LENGTH = 4 + 1 + 1 + 16;
const SEALED_LENGTH = HEADER_LENGTH + 12 + KEY_LENGTH + 16;
const KEK_FILE = 1;
const KEK_PASSPHRASE = 2;
const KEK_PKCS11 = 3;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
/** Labels of the token keys that seal a root key: "keyhold-root-" and the seal's 16-byte id in hex. */
export const ROOT_KEY_LABEL_PREFIX = "keyhold-root-";

/** Where the KEK comes from. A pkcs11 source is an open token; its opener closes it. */
export type KekSource = { kind: "file"; path: string } | { kind: "passphrase"; passphrase: string } | { kind: "pkcs11"; token: Token };

export class KeyStoreError extends Error {}

const KIND_BYTE = { file: KEK_FILE, passphrase: KEK_PASSPHRASE, pkcs11: KEK_PKCS11 } as const;

/** How to start keyhold with each kind, for messages. */
const KIND_SETTING: Record<number, string> = {
  [KEK_FILE]: "a master key file (KEYHOLD_MASTER_KEY_FILE)",
  [KEK_PASSPHRASE]: "a passphrase (KEYHOLD_MASTER_PASSPHRASE)",
  [KEK_PKCS11]: "a key in an HSM (KEYHOLD_HSM_MODULE, KEYHOLD_HSM_TOKEN_LABEL or KEYHOLD_HSM_SLOT, KEYHOLD_HSM_PIN_FILE)",
};

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

/** The label of the token key a pkcs11 seal names. */
export function rootKeyLabel(sealed: Buffer): string {
  return ROOT_KEY_LABEL_PREFIX + sealed.subarray(6, HEADER_LENGTH).toString("hex");
}

/** The KEK kind a seal names: "file", "passphrase" or "pkcs11". */
export function sealKind(sealed: Buffer): KekSource["kind"] {
  checkFormat(sealed);
  return sealed[5] === KEK_FILE ? "file" : sealed[5] === KEK_PASSPHRASE ? "passphrase" : "pkcs11";
}

function checkFormat(sealed: Buffer): void {
  if (
    sealed.length !== SEALED_LENGTH ||
    !sealed.subarray(0, 4).equals(MAGIC) ||
    sealed[4] !== SEAL_VERSION ||
    !(sealed[5]! >= KEK_FILE && sealed[5]! <= KEK_PKCS11)
  ) {
    throw new KeyStoreError("the sealed root key in the database is not in a format this keyhold understands");
  }
}

/**
 * Seals `root` under a new KEK from `source`. For a token, a fresh non-extractable AES-256 key is
 * generated in it for this seal (returned as `made`, so a seal that is not stored can be undone).
 */
export async function sealRoot(source: KekSource, root: Buffer, random: RandomSource): Promise<{ sealed: Buffer; made?: KeyRef }> {
  const id = random(16);
  const header = Buffer.concat([MAGIC, Buffer.from([SEAL_VERSION, KIND_BYTE[source.kind]]), id]);
  if (source.kind === "pkcs11") {
    const made = await hsm(
      () => source.token.generateAesKey(ROOT_KEY_LABEL_PREFIX + id.toString("hex"), id),
      "generate the sealing key in",
    );
    try {
      const body = await hsm(() => source.token.encrypt(made, root, header), "seal the root key in");
      return { sealed: Buffer.concat([header, body]), made };
    } catch (error) {
      await source.token.destroy(made).catch(() => undefined);
      throw error;
    }
  }
  const kek = source.kind === "file" ? loadOrCreateMasterKeyFile(source.path) : derive(source.passphrase, id);
  try {
    return { sealed: Buffer.concat([header, seal(kek, root, header, random)]) };
  } finally {
    kek.fill(0);
  }
}

/** Opens a seal with `source`; every failure is one KeyStoreError saying what to do. */
export async function unsealRoot(sealed: Buffer, source: KekSource): Promise<Buffer> {
  checkFormat(sealed);
  if (sealed[5] !== KIND_BYTE[source.kind]) {
    throw new KeyStoreError(`the root key was sealed with ${KIND_SETTING[sealed[5]!]}; start keyhold with the same`);
  }
  const header = sealed.subarray(0, HEADER_LENGTH);
  const body = sealed.subarray(HEADER_LENGTH);
  if (source.kind === "pkcs11") {
    const label = rootKeyLabel(sealed);
    const key = await hsm(() => source.token.findKey(label), "find the sealing key in");
    if (!key) {
      throw new KeyStoreError(
        `token "${source.token.label}" holds no key ${label}, the key this installation's root key is sealed with (another token, or the key was destroyed: if it was zeroized, every key of this installation is cryptographically shredded)`,
      );
    }
    try {
      return await source.token.decrypt(key, body, header);
    } catch (error) {
      if (error instanceof TokenError && error.code === "DECRYPTION_FAILED") {
        throw new KeyStoreError(`the key ${label} in token "${source.token.label}" does not unseal the root key`);
      }
      throw hsmError(error, "unseal the root key in");
    }
  }
  // An initialized data directory whose master key file is missing (a typo in
  // --master-key-file, a lost mount): making a new random key there would never unseal the root
  // key and would leave a misleading file behind. Say so and create nothing.
  if (source.kind === "file" && !existsSync(source.path)) {
    throw new KeyStoreError(
      `master key file ${source.path} does not exist; the root key of this data directory is sealed with the master key file it was initialized with (nothing was created)`,
    );
  }
  const kek =
    source.kind === "file" ? loadOrCreateMasterKeyFile(source.path) : derive(source.passphrase, sealed.subarray(6, HEADER_LENGTH));
  const root = open(kek, body, header);
  kek.fill(0);
  if (!root) throw new KeyStoreError("the master key does not unseal the root key (wrong master key file or passphrase)");
  return root;
}

/**
 * Reseals the root key under `next`: opens the current seal with `current`, seals the same root
 * key under a new KEK from `next`, and swaps the seal row only if it is still the one opened. On
 * any failure before the swap nothing changes (a token key made for the new seal is destroyed).
 * After the swap, a token key that sealed the old seal is destroyed: the old sealing key no longer
 * opens anything. Returns what the seal now is.
 */
export async function rekeySeal(storage: SealStorage, current: KekSource, next: KekSource, random: RandomSource): Promise<string> {
  const existing = await storage.readSeal();
  if (!existing) throw new KeyStoreError("this data directory has no sealed root key: start keyhold once to initialize it");
  const root = await unsealRoot(existing, current);
  let made: KeyRef | undefined;
  try {
    const resealed = await sealRoot(next, root, random);
    made = resealed.made;
    if (!(await storage.replaceSeal(existing, resealed.sealed))) {
      throw new KeyStoreError("the sealed root key changed while rekeying (another rekey?); nothing was changed, run it again");
    }
    made = undefined;
  } finally {
    root.fill(0);
    if (made && next.kind === "pkcs11") await next.token.destroy(made).catch(() => undefined);
  }
  let note = "";
  if (current.kind === "pkcs11") {
    // Each seal makes its own token key, so the old one is never the key the new seal needs.
    const label = rootKeyLabel(existing);
    try {
      const old = await current.token.findKey(label);
      if (old) await current.token.destroy(old);
    } catch (error) {
      note = `; the old sealing key ${label} could not be destroyed (${(error as Error).message}): destroy it with the token's tools`;
    }
  }
  return describe(next) + note;
}

function describe(source: KekSource): string {
  if (source.kind === "file") return `master key file ${source.path}`;
  if (source.kind === "passphrase") return "a passphrase";
  return `a key in token "${source.token.label}"`;
}

function derive(passphrase: string, salt: Buffer): Buffer {
  return scryptSync(passphrase.normalize("NFKC"), salt, KEY_LENGTH, SCRYPT);
}

async function hsm<T>(run: () => Promise<T>, what: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw hsmError(error, what);
  }
}

function hsmError(error: unknown, what: string): Error {
  if (error instanceof TokenError) return new KeyStoreError(`HSM: cannot ${what} the token: ${error.message}`);
  return error as Error;
}
