import type { ExportCertificateRequest, ExportCertificateResponse } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { blob, struct } from "../../validation/schema.js";
import { encryptedPkcs8, pkcs8Der } from "../keys.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const exportCertificate = defineOperation<ExportCertificateRequest, ExportCertificateResponse>({
  name: "ExportCertificate",
  description: "Export a private certificate, its chain and its private key as PKCS#8 encrypted under a passphrase.",
  // CloudTrail records no answer for it, so the certificate and key never reach the trail.
  readOnly: true,
  input: struct({ CertificateArn, Passphrase: blob({ min: 4, max: 128 }) }, ["CertificateArn", "Passphrase"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:ExportCertificate");
    const body = cert.body;
    // ACM exports the certificates it issued from a private CA; an imported certificate's key was the importer's already.
    if (body.type !== "PRIVATE")
      throw new ServiceError("ValidationException", `Certificate ARN: ${body.arn} is not a private certificate.`);
    if (body.status !== "ISSUED" || !body.certificatePem)
      throw new ServiceError("RequestInProgressException", `Certificate ${body.arn} is ${body.status}: it has not been issued.`);
    const passphrase = Buffer.from(input.Passphrase!);
    const der = pkcs8Der(acm.privateKey(body));
    let privateKey: string;
    try {
      privateKey = encryptedPkcs8(der, passphrase);
    } finally {
      der.fill(0);
      passphrase.fill(0);
    }
    if (!body.exported) await acm.save(cert, { ...body, exported: true });
    return { Certificate: body.certificatePem, CertificateChain: body.chainPem, PrivateKey: privateKey };
  },
});
