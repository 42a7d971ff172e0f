/**
 * ML-DSA in the private CA's X.509 (RFC 9881): the signature algorithms ML_DSA_44/65/87 as
 * AlgorithmIdentifiers (id-ml-dsa-44/65/87, 2.16.840.1.101.3.4.3.17–19, parameters absent), the
 * public key as the raw FIPS 204 encoding in SubjectPublicKeyInfo, pure ML-DSA with an empty
 * context over the DER to be signed, and the checks of what others signed with ML-DSA (CSRs,
 * certificates of a chain) that node:crypto's OpenSSL 3.0 cannot do. The signing itself is
 * src/crypto/ml-dsa.ts, the code KMS's ML-DSA keys sign with.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { AuthorityKeyIdentifier, Certificate, SubjectKeyIdentifier, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { isMlDsa, mlDsaOid, mlDsaSpecOfOid, mlDsaVerifyWithPublicKey, type MlDsaSpec } from "../crypto/ml-dsa.js";

/** The three parameter sets: KeyAlgorithm and SigningAlgorithm share the name, and a CA's must be the same set. */
export const ML_DSA_SIGNING_ALGORITHMS = Object.freeze({
  ML_DSA_44: { family: "ML_DSA_44", kms: "ML_DSA_SHAKE_256", oid: mlDsaOid("ML_DSA_44"), nullParams: false },
  ML_DSA_65: { family: "ML_DSA_65", kms: "ML_DSA_SHAKE_256", oid: mlDsaOid("ML_DSA_65"), nullParams: false },
  ML_DSA_87: { family: "ML_DSA_87", kms: "ML_DSA_SHAKE_256", oid: mlDsaOid("ML_DSA_87"), nullParams: false },
});

export { isMlDsa, type MlDsaSpec };

/** The ML-DSA parameter set and raw public key of a SubjectPublicKeyInfo; undefined when it is another algorithm or malformed (parameters present). */
export function mlDsaPublicKeyOf(spkiDer: Buffer): { spec: MlDsaSpec; publicKey: Uint8Array } | undefined {
  try {
    const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
    const spec = mlDsaSpecOfOid(spki.algorithm.algorithm);
    if (!spec || spki.algorithm.parameters !== undefined) return undefined;
    return { spec, publicKey: new Uint8Array(spki.subjectPublicKey) };
  } catch {
    return undefined;
  }
}

/** Whether this SubjectPublicKeyInfo names ML-DSA at all (well-formed or not). */
export function isMlDsaSpki(spkiDer: Buffer): boolean {
  try {
    return mlDsaSpecOfOid(AsnConvert.parse(spkiDer, SubjectPublicKeyInfo).algorithm.algorithm) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Checks an ML-DSA signature over `message` by the key of `spkiDer`: true or false when the
 * signature algorithm is ML-DSA (it must be the key's own parameter set, RFC 9881 §2), and
 * undefined when neither the key nor the algorithm is ML-DSA (the caller checks it with node:crypto).
 */
export function verifyMlDsa(
  spkiDer: Buffer,
  signatureAlgorithmOid: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean | undefined {
  const algorithm = mlDsaSpecOfOid(signatureAlgorithmOid);
  if (!algorithm && !isMlDsaSpki(spkiDer)) return undefined;
  const key = mlDsaPublicKeyOf(spkiDer);
  if (!algorithm || !key || key.spec !== algorithm) return false;
  return mlDsaVerifyWithPublicKey(algorithm, key.publicKey, message, signature);
}

/**
 * Whether the certificate `der` was issued by the holder of `issuerSpkiDer` with ML-DSA: its
 * signature over the TBSCertificate, parameters absent in both AlgorithmIdentifiers, and its
 * authority key identifier (when both are present) equal to the issuer's subject key identifier. Undefined when the issuer's key
 * is not ML-DSA and the certificate not signed with it.
 */
export function mlDsaIssued(der: Buffer, issuerSpkiDer: Buffer, issuerKeyId: Buffer | undefined): boolean | undefined {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch {
    return undefined;
  }
  const outer = cert.signatureAlgorithm;
  const verdict = verifyMlDsa(
    issuerSpkiDer,
    outer.algorithm,
    new Uint8Array(cert.tbsCertificateRaw ?? new ArrayBuffer(0)),
    new Uint8Array(cert.signatureValue),
  );
  if (verdict !== true) return verdict;
  const inner = cert.tbsCertificate.signature;
  if (inner.algorithm !== outer.algorithm || inner.parameters !== undefined || outer.parameters !== undefined) return false;
  for (const e of cert.tbsCertificate.extensions ?? []) {
    if (e.extnID !== "2.5.29.35") continue;
    const aki = AsnConvert.parse(e.extnValue, AuthorityKeyIdentifier);
    if (aki.keyIdentifier && issuerKeyId && !Buffer.from(aki.keyIdentifier.buffer).equals(issuerKeyId)) return false;
  }
  return true;
}

/** The subject key identifier a certificate carries, if any. */
export function subjectKeyIdOf(der: Buffer): Buffer | undefined {
  try {
    for (const e of AsnConvert.parse(der, Certificate).tbsCertificate.extensions ?? []) {
      if (e.extnID === "2.5.29.14") return Buffer.from(AsnConvert.parse(e.extnValue, SubjectKeyIdentifier).buffer);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * RFC 9881 §5: the keyUsage of a certificate for an ML-DSA key has only signing bits
 * (digitalSignature, nonRepudiation, keyCertSign, cRLSign); a template's others are dropped.
 */
export const ML_DSA_KEY_USAGE_MASK = 1 | 2 | 32 | 64;
