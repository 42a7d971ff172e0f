/**
 * Turns the root-of-trust settings into a KEK source: a master key file, a passphrase (given or
 * read from a file), or an open PKCS#11 token. The token is opened before anything is created, so
 * a module that does not load, a token that is missing or not initialized, or a wrong PIN stops a
 * first start with one line and leaves no data directory, no seal and no key behind.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { Token, TokenError } from "../hsm/token.js";
import { KeyStoreError, type KekSource } from "./seal.js";

export interface RootOfTrustSettings {
  dataDir: string;
  masterKeyFile?: string;
  masterPassphrase?: string;
  masterPassphraseFile?: string;
  hsmModule?: string;
  hsmTokenLabel?: string;
  hsmSlot?: number;
  hsmPinFile?: string;
  hsmPin?: string;
}

export interface RootOfTrust {
  source: KekSource;
  /** Closes the token, if there is one (the root key, once unsealed, no longer needs it). */
  close(): Promise<void>;
}

/** A PIN or passphrase file is a line, not a document: anything larger is a wrong path. */
const SECRET_FILE_MAX = 4096;

export async function openRootOfTrust(settings: RootOfTrustSettings): Promise<RootOfTrust> {
  if (settings.hsmModule !== undefined) {
    const pin = settings.hsmPinFile !== undefined ? readSecretLine(settings.hsmPinFile, "HSM PIN file") : settings.hsmPin;
    if (pin === undefined || pin.length === 0) throw new KeyStoreError("HSM: the token user's PIN is empty");
    const spec = { module: settings.hsmModule, tokenLabel: settings.hsmTokenLabel, slot: settings.hsmSlot };
    let token: Token;
    try {
      token = await Token.open(spec, pin);
    } catch (error) {
      if (error instanceof TokenError) throw new KeyStoreError(`HSM: ${error.message} (${error.code})`);
      throw error;
    }
    return { source: { kind: "pkcs11", token }, close: () => token.close() };
  }
  const none = async () => undefined;
  if (settings.masterPassphraseFile !== undefined) {
    return {
      source: { kind: "passphrase", passphrase: readSecretLine(settings.masterPassphraseFile, "master passphrase file") },
      close: none,
    };
  }
  if (settings.masterPassphrase !== undefined)
    return { source: { kind: "passphrase", passphrase: settings.masterPassphrase }, close: none };
  return { source: { kind: "file", path: settings.masterKeyFile ?? join(settings.dataDir, "master.key") }, close: none };
}

/** The first line of a small file (a PIN, a passphrase); the error names the file, never its content. */
export function readSecretLine(path: string, what: string): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new KeyStoreError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > SECRET_FILE_MAX) throw new KeyStoreError(`the ${what} ${path} is ${size} bytes; it should hold one line`);
    const buffer = Buffer.alloc(size);
    readSync(fd, buffer, 0, size, 0);
    const line = buffer.toString("utf8").split(/\r?\n/)[0]!;
    buffer.fill(0);
    if (line.length === 0) throw new KeyStoreError(`the ${what} ${path} is empty`);
    return line;
  } finally {
    closeSync(fd);
  }
}
