import type { IssueCertificateRequest, IssueCertificateResponse } from "@aws-sdk/client-acm-pca";
import { blob, list, str, struct } from "../../validation/schema.js";
import { issueCertificate, type ApiPassthrough } from "../issue.js";
import { defineOperation } from "../operation.js";
import { Arn, Asn1Subject, GeneralName, IdempotencyToken, KeyUsageShape, SigningAlgorithm, Validity } from "../shapes.js";
import { bool, enumOf } from "../../validation/schema.js";

const Oid = str({ min: 0, max: 64, pattern: /^([0-2])\.([0-9]|([0-3][0-9]))((\.([0-9]+)){0,126})$/ });

export const issueCertificateOperation = defineOperation<IssueCertificateRequest, IssueCertificateResponse>({
  name: "IssueCertificate",
  description:
    "Issue a certificate for a CSR from a private CA, with a template's extensions (synchronously: GetCertificate has it at once).",
  readOnly: false,
  input: struct(
    {
      ApiPassthrough: struct({
        Extensions: struct({
          CertificatePolicies: list(
            struct(
              {
                CertPolicyId: Oid,
                PolicyQualifiers: list(
                  struct({ PolicyQualifierId: enumOf(["CPS"]), Qualifier: struct({ CpsUri: str({ max: 256 }) }, ["CpsUri"]) }, [
                    "PolicyQualifierId",
                    "Qualifier",
                  ]),
                  { min: 1, max: 20 },
                ),
              },
              ["CertPolicyId"],
            ),
            { min: 1, max: 20 },
          ),
          ExtendedKeyUsage: list(
            struct({
              ExtendedKeyUsageType: enumOf([
                "SERVER_AUTH",
                "CLIENT_AUTH",
                "CODE_SIGNING",
                "EMAIL_PROTECTION",
                "TIME_STAMPING",
                "OCSP_SIGNING",
                "SMART_CARD_LOGIN",
                "DOCUMENT_SIGNING",
                "CERTIFICATE_TRANSPARENCY",
              ]),
              ExtendedKeyUsageObjectIdentifier: Oid,
            }),
            { min: 1, max: 20 },
          ),
          KeyUsage: KeyUsageShape,
          SubjectAlternativeNames: list(GeneralName, { min: 1, max: 150 }),
          CustomExtensions: list(
            struct(
              {
                ObjectIdentifier: Oid,
                Value: str({ min: 1, max: 4096, pattern: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ }),
                Critical: bool(),
              },
              ["ObjectIdentifier", "Value"],
            ),
            { min: 1, max: 150 },
          ),
        }),
        Subject: Asn1Subject,
      }),
      CertificateAuthorityArn: Arn,
      // CsrBlob: 1–32768 bytes.
      Csr: blob({ min: 1, max: 32768 }),
      SigningAlgorithm,
      TemplateArn: Arn,
      Validity,
      ValidityNotBefore: Validity,
      IdempotencyToken,
    },
    ["CertificateAuthorityArn", "Csr", "SigningAlgorithm", "Validity"],
  ),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:IssueCertificate");
    const cert = await issueCertificate(pca, call, ca, {
      csr: Buffer.from(input.Csr!),
      signingAlgorithm: input.SigningAlgorithm!,
      templateArn: input.TemplateArn,
      validity: input.Validity!,
      validityNotBefore: input.ValidityNotBefore,
      apiPassthrough: input.ApiPassthrough as ApiPassthrough | undefined,
      idempotencyToken: input.IdempotencyToken,
    });
    return { CertificateArn: cert.arn };
  },
});
