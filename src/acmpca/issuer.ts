/**
 * The seams other parts of keyhold code against: ACM issues and revokes private certificates
 * through a keyhold CA (PrivateCertificateIssuer), and the OCSP responder reads certificate
 * status (CertificateStatusSource). AcmPcaIssuer implements both over the ACM PCA layer.
 */
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import { issueCertificate } from "./issue.js";
import { type AcmPcaService, normalizeSerial, toPemString } from "./service.js";
import { revokeCertificate } from "./revoke.js";
import { makeResponder } from "./responder.js";
import { SIGNING_ALGORITHMS } from "./x509.js";

/** What ACM (src/acm) calls to issue and revoke private certificates through a keyhold CA. */
export interface PrivateCertificateIssuer {
  issue(
    call: CallContext,
    request: { certificateAuthorityArn: string; csrDer: Buffer; validityDays: number; templateArn?: string },
  ): Promise<{ certificatePem: string; chainPem: string; serialHex: string; notBefore: Date; notAfter: Date }>;
  revoke(call: CallContext, request: { certificateAuthorityArn: string; serialHex: string; reason: string }): Promise<void>;
}

/** What the OCSP responder (src/acmpca/ocsp*.ts, another helper) reads. */
export interface CertificateStatusSource {
  /** The CA by id in any account (OCSP requests are unsigned), or undefined. */
  authority(caId: string): Promise<{ arn: string; certificateDer: Buffer; status: string; ocspEnabled: boolean } | undefined>;
  status(
    caId: string,
    serialHex: string,
  ): Promise<{ status: "good" } | { status: "revoked"; revokedAt: Date; reason: string } | { status: "unknown" }>;
  /** Issues (and keeps) a delegated OCSP signing certificate for the CA; signs with its key. */
  responder(caId: string): Promise<{ certificateDer: Buffer; sign(tbs: Buffer): Promise<Buffer>; signatureAlgorithmOid: string }>;
}

export class AcmPcaIssuer implements PrivateCertificateIssuer, CertificateStatusSource {
  constructor(private readonly pca: AcmPcaService) {}

  /**
   * Issues on the caller's behalf: the caller (ACM's own caller) must be allowed
   * acm-pca:IssueCertificate on the CA, as AWS requires for private certificates.
   */
  async issue(
    call: CallContext,
    request: { certificateAuthorityArn: string; csrDer: Buffer; validityDays: number; templateArn?: string },
  ): Promise<{ certificatePem: string; chainPem: string; serialHex: string; notBefore: Date; notAfter: Date }> {
    const ca = await this.requireForIssue(call, request.certificateAuthorityArn);
    const algorithm = ca.body.configuration.SigningAlgorithm;
    const cert = await issueCertificate(this.pca, call, ca, {
      csr: request.csrDer,
      signingAlgorithm: algorithm,
      templateArn: request.templateArn,
      validity: { Type: "DAYS", Value: request.validityDays },
    });
    return {
      certificatePem: toPemString(Buffer.from(cert.der, "base64")),
      chainPem: this.pca.chainOf(ca.body) ?? "",
      serialHex: cert.serial,
      notBefore: new Date(cert.notBefore),
      notAfter: new Date(cert.notAfter),
    };
  }

  /**
   * The CA, once the caller may issue from it: ACM's own managed renewal (the service principal
   * acm.amazonaws.com acting in the certificate's account) by the CA's permission for ACM
   * (CreatePermission with IssueCertificate, for that account), as on AWS; anyone else by policy.
   */
  private async requireForIssue(call: CallContext, arn: string) {
    if (call.principal.type !== "AWSService" || call.principal.principalId !== "acm.amazonaws.com")
      return this.pca.require(call, arn, "acm-pca:IssueCertificate");
    const ca = await this.pca.find(call, arn);
    this.pca.trailResource(call, ca.body.arn);
    const allowed = ca.body.permissions.some(
      (p) =>
        p.principal === "acm.amazonaws.com" &&
        (p.sourceAccount ?? ca.accountId) === call.accountId &&
        p.actions.includes("IssueCertificate"),
    );
    if (!allowed)
      throw new ServiceError(
        "AccessDeniedException",
        `acm.amazonaws.com has no permission to issue from ${ca.body.arn} for account ${call.accountId} (CreatePermission).`,
      );
    return ca;
  }

  async revoke(call: CallContext, request: { certificateAuthorityArn: string; serialHex: string; reason: string }): Promise<void> {
    const ca = await this.pca.require(call, request.certificateAuthorityArn, "acm-pca:RevokeCertificate");
    await revokeCertificate(this.pca, ca, request.serialHex, request.reason);
  }

  async authority(caId: string): Promise<{ arn: string; certificateDer: Buffer; status: string; ocspEnabled: boolean } | undefined> {
    const ca = await this.pca.loadAnywhere(caId);
    if (!ca?.body.certificate) return undefined;
    return {
      arn: ca.body.arn,
      certificateDer: Buffer.from(ca.body.certificate, "base64"),
      status: this.pca.status(ca.body),
      ocspEnabled: ca.body.revocation?.OcspConfiguration?.Enabled === true,
    };
  }

  async status(
    caId: string,
    serialHex: string,
  ): Promise<{ status: "good" } | { status: "revoked"; revokedAt: Date; reason: string } | { status: "unknown" }> {
    const ca = await this.pca.loadAnywhere(caId);
    const serial = normalizeSerial(serialHex);
    if (!ca || !serial) return { status: "unknown" };
    const cert = await this.pca.certificate(ca.accountId, caId, serial);
    if (!cert) return { status: "unknown" };
    if (cert.body.revokedAt !== undefined)
      return { status: "revoked", revokedAt: new Date(cert.body.revokedAt), reason: cert.body.reason ?? "UNSPECIFIED" };
    return { status: "good" };
  }

  /**
   * The CA's delegated OCSP signer: a key pair of the CA's key algorithm, its certificate issued
   * by the CA with the OCSPSigningCertificate template's extensions (and id-pkix-ocsp-nocheck),
   * valid for a day, kept in memory and renewed when half its life is gone.
   */
  async responder(caId: string): Promise<{ certificateDer: Buffer; sign(tbs: Buffer): Promise<Buffer>; signatureAlgorithmOid: string }> {
    const ca = await this.pca.loadAnywhere(caId);
    if (!ca?.body.certificate) throw new ServiceError("ResourceNotFoundException", `No certificate authority ${caId} with a certificate.`);
    const now = this.pca.clock.now();
    const cached = this.responders.get(caId);
    if (cached && cached.renewAt > now && cached.caCertificate === ca.body.certificate) return cached.responder;
    const made = await makeResponder(this.pca, ca);
    const algorithm = ca.body.configuration.SigningAlgorithm;
    const responder = {
      certificateDer: made.certificateDer,
      sign: async (tbs: Buffer) => made.sign(tbs),
      signatureAlgorithmOid: SIGNING_ALGORITHMS[algorithm]!.oid,
    };
    this.responders.set(caId, { responder, renewAt: made.renewAt, caCertificate: ca.body.certificate });
    return responder;
  }

  private readonly responders = new Map<
    string,
    { responder: Awaited<ReturnType<AcmPcaIssuer["responder"]>>; renewAt: number; caCertificate: string }
  >();
}
