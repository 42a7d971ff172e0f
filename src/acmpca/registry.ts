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
import { revokeCertificateOperation } from "./operations/revoke-certificate.js";
import { updateCertificateAuthority } from "./operations/update-certificate-authority.js";
import { deleteCertificateAuthority } from "./operations/delete-certificate-authority.js";
import { restoreCertificateAuthority } from "./operations/restore-certificate-authority.js";
import { tagCertificateAuthority } from "./operations/tag-certificate-authority.js";
import { untagCertificateAuthority } from "./operations/untag-certificate-authority.js";
import { listTags } from "./operations/list-tags.js";
import { putPolicy } from "./operations/put-policy.js";
import { getPolicy } from "./operations/get-policy.js";
import { deletePolicy } from "./operations/delete-policy.js";
import { createPermission } from "./operations/create-permission.js";
import { listPermissions } from "./operations/list-permissions.js";
import { deletePermission } from "./operations/delete-permission.js";
import { createCertificateAuthorityAuditReport } from "./operations/create-certificate-authority-audit-report.js";
import { describeCertificateAuthorityAuditReport } from "./operations/describe-certificate-authority-audit-report.js";

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
  revokeCertificateOperation,
  updateCertificateAuthority,
  deleteCertificateAuthority,
  restoreCertificateAuthority,
  tagCertificateAuthority,
  untagCertificateAuthority,
  listTags,
  putPolicy,
  getPolicy,
  deletePolicy,
  createPermission,
  listPermissions,
  deletePermission,
  createCertificateAuthorityAuditReport,
  describeCertificateAuthorityAuditReport,
];

export const ACMPCA_OPERATIONS_BY_NAME: ReadonlyMap<string, AcmPcaOperation> = new Map(ACMPCA_OPERATIONS.map((op) => [op.name, op]));

/** ACM PCA operations keyhold does not serve, with the reason a caller is given (UnsupportedOperationException). */
export const ACMPCA_UNSERVED: ReadonlyMap<string, string> = new Map();
