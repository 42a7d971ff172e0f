import type { RestoreCertificateAuthorityRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const restoreCertificateAuthority = defineOperation<RestoreCertificateAuthorityRequest, Record<string, never>>({
  name: "RestoreCertificateAuthority",
  description: "Restore a DELETED CA within its restoration period: it returns to the state it had (an activated CA comes back DISABLED).",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:RestoreCertificateAuthority");
    const now = pca.clock.now();
    if (ca.body.status !== "DELETED" || (ca.body.restorableUntil ?? 0) <= now) {
      throw new ServiceError(
        "InvalidStateException",
        `The certificate authority ${ca.body.arn} is not DELETED within its restoration period.`,
      );
    }
    const { restorableUntil: _until, statusBeforeDeletion, ...rest } = ca.body;
    const status = statusBeforeDeletion === "EXPIRED" ? "ACTIVE" : (statusBeforeDeletion ?? "DISABLED");
    await pca.save(ca, { ...rest, status, lastStateChangeAt: now });
    return {};
  },
});
