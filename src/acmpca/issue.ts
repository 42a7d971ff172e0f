/**
 * IssueCertificate's work, shared by the operation and by ACM (PrivateCertificateIssuer): the
 * CA's state, the template, the validity, the CSR's signature, then the certificate with the
 * template's extensions, signed by the CA's key and stored before it is answered.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as x509 from "@peculiar/asn1-x509";
import type { CallContext } from "../call.js";
import { DAY_MS } from "../clock.js";
import { ServiceError } from "../errors.js";
import { Lru } from "../lru.js";
import { type AcmPcaService, type Authority, type AuthorityBody, type CertificateBody, normalizeSerial } from "./service.js";
import { isMlDsaSpki, ML_DSA_KEY_USAGE_MASK } from "./ml-dsa.js";
import { EKU, KEY_USAGE_BITS, template as templateOf, type Template } from "./templates.js";
import {
  certificateFacts,
  extension,
  keyIdentifier,
  OID,
  parseCsr,
  rawExtension,
  SIGNING_ALGORITHMS,
  signCertificate,
  subjectName,
  toArrayBuffer,
  type Asn1Subject,
} from "./x509.js";

export interface Validity {
  Value?: number;
  Type?: string;
}

export interface ApiPassthrough {
  Extensions?: {
    CertificatePolicies?: { CertPolicyId?: string; PolicyQualifiers?: { PolicyQualifierId?: string; Qualifier?: { CpsUri?: string } }[] }[];
    ExtendedKeyUsage?: { ExtendedKeyUsageType?: string; ExtendedKeyUsageObjectIdentifier?: string }[];
    KeyUsage?: Record<string, boolean | undefined>;
    SubjectAlternativeNames?: GeneralNameInput[];
    CustomExtensions?: { ObjectIdentifier?: string; Value?: string; Critical?: boolean }[];
  };
  Subject?: Asn1Subject;
}

export interface GeneralNameInput {
  DnsName?: string;
  Rfc822Name?: string;
  UniformResourceIdentifier?: string;
  IpAddress?: string;
  DirectoryName?: Asn1Subject;
  RegisteredId?: string;
  OtherName?: unknown;
  EdiPartyName?: unknown;
}

export interface IssueRequest {
  csr: Buffer;
  signingAlgorithm: string;
  templateArn?: string;
  validity: Validity;
  validityNotBefore?: Validity;
  apiPassthrough?: ApiPassthrough;
  idempotencyToken?: string;
}

/** AWS keeps an IdempotencyToken for 5 minutes: a repeat within them returns the first certificate. */
const IDEMPOTENCY_MS = 5 * 60_000;

