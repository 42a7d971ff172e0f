/**
 * An independent judge of ML-DSA X.509 (RFC 9881) for machines whose OpenSSL (3.0) cannot verify
 * it: the signed bytes are taken from the DER with @peculiar/asn1-x509 / asn1-csr / asn1-ocsp (not
 * from keyhold's code), and the signature checked with @noble/post-quantum's pure ML-DSA. When the
 * machine's `openssl version` is 3.5 or later, `opensslVerify` also asks OpenSSL.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as asn1 from "@peculiar/asn1-x509";
import { CertificationRequest } from "@peculiar/asn1-csr";
import { BasicOCSPResponse } from "@peculiar/asn1-ocsp";

export const ML_DSA = {
  ML_DSA_44: { oid: "2.16.840.1.101.3.4.3.17", impl: ml_dsa44, publicKey: 1312, signature: 2420 },
  ML_DSA_65: { oid: "2.16.840.1.101.3.4.3.18", impl: ml_dsa65, publicKey: 1952, signature: 3309 },
  ML_DSA_87: { oid: "2.16.840.1.101.3.4.3.19", impl: ml_dsa87, publicKey: 2592, signature: 4627 },
} as const;
export type Level = keyof typeof ML_DSA;

/** The DER of AlgorithmIdentifier { id-ml-dsa-xx } with no parameters (RFC 9881 §2: "parameters MUST be absent"). */
export function algorithmDer(level: Level): Buffer {
  const arc = Number(ML_DSA[level].oid.split(".").pop());
  return Buffer.from([0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, arc]);
}

function levelOf(oid: string): Level {
  const found = (Object.keys(ML_DSA) as Level[]).find((l) => ML_DSA[l].oid === oid);
  assert.ok(found, `${oid} is not an ML-DSA OID`);
  return found;
}

/** The ML-DSA key of a SubjectPublicKeyInfo: its OID, no parameters, the raw key of the right length. */
export function mlDsaKey(spki: asn1.SubjectPublicKeyInfo): { level: Level; publicKey: Uint8Array } {
  const level = levelOf(spki.algorithm.algorithm);
  assert.equal(spki.algorithm.parameters, undefined, "parameters absent in the SPKI algorithm");
  assert.equal(Buffer.from(AsnConvert.serialize(spki.algorithm)).toString("hex"), algorithmDer(level).toString("hex"));
  const publicKey = new Uint8Array(spki.subjectPublicKey);
  assert.equal(publicKey.length, ML_DSA[level].publicKey, "raw public key bytes of the parameter set's length");
  return { level, publicKey };
}

function checkSignature(
  level: Level,
  publicKey: Uint8Array,
  algorithm: asn1.AlgorithmIdentifier,
  signed: ArrayBuffer | undefined,
  signature: ArrayBuffer,
): void {
  assert.equal(algorithm.algorithm, ML_DSA[level].oid, "signed with the issuer's own parameter set");
  assert.equal(algorithm.parameters, undefined, "signature algorithm parameters absent");
  assert.ok(signed, "signed bytes present");
  assert.equal(signature.byteLength, ML_DSA[level].signature);
  assert.ok(ML_DSA[level].impl.verify(new Uint8Array(signature), new Uint8Array(signed), publicKey), "ML-DSA signature verifies (noble)");
  // And it is not a check that passes anything: one flipped bit fails.
  const bad = new Uint8Array(signed.slice(0));
  bad[bad.length - 1]! ^= 1;
  assert.equal(ML_DSA[level].impl.verify(new Uint8Array(signature), bad, publicKey), false);
}

export function certOf(pemOrDer: string | Buffer): { der: Buffer; cert: asn1.Certificate } {
  const der = typeof pemOrDer === "string" ? Buffer.from(pemOrDer.replace(/-----[^-]+-----|\s/g, ""), "base64") : pemOrDer;
  return { der, cert: AsnConvert.parse(der, asn1.Certificate) };
}

function extensionOf<T>(cert: asn1.Certificate, oid: string, type: new () => T): T | undefined {
  const e = cert.tbsCertificate.extensions?.find((x) => x.extnID === oid);
  return e && AsnConvert.parse(e.extnValue, type);
}

export function keyUsageOf(cert: asn1.Certificate): number | undefined {
  return extensionOf(cert, "2.5.29.15", asn1.KeyUsage)?.toNumber();
}

