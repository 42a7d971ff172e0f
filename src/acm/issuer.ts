/**
 * How ACM has a private certificate issued: keyhold's private CA (src/acmpca) implements this,
 * on the caller's behalf and through the same authorization path a client's IssueCertificate
 * takes. Declared here, identically, until the private CA is merged (issue 24).
 */
import type { CallContext } from "../call.js";

export interface IssuedCertificate {
  certificatePem: string;
  chainPem: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

export interface PrivateCertificateIssuer {
  issue(
    call: CallContext,
    request: { certificateAuthorityArn: string; csrDer: Buffer; validityDays: number; templateArn?: string },
  ): Promise<IssuedCertificate>;
  revoke(call: CallContext, request: { certificateAuthorityArn: string; serialHex: string; reason: string }): Promise<void>;
}
