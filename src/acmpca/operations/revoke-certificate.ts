import type { RevokeCertificateRequest } from "@aws-sdk/client-acm-pca";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { revokeCertificate } from "../revoke.js";
import { Arn, RevocationReason } from "../shapes.js";

export const revokeCertificateOperation = defineOperation<RevokeCertificateRequest, Record<string, never>>({
  name: "RevokeCertificate",
  description: "Revoke a certificate the CA issued, with a reason: the CRL (when enabled) is republished and OCSP answers revoked.",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn, CertificateSerial: str({ min: 0, max: 128 }), RevocationReason }, [
    "CertificateAuthorityArn",
    "CertificateSerial",
    "RevocationReason",
  ]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:RevokeCertificate");
    await revokeCertificate(pca, ca, input.CertificateSerial!, input.RevocationReason!);
    return {};
  },
});
