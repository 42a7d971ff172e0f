import type { UpdateCertificateAuthorityRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkRevocation } from "../revocation.js";
import type { AuthorityBody } from "../service.js";
import { Arn, RevocationConfiguration } from "../shapes.js";

export const updateCertificateAuthority = defineOperation<UpdateCertificateAuthorityRequest, Record<string, never>>({
  name: "UpdateCertificateAuthority",
  description: "Disable or re-enable a CA (Status DISABLED or ACTIVE), or change its revocation configuration (CRL, OCSP).",
  readOnly: false,
  input: struct(
    {
      CertificateAuthorityArn: Arn,
      RevocationConfiguration,
      Status: enumOf(["CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DELETED", "DISABLED", "EXPIRED", "FAILED"]),
    },
    ["CertificateAuthorityArn"],
  ),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:UpdateCertificateAuthority");
    if (input.Status !== undefined && input.Status !== "ACTIVE" && input.Status !== "DISABLED") {
      throw new ServiceError("InvalidArgsException", `Status can be set to ACTIVE or DISABLED only, not ${input.Status}.`);
    }
    pca.requireStatus(
      ca.body,
      input.Status === undefined ? ["PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED"] : ["ACTIVE", "DISABLED"],
      "UpdateCertificateAuthority",
    );
    const revocation = checkRevocation(input.RevocationConfiguration as AuthorityBody["revocation"]);
    if (revocation?.CrlConfiguration?.Enabled) await pca.checkCrlBucket(call, revocation, ca.body.arn);
    const now = pca.clock.now();
    const body: AuthorityBody = { ...ca.body };
    if (revocation) body.revocation = revocation;
    if (input.Status !== undefined && input.Status !== ca.body.status) {
      body.status = input.Status;
      body.lastStateChangeAt = now;
    }
    const saved = await pca.save(ca, body);
    // A CRL newly enabled (or moved to another bucket) is written at once.
    const before = ca.body.revocation?.CrlConfiguration;
    const after = saved.body.revocation?.CrlConfiguration;
    if (after?.Enabled && (!before?.Enabled || before.S3BucketName !== after.S3BucketName || before.CustomPath !== after.CustomPath))
      await pca.publishCrlSoon(saved);
    return {};
  },
});
