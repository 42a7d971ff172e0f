import type { DeleteCertificateRequest } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const deleteCertificate = defineOperation<DeleteCertificateRequest, Record<string, never>>({
  name: "DeleteCertificate",
  description: "Delete a certificate and its private key, unless something (keyhold's own HTTPS) uses it.",
  readOnly: false,
  input: struct({ CertificateArn }, ["CertificateArn"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:DeleteCertificate");
    const users = acm.inUseBy(cert.body.arn);
    if (users.length)
      throw new ServiceError(
        "ResourceInUseException",
        `Certificate ${cert.body.arn} is in use by ${users.join(", ")} and cannot be deleted.`,
      );
    if (!(await acm.delete(cert)))
      throw new ServiceError("ConflictException", "The certificate was changed by another request at the same time; try again.");
    return {};
  },
});