/** Checks that `child` was issued by `issuer` (an ML-DSA certificate): names, AKI = issuer's SKI, both AlgorithmIdentifiers, signature. */
export function judgeIssued(child: string | Buffer, issuer: string | Buffer): void {
  const c = certOf(child).cert;
  const i = certOf(issuer).cert;
  const { level, publicKey } = mlDsaKey(i.tbsCertificate.subjectPublicKeyInfo);
  assert.equal(
    Buffer.from(AsnConvert.serialize(c.tbsCertificate.issuer)).toString("hex"),
    Buffer.from(AsnConvert.serialize(i.tbsCertificate.subject)).toString("hex"),
    "issuer name = issuer's subject",
  );
  assert.deepEqual(c.tbsCertificate.signature, c.signatureAlgorithm, "inner and outer AlgorithmIdentifier agree");
  const ski = extensionOf(i, "2.5.29.14", asn1.SubjectKeyIdentifier);
  assert.ok(ski, "issuer has a subject key identifier");
  // RFC 5280 method 1: SHA-1 of the subjectPublicKey bits.
  assert.equal(Buffer.from(ski.buffer).toString("hex"), createHash("sha1").update(publicKey).digest("hex"));
  const aki = extensionOf(c, "2.5.29.35", asn1.AuthorityKeyIdentifier);
  const selfIssued = Buffer.from(AsnConvert.serialize(c.tbsCertificate.subject)).equals(
    Buffer.from(AsnConvert.serialize(c.tbsCertificate.issuer)),
  );
  if (!selfIssued) assert.ok(aki?.keyIdentifier, "child has an authority key identifier");
  if (aki?.keyIdentifier) assert.equal(Buffer.from(aki.keyIdentifier.buffer).toString("hex"), Buffer.from(ski.buffer).toString("hex"));
  checkSignature(level, publicKey, c.signatureAlgorithm, c.tbsCertificateRaw, c.signatureValue);
}

/** A PKCS#10 request signed by its own ML-DSA key; returns its parameter set. */
export function judgeCsr(pem: string | Buffer): Level {
  const der = Buffer.from(pem.toString().replace(/-----[^-]+-----|\s/g, ""), "base64");
  const csr = AsnConvert.parse(der, CertificationRequest);
  const { level, publicKey } = mlDsaKey(csr.certificationRequestInfo.subjectPKInfo);
  checkSignature(level, publicKey, csr.signatureAlgorithm, csr.certificationRequestInfoRaw, csr.signature);
  return level;
}

/** A CRL signed by the CA; returns the serials it lists (hex, no leading zeros). */
export function judgeCrl(der: Buffer, issuer: string | Buffer): string[] {
  const crl = AsnConvert.parse(der, asn1.CertificateList);
  const i = certOf(issuer).cert;
  const { level, publicKey } = mlDsaKey(i.tbsCertificate.subjectPublicKeyInfo);
  assert.equal(
    Buffer.from(AsnConvert.serialize(crl.tbsCertList.issuer)).toString("hex"),
    Buffer.from(AsnConvert.serialize(i.tbsCertificate.subject)).toString("hex"),
  );
  checkSignature(level, publicKey, crl.signatureAlgorithm, crl.tbsCertListRaw, crl.signature);
  return (crl.tbsCertList.revokedCertificates ?? []).map((r) =>
    Buffer.from(r.userCertificate)
      .toString("hex")
      .replace(/^(00)+(?=.)/, ""),
  );
}

/** A BasicOCSPResponse signed by a responder certificate it carries, that certificate issued by `issuer`; returns the response. */
export function judgeOcsp(basicDer: Buffer, issuer: string | Buffer): BasicOCSPResponse {
  const basic = AsnConvert.parse(basicDer, BasicOCSPResponse);
  assert.equal(basic.certs?.length, 1, "the delegated responder's certificate is in the response");
  const responderDer = Buffer.from(AsnConvert.serialize(basic.certs[0]!));
  judgeIssued(responderDer, issuer);
  const responder = certOf(responderDer).cert;
  const eku = extensionOf(responder, "2.5.29.37", asn1.ExtendedKeyUsage);
  assert.deepEqual([...(eku ?? [])], ["1.3.6.1.5.5.7.3.9"], "responder certificate is for OCSP signing");
  const { level, publicKey } = mlDsaKey(responder.tbsCertificate.subjectPublicKeyInfo);
  checkSignature(level, publicKey, basic.signatureAlgorithm, basic.tbsResponseDataRaw, basic.signature);
  return basic;
}

/** `openssl version` as [major, minor]. */
export function opensslVersion(): [number, number] | undefined {
  const r = spawnSync("openssl", ["version"], { encoding: "utf8" });
  const m = /OpenSSL (\d+)\.(\d+)/.exec(r.stdout ?? "");
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Whether this machine's OpenSSL verifies ML-DSA (3.5 and later). */
export function opensslKnowsMlDsa(): boolean {
  const v = opensslVersion();
  return v !== undefined && (v[0] > 3 || (v[0] === 3 && v[1] >= 5));
}
