/**
 * X.509 for the private CA: names from ACM PCA's ASN1Subject, extensions, and the DER of
 * certificates, CSRs and CRLs, built with @peculiar/asn1-x509 and signed by the caller (the CA's
 * key signs through src/crypto/asymmetric.ts, as KMS keys do). Signature checks of what callers
 * send (CSRs, imported CA certificates) use node:crypto.
 */
import { createHash, createPublicKey, verify as nodeVerify, X509Certificate, type KeyObject } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  CertificateList,
  Extension,
  Extensions,
  Name,
  RelativeDistinguishedName,
  RevokedCertificate,
  SubjectPublicKeyInfo,
  TBSCertList,
  TBSCertificate,
  Time,
  Validity,
  Version,
  Attribute,
} from "@peculiar/asn1-x509";
import * as asn1x509 from "@peculiar/asn1-x509";
import { CertificationRequest, CertificationRequestInfo, Attributes } from "@peculiar/asn1-csr";
import { ML_DSA_SIGNING_ALGORITHMS, mlDsaIssued, subjectKeyIdOf, verifyMlDsa } from "./ml-dsa.js";

export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  crlDistributionPoints: "2.5.29.31",
  subjectAltName: "2.5.29.17",
  certificatePolicies: "2.5.29.32",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  subjectInfoAccess: "1.3.6.1.5.5.7.1.11",
  extensionRequest: "1.2.840.113549.1.9.14",
  crlNumber: "2.5.29.20",
  crlReason: "2.5.29.21",
  ocsp: "1.3.6.1.5.5.7.48.1",
} as const;

/** ASN1Subject's members, in the order AWS writes them, with their attribute type and string type. */
const SUBJECT_ATTRIBUTES: readonly { member: string; oid: string; printable?: boolean }[] = [
  { member: "Country", oid: "2.5.4.6", printable: true },
  { member: "Organization", oid: "2.5.4.10" },
  { member: "OrganizationalUnit", oid: "2.5.4.11" },
  { member: "DistinguishedNameQualifier", oid: "2.5.4.46", printable: true },
  { member: "State", oid: "2.5.4.8" },
  { member: "CommonName", oid: "2.5.4.3" },
  { member: "SerialNumber", oid: "2.5.4.5", printable: true },
  { member: "Locality", oid: "2.5.4.7" },
  { member: "Title", oid: "2.5.4.12" },
  { member: "Surname", oid: "2.5.4.4" },
  { member: "GivenName", oid: "2.5.4.42" },
  { member: "Initials", oid: "2.5.4.43" },
  { member: "Pseudonym", oid: "2.5.4.65" },
  { member: "GenerationQualifier", oid: "2.5.4.44" },
];

export interface Asn1Subject {
  [member: string]: unknown;
  CustomAttributes?: { ObjectIdentifier?: string; Value?: string }[];
}

/** The distinguished name of an ASN1Subject: CustomAttributes, when given, replace the named members (as AWS). */
export function subjectName(subject: Asn1Subject): Name {
  const rdns: RelativeDistinguishedName[] = [];
  const rdn = (type: string, value: AttributeValue) =>
    rdns.push(new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]));
  if (subject.CustomAttributes && subject.CustomAttributes.length > 0) {
    for (const a of subject.CustomAttributes) rdn(a.ObjectIdentifier!, new AttributeValue({ utf8String: a.Value! }));
    return new Name(rdns);
  }
  for (const a of SUBJECT_ATTRIBUTES) {
    const v = subject[a.member];
    if (typeof v !== "string" || v === "") continue;
    rdn(a.oid, new AttributeValue(a.printable ? { printableString: v } : { utf8String: v }));
  }
  return new Name(rdns);
}

export function nameDer(name: Name): Buffer {
  return Buffer.from(AsnConvert.serialize(name));
}

/** The signature algorithms of the model, mapped to the KMS signing algorithm that computes them and the X.509 AlgorithmIdentifier. */
export const SIGNING_ALGORITHMS: Readonly<Record<string, { family: string; kms: string; oid: string; nullParams: boolean }>> =
  Object.freeze({
    ...ML_DSA_SIGNING_ALGORITHMS,
    SHA256WITHRSA: { family: "RSA", kms: "RSASSA_PKCS1_V1_5_SHA_256", oid: "1.2.840.113549.1.1.11", nullParams: true },
    SHA384WITHRSA: { family: "RSA", kms: "RSASSA_PKCS1_V1_5_SHA_384", oid: "1.2.840.113549.1.1.12", nullParams: true },
    SHA512WITHRSA: { family: "RSA", kms: "RSASSA_PKCS1_V1_5_SHA_512", oid: "1.2.840.113549.1.1.13", nullParams: true },
    SHA256WITHECDSA: { family: "EC", kms: "ECDSA_SHA_256", oid: "1.2.840.10045.4.3.2", nullParams: false },
    SHA384WITHECDSA: { family: "EC", kms: "ECDSA_SHA_384", oid: "1.2.840.10045.4.3.3", nullParams: false },
    SHA512WITHECDSA: { family: "EC", kms: "ECDSA_SHA_512", oid: "1.2.840.10045.4.3.4", nullParams: false },
  });

