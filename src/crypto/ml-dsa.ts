/**
 * ML-DSA (FIPS 204) through @noble/post-quantum, since Node 20's OpenSSL 3.0 has no ML-DSA.
 * The stored material is the 32-byte seed ξ; key pairs are derived from it and kept beside the
 * seed's KeyObject for as long as that is cached. Public keys are DER SubjectPublicKeyInfo with
 * the NIST OIDs (id-ml-dsa-44/65/87, 2.16.840.1.101.3.4.3.17–19), as AWS KMS returns them.
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { randomBytes, type KeyObject } from "node:crypto";

const PARAMS = {
  ML_DSA_44: { impl: ml_dsa44, oidLastArc: 17 },
  ML_DSA_65: { impl: ml_dsa65, oidLastArc: 18 },
  ML_DSA_87: { impl: ml_dsa87, oidLastArc: 19 },
} as const;

export type MlDsaSpec = keyof typeof PARAMS;
export const EXTERNAL_MU_LENGTH = 64;

export function isMlDsa(spec: string): spec is MlDsaSpec {
  return spec in PARAMS;
}

interface Pair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

const pairs = new WeakMap<KeyObject, Pair>();

function pairOf(spec: MlDsaSpec, seed: KeyObject): Pair {
  let pair = pairs.get(seed);
  if (!pair) {
    const bytes = seed.export();
    pair = PARAMS[spec].impl.keygen(bytes);
    bytes.fill(0);
    pairs.set(seed, pair);
  }
  return pair;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

export function mlDsaPublicKeyDer(spec: MlDsaSpec, seed: KeyObject): Buffer {
  // OID 2.16.840.1.101.3.4.3.<arc>: 60 86 48 01 65 03 04 03 <arc>
  const oid = der(0x06, Buffer.from([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, PARAMS[spec].oidLastArc]));
  const algorithm = der(0x30, oid);
  const bitString = der(0x03, Buffer.concat([Buffer.from([0]), Buffer.from(pairOf(spec, seed).publicKey)]));
  return der(0x30, Buffer.concat([algorithm, bitString]));
}

/** RAW: pure ML-DSA with an empty context. EXTERNAL_MU: the caller's 64-byte µ. */
export function mlDsaSign(spec: MlDsaSpec, seed: KeyObject, message: Buffer, externalMu: boolean): Buffer {
  const { impl } = PARAMS[spec];
  const { secretKey } = pairOf(spec, seed);
  return Buffer.from(externalMu ? impl.internal.sign(message, secretKey, { externalMu: true }) : impl.sign(message, secretKey));
}

/** The OID of an ML-DSA parameter set (RFC 9881 id-ml-dsa-44/65/87), and back. */
export function mlDsaOid(spec: MlDsaSpec): string {
  return `2.16.840.1.101.3.4.3.${PARAMS[spec].oidLastArc}`;
}

export function mlDsaSpecOfOid(oid: string): MlDsaSpec | undefined {
  for (const spec of Object.keys(PARAMS) as MlDsaSpec[]) if (mlDsaOid(spec) === oid) return spec;
  return undefined;
}

/** A fresh 32-byte seed ξ: what a key pair of any parameter set derives from. */
export function newMlDsaSeed(): Buffer {
  return randomBytes(32);
}

/** Pure ML-DSA verification (empty context) with a raw public key, as RFC 9881 signs certificates; false on any malformed input. */
export function mlDsaVerifyWithPublicKey(spec: MlDsaSpec, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const { impl } = PARAMS[spec];
  if (publicKey.length !== impl.lengths.publicKey || signature.length !== impl.lengths.signature) return false;
  try {
    return impl.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

export function mlDsaVerify(spec: MlDsaSpec, seed: KeyObject, message: Buffer, signature: Buffer, externalMu: boolean): boolean {
  const { impl } = PARAMS[spec];
  const { publicKey } = pairOf(spec, seed);
  try {
    return externalMu
      ? impl.internal.verify(signature, message, publicKey, { externalMu: true })
      : impl.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
