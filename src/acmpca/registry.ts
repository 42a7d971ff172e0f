/** Every ACM Private CA operation keyhold serves, in one table. The wire name is each operation's `name`. */
import type { AcmPcaOperation } from "./operation.js";
import { createCertificateAuthority } from "./operations/create-certificate-authority.js";
import { describeCertificateAuthority } from "./operations/describe-certificate-authority.js";
import { getCertificate } from "./operations/get-certificate.js";
import { getCertificateAuthorityCertificate } from "./operations/get-certificate-authority-certificate.js";
import { getCertificateAuthorityCsr } from "./operations/get-certificate-authority-csr.js";
import { importCertificateAuthorityCertificate } from "./operations/import-certificate-authority-certificate.js";
import { issueCertificateOperation } from "./operations/issue-certificate.js";
import { listCertificateAuthorities } from "./operations/list-certificate-authorities.js";

/** AWS JSON 1.1: X-Amz-Target is ACMPrivateCA.<Operation>; requests are signed for acm-pca. */
export const ACMPCA_TARGET_PREFIX = "ACMPrivateCA";
export const ACMPCA_SIGNING_NAME = "acm-pca";

export const ACMPCA_OPERATIONS: readonly AcmPcaOperation[] = [
  createCertificateAuthority,
  describeCertificateAuthority,
  listCertificateAuthorities,
  getCertificateAuthorityCsr,
  importCertificateAuthorityCertificate,
  getCertificateAuthorityCertificate,
  issueCertificateOperation,
  getCertificate,
];

export const ACMPCA_OPERATIONS_BY_NAME: ReadonlyMap<string, AcmPcaOperation> = new Map(ACMPCA_OPERATIONS.map((op) => [op.name, op]));

/** ACM PCA operations keyhold does not serve yet, with the reason a caller is given (UnsupportedOperationException). */
export const ACMPCA_UNSERVED: ReadonlyMap<string, string> = new Map(
  [
    "RevokeCertificate",
    "UpdateCertificateAuthority",
    "DeleteCertificateAuthority",
    "RestoreCertificateAuthority",
    "TagCertificateAuthority",
    "UntagCertificateAuthority",
    "ListTags",
    "PutPolicy",
    "GetPolicy",
    "DeletePolicy",
    "CreatePermission",
    "ListPermissions",
    "DeletePermission",
    "CreateCertificateAuthorityAuditReport",
    "DescribeCertificateAuthorityAuditReport",
  ].map((name) => [name, `${name} is not served by this keyhold server yet.`]),
);
