/** Every ACM operation keyhold serves, in one table. The wire name is each operation's `name`. */
import type { AcmOperation } from "./operation.js";
import { addTagsToCertificate } from "./operations/add-tags-to-certificate.js";
import { deleteCertificate } from "./operations/delete-certificate.js";
import { describeCertificate } from "./operations/describe-certificate.js";
import { exportCertificate } from "./operations/export-certificate.js";
import { getAccountConfiguration } from "./operations/get-account-configuration.js";
import { getCertificate } from "./operations/get-certificate.js";
import { importCertificate } from "./operations/import-certificate.js";
import { listCertificates } from "./operations/list-certificates.js";
import { listTagsForCertificate } from "./operations/list-tags-for-certificate.js";
import { putAccountConfiguration } from "./operations/put-account-configuration.js";
import { removeTagsFromCertificate } from "./operations/remove-tags-from-certificate.js";
import { renewCertificate } from "./operations/renew-certificate.js";
import { requestCertificate } from "./operations/request-certificate.js";
import { revokeCertificate } from "./operations/revoke-certificate.js";
import { searchCertificates } from "./operations/search-certificates.js";
import { updateCertificateOptions } from "./operations/update-certificate-options.js";

/** AWS JSON 1.1: X-Amz-Target is CertificateManager.<Operation>; requests are signed for acm. */
export const ACM_TARGET_PREFIX = "CertificateManager";

export const ACM_OPERATIONS: readonly AcmOperation[] = [
  importCertificate,
  requestCertificate,
  describeCertificate,
  getCertificate,
  listCertificates,
  exportCertificate,
  renewCertificate,
  deleteCertificate,
  addTagsToCertificate,
  removeTagsFromCertificate,
  listTagsForCertificate,
  getAccountConfiguration,
  putAccountConfiguration,
  revokeCertificate,
  searchCertificates,
  updateCertificateOptions,
];

export const ACM_OPERATIONS_BY_NAME: ReadonlyMap<string, AcmOperation> = new Map(ACM_OPERATIONS.map((op) => [op.name, op]));

/** ACM operations keyhold does not serve, with the reason a caller is given. */
export const ACM_UNSERVED: ReadonlyMap<string, string> = new Map([
  ["ResendValidationEmail", "keyhold issues private certificates only; there is no domain validation email to resend."],
]);