export function algorithmIdentifier(signingAlgorithm: string): AlgorithmIdentifier {
  const a = SIGNING_ALGORITHMS[signingAlgorithm]!;
  return new AlgorithmIdentifier({ algorithm: a.oid, parameters: a.nullParams ? null : undefined });
}

export function extension(oid: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

export function rawExtension(oid: string, critical: boolean, der: Buffer): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(der) });
}

/** SHA-1 of the subjectPublicKey bits: RFC 5280 §4.2.1.2 method (1), as AWS and OpenSSL compute it. */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
  return createHash("sha1").update(Buffer.from(spki.subjectPublicKey)).digest();
}

export function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export type Signer = (tbs: Buffer) => Promise<Buffer> | Buffer;

export interface CertificateFields {
  serial: Buffer;
  signingAlgorithm: string;
  issuer: Name;
  subject: Name;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  extensions: Extension[];
}

export async function signCertificate(fields: CertificateFields, sign: Signer): Promise<Buffer> {
  const algorithm = algorithmIdentifier(fields.signingAlgorithm);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(fields.serial),
    signature: algorithm,
    issuer: fields.issuer,
    validity: new Validity({ notBefore: fields.notBefore, notAfter: fields.notAfter }),
    subject: fields.subject,
    subjectPublicKeyInfo: AsnConvert.parse(fields.spkiDer, SubjectPublicKeyInfo),
    extensions: new Extensions(fields.extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await sign(tbsDer);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: toArrayBuffer(signature) });
  return Buffer.from(AsnConvert.serialize(cert));
}

/** A PKCS#10 request for the CA's own key (GetCertificateAuthorityCsr), with its CsrExtensions as an extensionRequest. */
export async function signCsr(
  subject: Name,
  spkiDer: Buffer,
  signingAlgorithm: string,
  extensions: Extension[],
  sign: Signer,
): Promise<Buffer> {
  const attributes = new Attributes(
    extensions.length === 0
      ? []
      : [new Attribute({ type: OID.extensionRequest, values: [AsnConvert.serialize(new Extensions(extensions))] })],
  );
  const info = new CertificationRequestInfo({
    version: 0,
    subject,
    subjectPKInfo: AsnConvert.parse(spkiDer, SubjectPublicKeyInfo),
    attributes,
  });
  const infoDer = Buffer.from(AsnConvert.serialize(info));
  const signature = await sign(infoDer);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: algorithmIdentifier(signingAlgorithm),
    signature: toArrayBuffer(signature),
  });
  return Buffer.from(AsnConvert.serialize(csr));
}

export interface ParsedCsr {
  subject: Name;
  subjectDer: Buffer;
  spkiDer: Buffer;
  /** undefined for an ML-DSA key, which node:crypto's OpenSSL 3.0 does not know. */
  publicKey?: KeyObject;
  /** The extensions the CSR asks for (its extensionRequest attribute). */
  extensions: Extension[];
}

/** Signature algorithms a CSR may be signed with: OID → node:crypto hash (null: the key decides, Ed25519). */
const CSR_SIGNATURES: Readonly<Record<string, string | null>> = Object.freeze({
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.3.101.112": null,
});

/** Parses a CSR (PEM or DER) and checks its self-signature; undefined when it is not a CSR whose signature holds. */
export function parseCsr(input: Buffer): ParsedCsr | undefined {
  try {
    const der = pemOrDer(input, "CERTIFICATE REQUEST");
    if (!der) return undefined;
    const csr = AsnConvert.parse(der, CertificationRequest);
    const info = csr.certificationRequestInfo;
    const spkiDer = Buffer.from(AsnConvert.serialize(info.subjectPKInfo));
    if (!csr.certificationRequestInfoRaw) return undefined;
    const signed = Buffer.from(csr.certificationRequestInfoRaw);
    const mlDsa = verifyMlDsa(spkiDer, csr.signatureAlgorithm.algorithm, signed, Buffer.from(csr.signature));
    if (mlDsa === false) return undefined;
    const publicKey = mlDsa ? undefined : createPublicKey({ key: spkiDer, format: "der", type: "spki" });
    const hash = CSR_SIGNATURES[csr.signatureAlgorithm.algorithm];
    if (publicKey && (hash === undefined || !nodeVerify(hash, signed, publicKey, Buffer.from(csr.signature)))) return undefined;
    const extensions: Extension[] = [];
    for (const attribute of info.attributes) {
      if (attribute.type !== OID.extensionRequest) continue;
      for (const value of attribute.values) extensions.push(...AsnConvert.parse(value, Extensions));
    }
    return { subject: info.subject, subjectDer: nameDer(info.subject), spkiDer, publicKey, extensions };
  } catch {
    return undefined;
  }
}

