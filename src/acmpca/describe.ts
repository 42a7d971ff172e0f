/** A CA as DescribeCertificateAuthority and ListCertificateAuthorities answer it. */
import type { CertificateAuthority } from "@aws-sdk/client-acm-pca";
import type { AcmPcaService, Authority } from "./service.js";

export function describeAuthority(pca: AcmPcaService, ca: Authority): CertificateAuthority {
  const b = ca.body;
  return {
    Arn: b.arn,
    OwnerAccount: ca.accountId,
    CreatedAt: new Date(b.createdAt),
    LastStateChangeAt: new Date(b.lastStateChangeAt),
    Type: b.type,
    Serial: b.serial,
    Status: pca.status(b) as CertificateAuthority["Status"],
    NotBefore: b.notBefore === undefined ? undefined : new Date(b.notBefore),
    NotAfter: b.notAfter === undefined ? undefined : new Date(b.notAfter),
    CertificateAuthorityConfiguration: b.configuration as CertificateAuthority["CertificateAuthorityConfiguration"],
    RevocationConfiguration: b.revocation as CertificateAuthority["RevocationConfiguration"],
    RestorableUntil: b.restorableUntil === undefined ? undefined : new Date(b.restorableUntil),
    KeyStorageSecurityStandard: b.keyStorageSecurityStandard as CertificateAuthority["KeyStorageSecurityStandard"],
    UsageMode: b.usageMode as CertificateAuthority["UsageMode"],
  };
}
