/**
 * Reading X.509 certificates and PEM for ACM: what DescribeCertificate reports of a certificate
 * (names, serial, validity, key algorithm, key usages), and the checks ImportCertificate makes
 * (one certificate, a parseable chain, each certificate signed by the next). node:crypto's
 * X509Certificate parses and verifies; @peculiar/x509 (loaded on first use, as src/http/tls.ts
 * does) reads the extensions node does not expose and builds the CSRs RequestCertificate sends.
 */
import { X509Certificate, webcrypto } from "node:crypto";
import { ServiceError } from "../errors.js";

type X509Lib = typeof import("@peculiar/x509");
let loaded: Promise<X509Lib> | undefined;

/** @peculiar/x509, with node's WebCrypto as its provider. tsyringe, which it uses, needs reflect-metadata first. */
export function x509Lib(): Promise<X509Lib> {
  loaded ??= (async () => {
    await import("reflect-metadata");
    const lib = await import("@peculiar/x509");
    lib.cryptoProvider.set(webcrypto as unknown as Crypto);
    return lib;
  })();
  return loaded;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/** The DER of every PEM certificate block in `text`, in order; anything else between blocks is ignored, as ACM ignores it. */
export function pemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_CERTIFICATE)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
  return out;
}

export function toPem(der: Buffer, label = "CERTIFICATE"): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Parses one DER certificate; a ValidationException naming `what` when it is not one. */
export function parseCertificate(der: Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch {
    throw new ServiceError("ValidationException", `The ${what} could not be parsed as an X.509 certificate.`);
  }
}

/** KeyUsageName per bit of the keyUsage extension (RFC 5280 4.2.1.3), in bit order. */
const KEY_USAGE_NAMES: readonly [number, string][] = [
  [1, "DIGITAL_SIGNATURE"],
  [2, "NON_REPUDIATION"],
  [4, "KEY_ENCIPHERMENT"],
  [8, "DATA_ENCIPHERMENT"],
  [16, "KEY_AGREEMENT"],
  [32, "CERTIFICATE_SIGNING"],
  [64, "CRL_SIGNING"],
  [128, "ENCIPHER_ONLY"],
  [256, "DECIPHER_ONLY"],
];

/** ExtendedKeyUsageName by OID; any other OID is CUSTOM. */
const EKU_NAMES: ReadonlyMap<string, string> = new Map([
  ["1.3.6.1.5.5.7.3.1", "TLS_WEB_SERVER_AUTHENTICATION"],
  ["1.3.6.1.5.5.7.3.2", "TLS_WEB_CLIENT_AUTHENTICATION"],
  ["1.3.6.1.5.5.7.3.3", "CODE_SIGNING"],
  ["1.3.6.1.5.5.7.3.4", "EMAIL_PROTECTION"],
  ["1.3.6.1.5.5.7.3.8", "TIME_STAMPING"],
  ["1.3.6.1.5.5.7.3.9", "OCSP_SIGNING"],
  ["1.3.6.1.5.5.7.3.5", "IPSEC_END_SYSTEM"],
  ["1.3.6.1.5.5.7.3.6", "IPSEC_TUNNEL"],
  ["1.3.6.1.5.5.7.3.7", "IPSEC_USER"],
  ["2.5.29.37.0", "ANY"],
]);

/** Signature algorithm OIDs as ACM names them in DescribeCertificate. */
const SIGNATURE_NAMES: ReadonlyMap<string, string> = new Map([
  ["1.2.840.113549.1.1.5", "SHA1WITHRSA"],
  ["1.2.840.113549.1.1.11", "SHA256WITHRSA"],
  ["1.2.840.113549.1.1.12", "SHA384WITHRSA"],
  ["1.2.840.113549.1.1.13", "SHA512WITHRSA"],
  ["1.2.840.113549.1.1.10", "SHA256WITHRSAANDMGF1"],
  ["1.2.840.10045.4.3.2", "SHA256WITHECDSA"],
  ["1.2.840.10045.4.3.3", "SHA384WITHECDSA"],
  ["1.2.840.10045.4.3.4", "SHA512WITHECDSA"],
]);

/** What DescribeCertificate and ListCertificates report of a certificate, read from it once at import or issue. */
export interface CertificateFacts {
  domainName: string;
  subjectAlternativeNames: string[];
  serial: string;
  subject: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
  signatureAlgorithm: string;
  keyUsages: string[];
  extendedKeyUsages: { Name: string; OID: string }[];
}

export async function certificateFacts(der: Buffer): Promise<CertificateFacts> {
  const node = new X509Certificate(der);
  const lib = await x509Lib();
  const cert = new lib.X509Certificate(new Uint8Array(der));
  const keyUsages: string[] = [];
  const ku = cert.getExtension(lib.KeyUsagesExtension);
  if (ku) for (const [bit, name] of KEY_USAGE_NAMES) if (ku.usages & bit) keyUsages.push(name);
  const extendedKeyUsages: { Name: string; OID: string }[] = [];
  const eku = cert.getExtension(lib.ExtendedKeyUsageExtension);
  if (eku) for (const oid of eku.usages.map(String)) extendedKeyUsages.push({ Name: EKU_NAMES.get(oid) ?? "CUSTOM", OID: oid });
  const sans: string[] = [];
  const san = cert.getExtension(lib.SubjectAlternativeNameExtension);
  if (san) for (const n of san.names.items) if (n.type === "dns") sans.push(n.value);
  const cn = cert.subjectName.getField("CN")[0];
  const domainName = cn ?? sans[0] ?? "";
  // ACM lists the domain name among the subject alternative names, first.
  const names = domainName && !sans.includes(domainName) ? [domainName, ...sans] : sans;
  const sigOid = certificateSignatureOid(der);
  return {
    domainName,
    subjectAlternativeNames: names,
    // As ACM writes it: lower-case hex octets separated by colons.
    serial: (node.serialNumber.length % 2 ? "0" + node.serialNumber : node.serialNumber).toLowerCase().replace(/(..)(?!$)/g, "$1:"),
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    signatureAlgorithm: SIGNATURE_NAMES.get(sigOid) ?? sigOid,
    keyUsages,
    extendedKeyUsages,
  };
}

/**
 * The OID of a DER certificate's outer signatureAlgorithm: SEQUENCE { tbs SEQUENCE, alg SEQUENCE { OID … }, … }.
 * A small, bounded walk (lengths checked against the buffer), enough to name the algorithm.
 */
export function certificateSignatureOid(der: Buffer): string {
  let at = 0;
  const header = (): { len: number; start: number } => {
    at++; // tag
    let len = der[at++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n > 4) throw new Error("length too long");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[at++]!;
    }
    if (at + len > der.length) throw new Error("truncated");
    return { len, start: at };
  };
  try {
    header(); // Certificate
    const tbs = header();
    at = tbs.start + tbs.len;
    header(); // AlgorithmIdentifier
    if (der[at] !== 0x06) return "";
    const oid = header();
    const bytes = der.subarray(oid.start, oid.start + oid.len);
    const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
    let v = 0;
    for (const b of bytes.subarray(1)) {
      v = v * 128 + (b & 0x7f);
      if (!(b & 0x80)) {
        parts.push(v);
        v = 0;
      }
    }
    return parts.join(".");
  } catch {
    return "";
  }
}
