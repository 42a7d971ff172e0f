/**
 * ACM's key algorithms in one table: what ImportCertificate accepts, what RequestCertificate
 * generates, how a node KeyObject maps to a KeyAlgorithm name, and the WebCrypto parameters a
 * generated key and its CSR use. Private keys pass through here as KeyObjects and leave only
 * as PKCS#8 DER for the key store to wrap, or as PKCS#8 encrypted under an export passphrase.
 */
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from "node:crypto";
import { ServiceError } from "../errors.js";

export type KeyAlgorithm = "RSA_1024" | "RSA_2048" | "RSA_3072" | "RSA_4096" | "EC_prime256v1" | "EC_secp384r1" | "EC_secp521r1";

interface KeyAlgorithmSpec {
  /** RequestCertificate may generate it (ACM: RSA_2048, EC_prime256v1, EC_secp384r1). */
  requestable: boolean;
  /** WebCrypto generation and CSR signing parameters. */
  generate: RsaHashedKeyGenParams | EcKeyGenParams;
  sign: { name: string; hash: string; namedCurve?: string };
}

const RSA = (bits: number, requestable: boolean): KeyAlgorithmSpec => ({
  requestable,
  generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
});
const EC = (curve: string, hash: string, requestable: boolean): KeyAlgorithmSpec => ({
  requestable,
  generate: { name: "ECDSA", namedCurve: curve },
  sign: { name: "ECDSA", hash, namedCurve: curve },
});

export const KEY_ALGORITHMS: Readonly<Record<KeyAlgorithm, KeyAlgorithmSpec>> = Object.freeze({
  RSA_1024: RSA(1024, false),
  RSA_2048: RSA(2048, true),
  RSA_3072: RSA(3072, false),
  RSA_4096: RSA(4096, false),
  EC_prime256v1: EC("P-256", "SHA-256", true),
  EC_secp384r1: EC("P-384", "SHA-384", true),
  EC_secp521r1: EC("P-521", "SHA-512", false),
});

const CURVES: Readonly<Record<string, KeyAlgorithm>> = {
  prime256v1: "EC_prime256v1",
  secp384r1: "EC_secp384r1",
  secp521r1: "EC_secp521r1",
};

/** The KeyAlgorithm of a public or private key, or undefined when ACM has no name for it. */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "rsa") {
    const name = `RSA_${d?.modulusLength}`;
    return name in KEY_ALGORITHMS ? (name as KeyAlgorithm) : undefined;
  }
  if (key.asymmetricKeyType === "ec") return CURVES[d?.namedCurve ?? ""];
  return undefined;
}

/**
 * The private key ImportCertificate was given: PEM, unencrypted (PKCS#8, or PKCS#1 / SEC 1 as
 * OpenSSL writes them). ACM refuses an encrypted key; so does keyhold, without trying passphrases.
 */
export function parseImportedPrivateKey(pem: Buffer): KeyObject {
  const text = pem.toString("latin1");
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text))
    throw new ServiceError("ValidationException", "The private key is encrypted; ACM imports unencrypted private keys only.");
  if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(text))
    throw new ServiceError("ValidationException", "The private key is not a PEM-encoded private key.");
  try {
    return createPrivateKey({ key: text, format: "pem" });
  } catch {
    throw new ServiceError("ValidationException", "The private key could not be parsed.");
  }
}

/** Whether `privateKey` is the private half of `publicKey`: their public parts compared as SPKI DER. */
export function keysMatch(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const a = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const b = publicKey.export({ type: "spki", format: "der" });
  return a.equals(b);
}

/** The private key as PKCS#8 DER: the form the key store wraps. The caller zeroes it after use. */
export function pkcs8Der(privateKey: KeyObject): Buffer {
  return privateKey.export({ type: "pkcs8", format: "der" });
}

/** A fresh key pair for RequestCertificate and renewals, as WebCrypto keys (the CSR is signed with them). */
export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHMS[algorithm].generate, true, ["sign", "verify"])) as CryptoKeyPair;
}

/**
 * ExportCertificate's PrivateKey: PKCS#8 encrypted under the passphrase (PBES2: PBKDF2 with
 * HMAC-SHA-256 and AES-256-CBC, as OpenSSL writes `-----BEGIN ENCRYPTED PRIVATE KEY-----`),
 * which `openssl pkcs8 -in key.pem -passin …` opens.
 */
export function encryptedPkcs8(der: Buffer, passphrase: Buffer): string {
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  return key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }) as string;
}
