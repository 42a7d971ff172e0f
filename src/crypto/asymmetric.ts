/**
 * Signatures, RSA-OAEP, HMAC and ECDH through node:crypto, with KMS algorithm names mapped to
 * node:crypto parameters in one frozen table. Signatures are DER-encoded for ECDSA, as KMS returns them.
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  privateDecrypt,
  publicEncrypt,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type KeyObject,
} from "node:crypto";
import { ed25519ph } from "@noble/curves/ed25519.js";

interface SigningParams {
  hash: string | null;
  padding?: number;
  saltLength?: number;
}

export const SIGNING: Readonly<Record<string, SigningParams & { digestLength: number }>> = Object.freeze({
  RSASSA_PSS_SHA_256: { hash: "sha256", padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32, digestLength: 32 },
  RSASSA_PSS_SHA_384: { hash: "sha384", padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48, digestLength: 48 },
  RSASSA_PSS_SHA_512: { hash: "sha512", padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64, digestLength: 64 },
  RSASSA_PKCS1_V1_5_SHA_256: { hash: "sha256", padding: constants.RSA_PKCS1_PADDING, digestLength: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: "sha384", padding: constants.RSA_PKCS1_PADDING, digestLength: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: "sha512", padding: constants.RSA_PKCS1_PADDING, digestLength: 64 },
  ECDSA_SHA_256: { hash: "sha256", digestLength: 32 },
  ECDSA_SHA_384: { hash: "sha384", digestLength: 48 },
  ECDSA_SHA_512: { hash: "sha512", digestLength: 64 },
  ED25519_SHA_512: { hash: null, digestLength: 64 },
  ED25519_PH_SHA_512: { hash: null, digestLength: 64 },
});

/**
 * Ed25519ph (RFC 8032 §5.1, SHA-512 prehash) is not in Node 20's OpenSSL 3.0; @noble/curves
 * implements it. The key stays a node KeyObject; its 32-byte seed is read out only for the call.
 */
function ed25519phSign(privateKey: KeyObject, message: Buffer): Buffer {
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
  try {
    return Buffer.from(ed25519ph.sign(message, seed));
  } finally {
    seed.fill(0);
  }
}

function ed25519phVerify(privateKey: KeyObject, message: Buffer, signature: Buffer): boolean {
  const publicKey = Buffer.from(createPublicKey(privateKey).export({ format: "jwk" }).x!, "base64url");
  try {
    return ed25519ph.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

export const OAEP: Readonly<Record<string, string>> = Object.freeze({ RSAES_OAEP_SHA_1: "sha1", RSAES_OAEP_SHA_256: "sha256" });

export const MAC: Readonly<Record<string, string>> = Object.freeze({
  HMAC_SHA_224: "sha224",
  HMAC_SHA_256: "sha256",
  HMAC_SHA_384: "sha384",
  HMAC_SHA_512: "sha512",
});

/** Moves PKCS#8 DER bytes into a private KeyObject and zeroes the bytes. */
export function takePrivateKey(der: Buffer): KeyObject {
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  return key;
}

export function publicKeyDer(privateKey: KeyObject): Buffer {
  return createPublicKey(privateKey).export({ type: "spki", format: "der" });
}

function keyOptions(key: KeyObject, p: SigningParams) {
  return p.padding === undefined ? { key } : { key, padding: p.padding, saltLength: p.saltLength };
}

export function signMessage(algorithm: string, key: KeyObject, message: Buffer): Buffer {
  if (algorithm === "ED25519_PH_SHA_512") return ed25519phSign(key, message);
  const p = SIGNING[algorithm]!;
  return nodeSign(p.hash, message, keyOptions(key, p));
}

export function verifyMessage(algorithm: string, key: KeyObject, message: Buffer, signature: Buffer): boolean {
  if (algorithm === "ED25519_PH_SHA_512") return ed25519phVerify(key, message, signature);
  const p = SIGNING[algorithm]!;
  try {
    return nodeVerify(p.hash, message, keyOptions(createPublicKey(key), p), signature);
  } catch {
    return false;
  }
}

/** RSA-OAEP; the label is empty and MGF1 uses the same hash, as KMS does. */
export function oaepEncrypt(algorithm: string, privateKey: KeyObject, plaintext: Buffer): Buffer {
  return publicEncrypt(
    { key: createPublicKey(privateKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP[algorithm]! },
    plaintext,
  );
}

export function oaepDecrypt(algorithm: string, privateKey: KeyObject, ciphertext: Buffer): Buffer | undefined {
  try {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP[algorithm]! }, ciphertext);
  } catch {
    return undefined;
  }
}

/** The largest plaintext RSA-OAEP takes for a modulus of `bits` (k − 2·hLen − 2 bytes). */
export function oaepMaxPlaintext(algorithm: string, bits: number): number {
  const hashLength = OAEP[algorithm] === "sha1" ? 20 : 32;
  return bits / 8 - 2 * hashLength - 2;
}

export function mac(algorithm: string, key: KeyObject, message: Buffer): Buffer {
  return createHmac(MAC[algorithm]!, key).update(message).digest();
}

export function macEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** ECDH between our private key and the caller's public key (DER SubjectPublicKeyInfo). */
export function ecdh(privateKey: KeyObject, peerSpki: Buffer): Buffer | undefined {
  try {
    return diffieHellman({ privateKey, publicKey: createPublicKey({ key: peerSpki, format: "der", type: "spki" }) });
  } catch {
    return undefined;
  }
}
