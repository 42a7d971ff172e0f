/**
 * Signing a message digest the caller computed (KMS MessageType DIGEST). node:crypto always hashes
 * the message itself, so:
 *  - ECDSA over a digest goes through @noble/curves (prehash off), DER-encoded as KMS returns it;
 *  - RSASSA-PKCS1-v1_5 over a digest is RSA with PKCS#1 type-1 padding over DigestInfo ‖ digest
 *    (RFC 8017 §9.2; the DigestInfo prefixes are the RFC's constants), done by OpenSSL.
 * RSASSA-PSS and Ed25519ph over a digest have no such route here and are refused by the caller.
 */
import { constants, createPublicKey, privateEncrypt, publicDecrypt, timingSafeEqual, type KeyObject } from "node:crypto";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";

const CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521, secp256k1 } as const;

const DIGEST_INFO: Readonly<Record<string, Buffer>> = Object.freeze({
  RSASSA_PKCS1_V1_5_SHA_256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  RSASSA_PKCS1_V1_5_SHA_384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  RSASSA_PKCS1_V1_5_SHA_512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
});

export function supportsDigest(algorithm: string): boolean {
  return algorithm in DIGEST_INFO || algorithm.startsWith("ECDSA_");
}

function curveOf(key: KeyObject) {
  const name = key.asymmetricKeyDetails?.namedCurve as keyof typeof CURVES | undefined;
  const curve = name && CURVES[name];
  if (!curve) throw new Error(`no digest signing for curve ${name}`);
  return curve;
}

function publicPoint(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
}

export function signDigest(algorithm: string, privateKey: KeyObject, digest: Buffer): Buffer {
  const prefix = DIGEST_INFO[algorithm];
  if (prefix) return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([prefix, digest]));
  const scalar = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
  try {
    return Buffer.from(curveOf(privateKey).sign(digest, scalar, { prehash: false, format: "der" }));
  } finally {
    scalar.fill(0);
  }
}

export function verifyDigest(algorithm: string, privateKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    const prefix = DIGEST_INFO[algorithm];
    if (prefix) {
      const expected = Buffer.concat([prefix, digest]);
      const recovered = publicDecrypt({ key: createPublicKey(privateKey), padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    }
    // OpenSSL makes high-S signatures too; they are valid ECDSA, so do not insist on low S.
    return curveOf(privateKey).verify(signature, digest, publicPoint(privateKey), { prehash: false, format: "der", lowS: false });
  } catch {
    return false;
  }
}
