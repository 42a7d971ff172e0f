import type { GetCertificateRequest, GetCertificateResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { toPemString } from "../service.js";
import { Arn } from "../shapes.js";

export const getCertificate = defineOperation<GetCertificateRequest, GetCertificateResponse>({
  name: "GetCertificate",
  description: "Get an issued certificate (PEM) and its chain up to the root.",
  readOnly: true,
  input: struct({ CertificateAuthorityArn: Arn, CertificateArn: Arn }, ["CertificateAuthorityArn", "CertificateArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:GetCertificate");
    const { caArn, serial } = pca.parseCertificateArn(input.CertificateArn!);
    if (caArn !== ca.body.arn)
      throw new ServiceError("InvalidArgsException", `The certificate ${input.CertificateArn} was not issued by ${ca.body.arn}.`);
    pca.requireStatus(ca.body, ["ACTIVE", "DISABLED", "EXPIRED", "PENDING_CERTIFICATE"], "GetCertificate");
    const cert = await pca.certificate(ca.accountId, ca.body.id, serial);
    if (!cert) throw new ServiceError("ResourceNotFoundException", `Could not find certificate ${input.CertificateArn}.`);
    // The self-signed root certificate issued before import has no chain.
    const chain = cert.body.template.startsWith("RootCACertificate") ? undefined : pca.chainOf(ca.body)?.trimEnd();
    return { Certificate: toPemString(Buffer.from(cert.body.der, "base64")).trimEnd(), CertificateChain: chain };
  },
});
