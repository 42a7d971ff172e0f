/** RevokeCertificate's work, shared by the operation and by ACM: the certificate is marked revoked, then the CRL is republished. */
import { ServiceError } from "../errors.js";
import { type AcmPcaService, type Authority, CERT_KIND, normalizeSerial, type CertificateBody } from "./service.js";

/** RevocationReason → the CRLReason code (RFC 5280 §5.3.1). */
export const CRL_REASONS: Readonly<Record<string, number>> = Object.freeze({
  UNSPECIFIED: 0,
  KEY_COMPROMISE: 1,
  CERTIFICATE_AUTHORITY_COMPROMISE: 2,
  AFFILIATION_CHANGED: 3,
  SUPERSEDED: 4,
  CESSATION_OF_OPERATION: 5,
  PRIVILEGE_WITHDRAWN: 9,
  A_A_COMPROMISE: 10,
});

export async function revokeCertificate(pca: AcmPcaService, ca: Authority, serialInput: string, reason: string): Promise<void> {
  pca.requireStatus(ca.body, ["ACTIVE", "DISABLED", "EXPIRED"], "RevokeCertificate");
  if (CRL_REASONS[reason] === undefined)
    throw new ServiceError("InvalidRequestException", `RevocationReason ${reason} is not one ACM Private CA knows.`);
  const serial = normalizeSerial(serialInput);
  if (!serial) throw new ServiceError("InvalidRequestException", `The certificate serial ${serialInput} is not hexadecimal.`);
  const cert = await pca.certificate(ca.accountId, ca.body.id, serial);
  if (!cert)
    throw new ServiceError(
      "ResourceNotFoundException",
      `Could not find a certificate with serial ${serialInput} issued by ${ca.body.arn}.`,
    );
  if (cert.body.revokedAt !== undefined)
    throw new ServiceError("RequestAlreadyProcessedException", `The certificate with serial ${serialInput} is already revoked.`);
  const revoked: CertificateBody = { ...cert.body, revokedAt: pca.clock.now(), reason };
  const written = await pca.repo.putDocument(
    { ...cert.doc, kind: CERT_KIND, body: JSON.stringify(revoked), revision: cert.doc.revision + 1 },
    cert.doc.revision,
  );
  if (!written)
    throw new ServiceError(
      "ConcurrentModificationException",
      `The certificate with serial ${serialInput} was changed by another request; try again.`,
    );
  // The CRL follows at once; if its bucket refuses now, the scheduler publishes it on its next round.
  if (ca.body.revocation?.CrlConfiguration?.Enabled) await pca.publishCrlSoon(ca);
}
