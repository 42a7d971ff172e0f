import type { GetCertificateRequest, GetCertificateResponse } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const getCertificate = defineOperation<GetCertificateRequest, GetCertificateResponse>({
  name: "GetCertificate",
  description: "Get a certificate and its chain, PEM-encoded.",
  readOnly: true,
  input: struct({ CertificateArn }, ["CertificateArn"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:GetCertificate");
    if (!cert.body.certificatePem)
      throw new ServiceError("RequestInProgressException", `Certificate ${cert.body.arn} is ${cert.body.status}: it has not been issued.`);
    return { Certificate: cert.body.certificatePem, CertificateChain: cert.body.chainPem };
  },
});
