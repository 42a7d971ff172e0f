import type { RevokeCertificateRequest, RevokeCertificateResponse } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

/** ACM's RevocationReason → the private CA's (CRLReason). ACM names two reasons the CA does not take. */
const PCA_REASONS: Readonly<Record<string, string | undefined>> = {
  UNSPECIFIED: "UNSPECIFIED",
  KEY_COMPROMISE: "KEY_COMPROMISE",
  CA_COMPROMISE: "CERTIFICATE_AUTHORITY_COMPROMISE",
  AFFILIATION_CHANGED: "AFFILIATION_CHANGED",
  SUPERCEDED: "SUPERSEDED",
  SUPERSEDED: "SUPERSEDED",
  CESSATION_OF_OPERATION: "CESSATION_OF_OPERATION",
  CERTIFICATE_HOLD: undefined,
  REMOVE_FROM_CRL: undefined,
  PRIVILEGE_WITHDRAWN: "PRIVILEGE_WITHDRAWN",
  A_A_COMPROMISE: "A_A_COMPROMISE",
};

export const revokeCertificate = defineOperation<RevokeCertificateRequest, RevokeCertificateResponse>({
  name: "RevokeCertificate",
  description:
    "Revoke a private certificate at the keyhold CA that issued it (its CRL and OCSP then say so); the certificate reads REVOKED.",
  readOnly: false,
  input: struct({ CertificateArn, RevocationReason: enumOf(Object.keys(PCA_REASONS)) }, ["CertificateArn", "RevocationReason"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:RevokeCertificate");
    const body = cert.body;
    const reason = PCA_REASONS[input.RevocationReason!];
    if (reason === undefined)
      throw new ServiceError(
        "ValidationException",
        `RevocationReason ${input.RevocationReason} is not one a private CA records (it has no certificate hold): use another reason.`,
      );
    if (body.type !== "PRIVATE" || !body.certificateAuthorityArn)
      throw new ServiceError(
        "ValidationException",
        `Certificate ${body.arn} is ${body.type}: only private certificates are revoked through ACM.`,
      );
    if (body.status === "REVOKED") throw new ServiceError("ConflictException", `Certificate ${body.arn} is already revoked.`);
    if (body.status !== "ISSUED" || !body.facts)
      throw new ServiceError("ConflictException", `Certificate ${body.arn} is ${body.status}: only an issued certificate can be revoked.`);
    const users = acm.inUseBy(body.arn);
    if (users.length)
      throw new ServiceError("ResourceInUseException", `Certificate ${body.arn} is in use by ${users.join(", ")} and cannot be revoked.`);
    if (!acm.issuer) throw new ServiceError("ConflictException", "keyhold's private CA is not running here.");
    try {
      await acm.issuer.revoke(call, { certificateAuthorityArn: body.certificateAuthorityArn, serialHex: body.facts.serial, reason });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      // Revoked at the CA already (an earlier attempt that did not finish here): ACM records it now.
      if (error.code === "RequestAlreadyProcessedException") {
        // nothing: fall through
      } else if (error.code === "AccessDeniedException" || error.code === "ResourceNotFoundException") throw error;
      else throw new ServiceError("ConflictException", `The private CA could not revoke certificate ${body.arn}: ${error.message}`);
    }
    await acm.save(cert, { ...body, status: "REVOKED", revokedAt: acm.clock.now(), revocationReason: input.RevocationReason });
    return { CertificateArn: body.arn };
  },
});