export async function issueCertificate(
  pca: AcmPcaService,
  call: CallContext,
  ca: Authority,
  request: IssueRequest,
): Promise<CertificateBody> {
  const body = ca.body;
  const tpl = templateOf(request.templateArn);
  const now = pca.clock.now();
  // A ROOT CA in PENDING_CERTIFICATE signs exactly one thing: its own CA certificate, with a root template.
  if (tpl.root) {
    if (body.type !== "ROOT")
      throw new ServiceError("InvalidArgsException", `The template ${tpl.name} is only for a root CA's own certificate.`);
  } else if (body.status === "PENDING_CERTIFICATE") {
    throw new ServiceError(
      "InvalidStateException",
      `The certificate authority ${body.arn} has no certificate yet (PENDING_CERTIFICATE): import one first.`,
    );
  }
  pca.requireStatus(body, tpl.root ? ["PENDING_CERTIFICATE", "ACTIVE"] : ["ACTIVE"], "IssueCertificate");
  const algorithm = SIGNING_ALGORITHMS[request.signingAlgorithm];
  if (!algorithm || algorithm.family !== familyOf(body.configuration.KeyAlgorithm)) {
    throw new ServiceError(
      "InvalidArgsException",
      `The signing algorithm ${request.signingAlgorithm} does not match the certificate authority's key algorithm ${body.configuration.KeyAlgorithm}.`,
    );
  }
  // AWS: ApiPassthrough is ignored unless an APIPassthrough or APICSRPassthrough template is selected.
  const csr = parseCsr(request.csr);
  if (!csr)
    throw new ServiceError(
      "MalformedCSRException",
      "The certificate signing request is invalid: it does not parse, or its signature does not verify with its public key.",
    );
  if (tpl.root && !csr.spkiDer.equals(Buffer.from(body.spki, "base64"))) {
    throw new ServiceError("InvalidArgsException", `The template ${tpl.name} signs the CA's own CSR only (GetCertificateAuthorityCsr).`);
  }

  const idempotency =
    request.idempotencyToken === undefined
      ? undefined
      : createHash("sha256")
          .update(
            JSON.stringify([
              call.accountId,
              request.idempotencyToken,
              request.csr.toString("base64"),
              request.signingAlgorithm,
              tpl.name,
              request.validity,
              request.validityNotBefore,
              request.apiPassthrough,
            ]),
          )
          .digest("hex");
  if (idempotency) {
    const earlier = await pca.byIdempotency(body.id, idempotency);
    if (earlier && now - earlier.issuedAt < IDEMPOTENCY_MS) return earlier;
  }

  // Validity: the CA certificate bounds it (a root's own certificate has nothing above it).
  const notBefore = request.validityNotBefore
    ? absolute(request.validityNotBefore, now, "ValidityNotBefore")
    : new Date(Math.max(now - 60 * 60_000, body.notBefore ?? 0));
  const notAfter = absolute(request.validity, now, "Validity");
  if (notAfter.getTime() <= now) throw new ServiceError("InvalidArgsException", "The certificate validity must end in the future.");
  if (notAfter.getTime() <= notBefore.getTime())
    throw new ServiceError("InvalidArgsException", "The certificate validity must end after it begins.");
  if (!tpl.root && body.notAfter !== undefined && notAfter.getTime() > body.notAfter) {
    throw new ServiceError(
      "InvalidArgsException",
      `The certificate validity specified exceeds the certificate authority validity: it ends ${notAfter.toISOString()}, the CA certificate ${new Date(body.notAfter).toISOString()}.`,
    );
  }
  if (!tpl.root && body.notBefore !== undefined && notBefore.getTime() < body.notBefore) {
    throw new ServiceError("InvalidArgsException", "The certificate validity cannot begin before the certificate authority's.");
  }
  // A CA certificate's path length must fit under the issuing CA's.
  if (tpl.ca && !tpl.root && body.pathLen !== undefined && (tpl.ca.pathLen ?? Infinity) >= body.pathLen) {
    throw new ServiceError(
      "InvalidArgsException",
      `The template ${tpl.name} makes a CA with path length ${tpl.ca.pathLen}, which the issuing CA (path length ${body.pathLen}) cannot issue.`,
    );
  }
  if (body.usageMode === "SHORT_LIVED_CERTIFICATE" && notAfter.getTime() - notBefore.getTime() > 7 * DAY_MS) {
    throw new ServiceError(
      "InvalidArgsException",
      "A certificate authority in SHORT_LIVED_CERTIFICATE mode issues certificates valid for at most 7 days.",
    );
  }

  const issuerFacts = tpl.root ? undefined : issuerOf(pca, body);
  const subject = tpl.apiPassthrough && request.apiPassthrough?.Subject ? subjectName(request.apiPassthrough.Subject) : csr.subject;
  const issuer = issuerFacts ? issuerFacts.name : subject;
  const extensions = buildExtensions(pca, ca, tpl, csr.extensions, csr.spkiDer, request.apiPassthrough, issuerFacts?.aki);

  const serial = pca.newSerial();
  const serialHex = normalizeSerial(serial.toString("hex"))!;
  const der = await signCertificate(
    { serial, signingAlgorithm: request.signingAlgorithm, issuer, subject, notBefore, notAfter, spkiDer: csr.spkiDer, extensions },
    pca.signer(body, request.signingAlgorithm),
  );
  const cert: CertificateBody = {
    arn: pca.certificateArn(body.arn, serialHex),
    caArn: body.arn,
    serial: serialHex,
    der: der.toString("base64"),
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
    issuedAt: now,
    template: tpl.name,
    idempotency,
  };
  if (!(await pca.storeCertificate(ca.accountId, body, cert))) throw new Error(`serial ${serialHex} collided`);
  return cert;
}

