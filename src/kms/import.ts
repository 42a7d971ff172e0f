/**
 * Imported key material (BYOK), as AWS documents it
 * (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html): an RSA wrapping key
 * and an import token valid for 24 hours; the material arrives wrapped with RSA-OAEP, or with
 * RSA-OAEP around an ephemeral AES key that wraps the material with AES key wrap with padding
 * (RFC 5649). A key is bound to the first material imported into it: only the same material can
 * be imported again.
 */
import { constants, createDecipheriv, createPrivateKey, privateDecrypt, type KeyObject } from "node:crypto";
import { ServiceError } from "../errors.js";

export const IMPORT_TOKEN_VALIDITY_MS = 24 * 60 * 60 * 1000;
export const WRAPPING_ALGORITHMS = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"];
export const WRAPPING_KEY_BITS: Readonly<Record<string, number>> = Object.freeze({ RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 });

/** Lengths of importable material per spec, in bytes (AWS: 256-bit symmetric keys; HMAC keys from the hash length to twice it… bounded). */
export const IMPORT_LENGTHS: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  SYMMETRIC_DEFAULT: [32, 32],
  HMAC_224: [28, 64],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
});

/** What an imported private key must be, per spec: the key type and its size or curve (PKCS#8 DER). */
const IMPORTABLE_PAIRS: Readonly<Record<string, { type: string; modulusLength?: number; namedCurve?: string }>> = Object.freeze({
  RSA_2048: { type: "rsa", modulusLength: 2048 },
  RSA_3072: { type: "rsa", modulusLength: 3072 },
  RSA_4096: { type: "rsa", modulusLength: 4096 },
  ECC_NIST_P256: { type: "ec", namedCurve: "prime256v1" },
  ECC_NIST_P384: { type: "ec", namedCurve: "secp384r1" },
  ECC_NIST_P521: { type: "ec", namedCurve: "secp521r1" },
  ECC_SECG_P256K1: { type: "ec", namedCurve: "secp256k1" },
  ECC_NIST_EDWARDS25519: { type: "ed25519" },
});

export function importable(keySpec: string): boolean {
  return keySpec in IMPORT_LENGTHS || keySpec in IMPORTABLE_PAIRS;
}

/** Symmetric and HMAC material by length; private keys as PKCS#8 DER of the key's own type and size. */
export function checkImportedMaterial(keySpec: string, material: Buffer): void {
  const lengths = IMPORT_LENGTHS[keySpec];
  if (lengths) {
    const [min, max] = lengths;
    if (material.length < min || material.length > max) {
      throw new ServiceError("ValidationException", `Key material for ${keySpec} must be ${min === max ? min : `${min} to ${max}`} bytes.`);
    }
    return;
  }
  const want = IMPORTABLE_PAIRS[keySpec]!;
  let details: { type?: string; modulusLength?: number; namedCurve?: string };
  try {
    const key = createPrivateKey({ key: material, format: "der", type: "pkcs8" });
    details = { type: key.asymmetricKeyType, ...key.asymmetricKeyDetails };
  } catch {
    throw new ServiceError("ValidationException", `Key material for ${keySpec} must be a PKCS#8 DER private key.`);
  }
  if (details.type !== want.type || details.modulusLength !== want.modulusLength || details.namedCurve !== want.namedCurve) {
    throw new ServiceError("ValidationException", `The imported private key is not a ${keySpec} key.`);
  }
}

/** Import operations apply to keys created with Origin EXTERNAL only. */
export function requireExternal(arn: string, key: { origin: string }): void {
  if (key.origin !== "EXTERNAL") {
    throw new ServiceError("UnsupportedOperationException", `${arn} does not take imported key material (Origin ${key.origin}).`);
  }
}

/** RFC 5649's alternative initial value, which OpenSSL's id-aes256-wrap-pad expects as the IV. */
const KWP_IV = Buffer.from("a65959a6", "hex");

function oaep(hash: string, privateKey: KeyObject, data: Buffer): Buffer {
  return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

/** Unwraps imported material; undefined when it does not open (the caller answers InvalidCiphertextException). */
export function unwrapImported(algorithm: string, privateKey: KeyObject, bits: number, wrapped: Buffer): Buffer | undefined {
  const hash = algorithm.endsWith("SHA_1") ? "sha1" : "sha256";
  try {
    if (algorithm.startsWith("RSAES_OAEP")) return oaep(hash, privateKey, wrapped);
    const split = bits / 8;
    const aesKey = oaep(hash, privateKey, wrapped.subarray(0, split));
    if (aesKey.length !== 32) return undefined;
    const decipher = createDecipheriv("id-aes256-wrap-pad", aesKey, KWP_IV);
    const material = Buffer.concat([decipher.update(wrapped.subarray(split)), decipher.final()]);
    aesKey.fill(0);
    return material;
  } catch {
    return undefined;
  }
}
