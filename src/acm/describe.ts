/** DescribeCertificate's CertificateDetail and ListCertificates' CertificateSummary, from a stored certificate. */
import type { CertificateDetail, CertificateSummary } from "@aws-sdk/client-acm";
import type { CertificateBody } from "./service.js";

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

/** The status a reader sees: an issued certificate past its NotAfter is EXPIRED. */
export function currentStatus(body: CertificateBody, now: number): CertificateBody["status"] {
  if (body.status === "ISSUED" && body.facts && body.facts.notAfter < now) return "EXPIRED";
  return body.status;
}

function exportOption(body: CertificateBody): "ENABLED" | "DISABLED" {
  return body.type === "PRIVATE" ? "ENABLED" : "DISABLED";
}

export function certificateDetail(body: CertificateBody, now: number, inUseBy: string[]): CertificateDetail {
  const f = body.facts;
  return {
    CertificateArn: body.arn,
    DomainName: f?.domainName ?? body.requested?.domainName,
    SubjectAlternativeNames: f?.subjectAlternativeNames ?? body.requested?.subjectAlternativeNames,
    Serial: f?.serial,
    Subject: f?.subject,
    Issuer: f?.issuer,
    CreatedAt: date(body.createdAt),
    IssuedAt: date(body.issuedAt),
    ImportedAt: date(body.importedAt),
    Status: currentStatus(body, now),
    NotBefore: date(f?.notBefore),
    NotAfter: date(f?.notAfter),
    KeyAlgorithm: body.keyAlgorithm,
    SignatureAlgorithm: f?.signatureAlgorithm,
    InUseBy: inUseBy,
    FailureReason: body.status === "FAILED" ? (body.failureReason as CertificateDetail["FailureReason"]) : undefined,
    Type: body.type,
    RenewalSummary:
      body.renewal && body.type === "PRIVATE"
        ? {
            RenewalStatus: body.renewal.status,
            RenewalStatusReason: body.renewal.reason as CertificateDetail["FailureReason"],
            DomainValidationOptions: [],
            UpdatedAt: new Date(body.renewal.updatedAt),
          }
        : undefined,
    KeyUsages: f?.keyUsages.map((Name) => ({ Name: Name as never })),
    ExtendedKeyUsages: f?.extendedKeyUsages.map((e) => ({ Name: e.Name as never, OID: e.OID })),
    CertificateAuthorityArn: body.certificateAuthorityArn,
    RevokedAt: date(body.revokedAt),
    RevocationReason: body.revocationReason as CertificateDetail["RevocationReason"],
    RenewalEligibility: body.type === "PRIVATE" && body.status === "ISSUED" ? "ELIGIBLE" : "INELIGIBLE",
    Options: {
      CertificateTransparencyLoggingPreference: (body.options?.CertificateTransparencyLoggingPreference ?? "ENABLED") as "ENABLED",
      Export: exportOption(body),
    },
  };
}

export function certificateSummary(body: CertificateBody, now: number, inUse: boolean): CertificateSummary {
  const f = body.facts;
  const sans = f?.subjectAlternativeNames ?? body.requested?.subjectAlternativeNames ?? [];
  return {
    CertificateArn: body.arn,
    DomainName: f?.domainName ?? body.requested?.domainName,
    SubjectAlternativeNameSummaries: sans.slice(0, 100),
    HasAdditionalSubjectAlternativeNames: sans.length > 100,
    Status: currentStatus(body, now),
    Type: body.type,
    KeyAlgorithm: body.keyAlgorithm,
    KeyUsages: f?.keyUsages as CertificateSummary["KeyUsages"],
    ExtendedKeyUsages: f?.extendedKeyUsages.map((e) => e.Name) as CertificateSummary["ExtendedKeyUsages"],
    ExportOption: exportOption(body),
    InUse: inUse,
    Exported: body.type === "PRIVATE" ? body.exported === true : undefined,
    RenewalEligibility: body.type === "PRIVATE" && body.status === "ISSUED" ? "ELIGIBLE" : "INELIGIBLE",
    NotBefore: date(f?.notBefore),
    NotAfter: date(f?.notAfter),
    CreatedAt: date(body.createdAt),
    IssuedAt: date(body.issuedAt),
    ImportedAt: date(body.importedAt),
  };
}
