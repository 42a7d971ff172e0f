import type { DescribeCertificateAuthorityRequest, DescribeCertificateAuthorityResponse } from "@aws-sdk/client-acm-pca";
import { struct } from "../../validation/schema.js";
import { describeAuthority } from "../describe.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const describeCertificateAuthority = defineOperation<DescribeCertificateAuthorityRequest, DescribeCertificateAuthorityResponse>({
  name: "DescribeCertificateAuthority",
  description: "Describe a private CA: its state, configuration, certificate dates and revocation settings.",
  readOnly: true,
  input: struct({ CertificateAuthorityArn: Arn }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:DescribeCertificateAuthority");
    return { CertificateAuthority: describeAuthority(pca, ca) };
  },
});
