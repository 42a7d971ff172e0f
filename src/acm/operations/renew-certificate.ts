import type { RenewCertificateRequest } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const renewCertificate = defineOperation<RenewCertificateRequest, Record<string, never>>({
  name: "RenewCertificate",
  description: "Renew a private certificate now: a new key and certificate from its CA, under the same ARN.",
  readOnly: false,
  input: struct({ CertificateArn }, ["CertificateArn"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:RenewCertificate");
    if (cert.body.type !== "PRIVATE")
      throw new ServiceError(
        "ValidationException",
        `Certificate ${cert.body.arn} is not a private certificate: only private certificates are renewed by ACM.`,
      );
    if (cert.body.status !== "ISSUED")
      throw new ServiceError(
        "RequestInProgressException",
        `Certificate ${cert.body.arn} is ${cert.body.status}: it is not eligible for renewal.`,
      );
    await acm.renew(call, cert);
    return {};
  },
});