/** What a CA's certificate gives every certificate it issues: the issuer name and the authority key identifier. */
interface IssuerFacts {
  /** The CA certificate (base64 DER) these were read from: a new certificate (a renewal, an import) reads them again. */
  certificate: string;
  name: x509.Name;
  aki: x509.Extension;
}

/** Per service, per CA ARN: read from the CA certificate once rather than on every issue (a parse of the whole certificate). */
const issuers = new WeakMap<AcmPcaService, Lru<string, IssuerFacts>>();

function issuerOf(pca: AcmPcaService, body: AuthorityBody): IssuerFacts {
  let cache = issuers.get(pca);
  if (!cache) issuers.set(pca, (cache = new Lru(1000)));
  const cached = cache.get(body.arn);
  if (cached && cached.certificate === body.certificate) return cached;
  const facts = certificateFacts(Buffer.from(body.certificate!, "base64"));
  if (!facts) throw new Error(`the certificate of ${body.arn} does not parse`);
  const keyId = new x509.KeyIdentifier(toArrayBuffer(keyIdentifier(facts.spkiDer)));
  const made: IssuerFacts = {
    certificate: body.certificate!,
    name: AsnConvert.parse(facts.subjectDer, x509.Name),
    aki: extension(OID.authorityKeyIdentifier, false, new x509.AuthorityKeyIdentifier({ keyIdentifier: keyId })),
  };
  cache.set(body.arn, made);
  return made;
}

function familyOf(keyAlgorithm: string): string {
  return keyAlgorithm.startsWith("RSA") ? "RSA" : keyAlgorithm.startsWith("EC") ? "EC" : keyAlgorithm;
}

/** A Validity as a point in time: DAYS/MONTHS/YEARS from now, ABSOLUTE epoch seconds, END_DATE YYYYMMDDHHMMSS. */
export function absolute(v: Validity, now: number, field: string): Date {
  const d = pointInTime(v, now, field);
  // X.509 times end with the year 9999 (GeneralizedTime); anything past it, or no time at all, is refused.
  if (!(d.getTime() >= 0 && d.getTime() <= MAX_TIME))
    throw new ServiceError("InvalidArgsException", `The ${field} ${v.Type} ${v.Value} is not a valid time.`);
  return d;
}

const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

function pointInTime(v: Validity, now: number, field: string): Date {
  const value = v.Value!;
  switch (v.Type) {
    case "DAYS":
      return new Date(now + value * DAY_MS);
    case "MONTHS":
    case "YEARS": {
      const d = new Date(now);
      if (v.Type === "MONTHS") d.setUTCMonth(d.getUTCMonth() + value);
      else d.setUTCFullYear(d.getUTCFullYear() + value);
      if (field === "ValidityNotBefore" || Number.isNaN(d.getTime())) break;
      return d;
    }
    case "ABSOLUTE":
      if (value > 253402300799) break;
      return new Date(value * 1000);
    case "END_DATE": {
      const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(String(value));
      if (!m) break;
      const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
      if (d.getUTCMonth() !== +m[2]! - 1 || d.getUTCDate() !== +m[3]!) break;
      return d;
    }
  }
  if (field === "ValidityNotBefore" && (v.Type === "DAYS" || v.Type === "MONTHS" || v.Type === "YEARS")) {
    throw new ServiceError("InvalidArgsException", "ValidityNotBefore takes Type ABSOLUTE or END_DATE only.");
  }
  throw new ServiceError("InvalidArgsException", `The ${field} ${v.Type} ${value} is not a valid time.`);
}

