import type { DescribeCertificateRequest, DescribeCertificateResponse } from "@aws-sdk/client-acm";
import { struct } from "../../validation/schema.js";
import { certificateDetail } from "../describe.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const describeCertificate = defineOperation<DescribeCertificateRequest, DescribeCertificateResponse>({
  name: "DescribeCertificate",
  description: "Describe a certificate: names, status, validity, key algorithm, key usages, renewal, what uses it.",
  readOnly: true,
  input: struct({ CertificateArn }, ["CertificateArn"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:DescribeCertificate");
    return { Certificate: certificateDetail(cert.body, acm.clock.now(), acm.inUseBy(cert.body.arn)) };
  },
});
