import type { GetCertificateAuthorityCertificateRequest, GetCertificateAuthorityCertificateResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { toPemString } from "../service.js";
import { Arn } from "../shapes.js";

export const getCertificateAuthorityCertificate = defineOperation<
  GetCertificateAuthorityCertificateRequest,
  GetCertificateAuthorityCertificateResponse
>({
  name: "GetCertificateAuthorityCertificate",
  description: "Get the CA's certificate and the chain above it (PEM): what clients trust.",
  readOnly: true,
  input: struct({ CertificateAuthorityArn: Arn }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:GetCertificateAuthorityCertificate");
    if (!ca.body.certificate || ca.body.status === "DELETED") {
      throw new ServiceError(
        "InvalidStateException",
        `The certificate authority ${ca.body.arn} is in state ${pca.status(ca.body)} and has no certificate.`,
      );
    }
    return {
      Certificate: toPemString(Buffer.from(ca.body.certificate, "base64")).trimEnd(),
      CertificateChain: ca.body.chainPem?.trimEnd(),
    };
  },
});
