import type { DeleteCertificateAuthorityRequest } from "@aws-sdk/client-acm-pca";
import { DAY_MS } from "../../clock.js";
import { int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const deleteCertificateAuthority = defineOperation<DeleteCertificateAuthorityRequest, Record<string, never>>({
  name: "DeleteCertificateAuthority",
  description:
    "Delete a CA that is not ACTIVE (disable it first): it is DELETED, restorable for 7–30 days (default 30), then gone with its key.",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn, PermanentDeletionTimeInDays: int({ min: 7, max: 30 }) }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:DeleteCertificateAuthority");
    // AWS: a CA that has been activated must be disabled before it can be deleted.
    pca.requireStatus(ca.body, ["CREATING", "PENDING_CERTIFICATE", "DISABLED", "EXPIRED", "FAILED"], "DeleteCertificateAuthority");
    const now = pca.clock.now();
    await pca.save(ca, {
      ...ca.body,
      status: "DELETED",
      statusBeforeDeletion: pca.status(ca.body),
      lastStateChangeAt: now,
      restorableUntil: now + (input.PermanentDeletionTimeInDays ?? 30) * DAY_MS,
    });
    return {};
  },
});