/**
 * The extensions of an issued certificate. Precedence as AWS documents it: the template's own
 * extensions win over ApiPassthrough's, which win over the CSR's; the CA adds SKI, AKI, the CRL
 * distribution point and the OCSP AIA itself. Templates without CSRPassthrough take only the
 * CSR's subject alternative names.
 */
function buildExtensions(
  pca: AcmPcaService,
  ca: Authority,
  tpl: Template,
  csrExtensions: x509.Extension[],
  spkiDer: Buffer,
  api: ApiPassthrough | undefined,
  aki: x509.Extension | undefined,
): x509.Extension[] {
  const byOid = new Map<string, x509.Extension>();
  for (const e of csrExtensions) if (tpl.csrPassthrough || e.extnID === OID.subjectAltName) byOid.set(e.extnID, e);
  if (tpl.apiPassthrough && api?.Extensions) for (const e of apiExtensions(api.Extensions)) byOid.set(e.extnID, e);
  // The template's own.
  byOid.set(
    OID.basicConstraints,
    extension(
      OID.basicConstraints,
      true,
      new x509.BasicConstraints(tpl.ca ? { cA: true, pathLenConstraint: tpl.ca.pathLen } : { cA: false }),
    ),
  );
  const keyUsage = isMlDsaSpki(spkiDer) ? tpl.keyUsage & ML_DSA_KEY_USAGE_MASK : tpl.keyUsage;
  byOid.set(OID.keyUsage, extension(OID.keyUsage, true, new x509.KeyUsage(keyUsage)));
  if (tpl.eku) byOid.set(OID.extKeyUsage, extension(OID.extKeyUsage, tpl.eku.critical, new x509.ExtendedKeyUsage(tpl.eku.oids)));
  else if (tpl.ca) byOid.delete(OID.extKeyUsage);
  // The CA's.
  byOid.set(
    OID.subjectKeyIdentifier,
    extension(OID.subjectKeyIdentifier, false, new x509.SubjectKeyIdentifier(toArrayBuffer(keyIdentifier(spkiDer)))),
  );
  if (tpl.fromIssuer && aki) {
    byOid.set(OID.authorityKeyIdentifier, aki);
    const crl = ca.body.revocation?.CrlConfiguration;
    if (crl?.Enabled && crl.CrlDistributionPointExtensionConfiguration?.OmitExtension !== true) {
      const point = new x509.DistributionPoint({
        distributionPoint: new x509.DistributionPointName({
          fullName: [new x509.GeneralName({ uniformResourceIdentifier: pca.crlUrl(ca.body) })],
        }),
      });
      byOid.set(OID.crlDistributionPoints, extension(OID.crlDistributionPoints, false, new x509.CRLDistributionPoints([point])));
    }
    if (ca.body.revocation?.OcspConfiguration?.Enabled) {
      const access = new x509.AccessDescription({
        accessMethod: OID.ocsp,
        accessLocation: new x509.GeneralName({ uniformResourceIdentifier: pca.ocspUrl(ca.body) }),
      });
      byOid.set(OID.authorityInfoAccess, extension(OID.authorityInfoAccess, false, new x509.AuthorityInfoAccessSyntax([access])));
    }
  }
  const order = [
    OID.basicConstraints,
    OID.subjectKeyIdentifier,
    OID.authorityKeyIdentifier,
    OID.keyUsage,
    OID.extKeyUsage,
    OID.crlDistributionPoints,
    OID.authorityInfoAccess,
  ];
  return [
    ...order.flatMap((o) => (byOid.has(o) ? [byOid.get(o)!] : [])),
    ...[...byOid.values()].filter((e) => !order.includes(e.extnID as (typeof order)[number])),
  ];
}

