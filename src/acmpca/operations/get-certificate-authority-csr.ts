import type { GetCertificateAuthorityCsrRequest, GetCertificateAuthorityCsrResponse } from "@aws-sdk/client-acm-pca";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const getCertificateAuthorityCsr = defineOperation<GetCertificateAuthorityCsrRequest, GetCertificateAuthorityCsrResponse>({
  name: "GetCertificateAuthorityCsr",
  description: "Get the CA's certificate signing request (PEM), to be signed by a parent CA or, for a root, by itself.",
  readOnly: true,
  input: struct({ CertificateAuthorityArn: Arn }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:GetCertificateAuthorityCsr");
    pca.requireStatus(ca.body, ["PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED"], "GetCertificateAuthorityCsr");
    return { Csr: ca.body.csrPem };
  },
});