/** PEM of the given label (the first block), or DER as it is; undefined when it is neither. */
export function pemOrDer(input: Buffer, label: string): Buffer | undefined {
  const text = input.toString("latin1");
  const begin = `-----BEGIN ${label}-----`;
  const start = text.indexOf(begin);
  if (start < 0) return input.length > 0 && input[0] === 0x30 ? input : undefined;
  const end = text.indexOf(`-----END ${label}-----`, start);
  if (end < 0) return undefined;
  const body = text.slice(start + begin.length, end).replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return undefined;
  return Buffer.from(body, "base64");
}

/** Every PEM CERTIFICATE block of a chain, in order. */
export function pemCertificates(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/g;
  for (const m of input.toString("latin1").matchAll(re)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
  return out;
}

export function toPem(der: Buffer, label = "CERTIFICATE"): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** What keyhold reads from a certificate: its dates, names, key and CA constraints. */
export interface CertificateFacts {
  x509: X509Certificate;
  der: Buffer;
  serialHex: string;
  subjectDer: Buffer;
  issuerDer: Buffer;
  spkiDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** basicConstraints pathLenConstraint; undefined: no limit. */
  pathLen?: number;
  keyCertSign: boolean;
}

export function certificateFacts(der: Buffer): CertificateFacts | undefined {
  try {
    const x509 = new X509Certificate(der);
    const cert = AsnConvert.parse(der, Certificate);
    const tbs = cert.tbsCertificate;
    let isCa = false;
    let pathLen: number | undefined;
    let keyCertSign = true;
    for (const e of tbs.extensions ?? []) {
      if (e.extnID === OID.basicConstraints) {
        const bc = AsnConvert.parse(e.extnValue, asn1x509.BasicConstraints);
        isCa = bc.cA;
        pathLen = bc.pathLenConstraint;
      } else if (e.extnID === OID.keyUsage) {
        const ku = AsnConvert.parse(e.extnValue, asn1x509.KeyUsage);
        keyCertSign = (ku.toNumber() & 32) !== 0;
      }
    }
    return {
      x509,
      der,
      serialHex: Buffer.from(tbs.serialNumber)
        .toString("hex")
        .replace(/^(00)+(?=.)/, ""),
      subjectDer: nameDer(tbs.subject),
      issuerDer: nameDer(tbs.issuer),
      spkiDer: Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo)),
      notBefore: tbs.validity.notBefore.getTime(),
      notAfter: tbs.validity.notAfter.getTime(),
      isCa,
      pathLen,
      keyCertSign,
    };
  } catch {
    return undefined;
  }
}

/** Whether `parent` issued `child`: names, key identifiers and signature (ML-DSA through ./ml-dsa.ts, the rest through OpenSSL). */
export function issuedBy(child: CertificateFacts, parent: CertificateFacts): boolean {
  const mlDsa = mlDsaIssued(child.der, parent.spkiDer, subjectKeyIdOf(parent.der));
  if (mlDsa !== undefined) return mlDsa && child.issuerDer.equals(parent.subjectDer);
  try {
    return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.x509.publicKey);
  } catch {
    return false;
  }
}

/** A CRL (v2) with each revoked serial, its time and reason, and the CRL number. */
export async function signCrl(
  crl: {
    issuer: Name;
    signingAlgorithm: string;
    thisUpdate: Date;
    nextUpdate: Date;
    number: number;
    authorityKeyId: Buffer;
    revoked: { serial: Buffer; at: Date; reason: number }[];
  },
  sign: Signer,
): Promise<Buffer> {
  const algorithm = algorithmIdentifier(crl.signingAlgorithm);
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: algorithm,
    issuer: crl.issuer,
    thisUpdate: new Time(crl.thisUpdate),
    nextUpdate: new Time(crl.nextUpdate),
    revokedCertificates:
      crl.revoked.length === 0
        ? undefined
        : crl.revoked.map(
            (r) =>
              new RevokedCertificate({
                userCertificate: toArrayBuffer(r.serial),
                revocationDate: new Time(r.at),
                crlEntryExtensions: [extension(OID.crlReason, false, new asn1x509.CRLReason(r.reason))],
              }),
          ),
    crlExtensions: [
      extension(
        OID.authorityKeyIdentifier,
        false,
        new asn1x509.AuthorityKeyIdentifier({ keyIdentifier: new asn1x509.KeyIdentifier(toArrayBuffer(crl.authorityKeyId)) }),
      ),
      extension(OID.crlNumber, false, new asn1x509.CRLNumber(crl.number)),
    ],
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await sign(tbsDer);
  return Buffer.from(
    AsnConvert.serialize(new CertificateList({ tbsCertList: tbs, signatureAlgorithm: algorithm, signature: toArrayBuffer(signature) })),
  );
}