export function apiExtensions(e: NonNullable<ApiPassthrough["Extensions"]>): x509.Extension[] {
  const out: x509.Extension[] = [];
  if (e.KeyUsage) {
    let bits = 0;
    const names: Record<string, number> = {
      DigitalSignature: KEY_USAGE_BITS.digitalSignature,
      NonRepudiation: KEY_USAGE_BITS.nonRepudiation,
      KeyEncipherment: KEY_USAGE_BITS.keyEncipherment,
      DataEncipherment: KEY_USAGE_BITS.dataEncipherment,
      KeyAgreement: KEY_USAGE_BITS.keyAgreement,
      KeyCertSign: KEY_USAGE_BITS.keyCertSign,
      CRLSign: KEY_USAGE_BITS.cRLSign,
      EncipherOnly: KEY_USAGE_BITS.encipherOnly,
      DecipherOnly: KEY_USAGE_BITS.decipherOnly,
    };
    for (const [name, bit] of Object.entries(names)) if (e.KeyUsage[name]) bits |= bit;
    out.push(extension(OID.keyUsage, true, new x509.KeyUsage(bits)));
  }
  if (e.ExtendedKeyUsage) {
    const oids = e.ExtendedKeyUsage.map((u) => {
      const oid = u.ExtendedKeyUsageType ? EKU[u.ExtendedKeyUsageType as keyof typeof EKU] : u.ExtendedKeyUsageObjectIdentifier;
      if (!oid)
        throw new ServiceError(
          "InvalidArgsException",
          "Each ExtendedKeyUsage names an ExtendedKeyUsageType or an ExtendedKeyUsageObjectIdentifier.",
        );
      return oid;
    });
    out.push(extension(OID.extKeyUsage, false, new x509.ExtendedKeyUsage(oids)));
  }
  if (e.SubjectAlternativeNames)
    out.push(extension(OID.subjectAltName, false, new x509.SubjectAlternativeName(e.SubjectAlternativeNames.map(generalName))));
  if (e.CertificatePolicies) {
    const policies = e.CertificatePolicies.map(
      (p) =>
        new x509.PolicyInformation({
          policyIdentifier: p.CertPolicyId!,
          policyQualifiers: p.PolicyQualifiers?.map(
            (q) =>
              new x509.PolicyQualifierInfo({
                policyQualifierId: "1.3.6.1.5.5.7.2.1",
                qualifier: toArrayBuffer(ia5(q.Qualifier?.CpsUri ?? "")),
              }),
          ),
        }),
    );
    out.push(extension(OID.certificatePolicies, false, new x509.CertificatePolicies(policies)));
  }
  for (const c of e.CustomExtensions ?? [])
    out.push(rawExtension(c.ObjectIdentifier!, c.Critical === true, Buffer.from(c.Value!, "base64")));
  return out;
}

function ia5(text: string): Buffer {
  const bytes = Buffer.from(text, "ascii");
  const length = bytes.length < 0x80 ? Buffer.from([bytes.length]) : Buffer.from([0x81, bytes.length]);
  return Buffer.concat([Buffer.from([0x16]), length, bytes]);
}

export function generalName(n: GeneralNameInput): x509.GeneralName {
  if (n.DnsName !== undefined) return new x509.GeneralName({ dNSName: n.DnsName });
  if (n.Rfc822Name !== undefined) return new x509.GeneralName({ rfc822Name: n.Rfc822Name });
  if (n.UniformResourceIdentifier !== undefined) return new x509.GeneralName({ uniformResourceIdentifier: n.UniformResourceIdentifier });
  if (n.IpAddress !== undefined) {
    if (isIP(n.IpAddress) === 0) throw new ServiceError("InvalidArgsException", `${n.IpAddress} is not an IP address.`);
    return new x509.GeneralName({ iPAddress: n.IpAddress });
  }
  if (n.DirectoryName !== undefined) return new x509.GeneralName({ directoryName: subjectName(n.DirectoryName) });
  if (n.RegisteredId !== undefined) return new x509.GeneralName({ registeredID: n.RegisteredId });
  throw new ServiceError(
    "InvalidArgsException",
    "This keyhold server takes subject alternative names of type DnsName, Rfc822Name, UniformResourceIdentifier, IpAddress, DirectoryName or RegisteredId.",
  );
}
