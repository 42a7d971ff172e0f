import type { UpdateCertificateOptionsRequest } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { enumOf, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const updateCertificateOptions = defineOperation<UpdateCertificateOptionsRequest, Record<string, never>>({
  name: "UpdateCertificateOptions",
  description:
    "Set a certificate's Certificate Transparency logging preference (kept; keyhold logs to no CT log). Export is fixed when the certificate is made.",
  readOnly: false,
  input: struct(
    {
      CertificateArn,
      Options: struct({
        CertificateTransparencyLoggingPreference: enumOf(["ENABLED", "DISABLED"]),
        Export: enumOf(["ENABLED", "DISABLED"]),
      }),
    },
    ["CertificateArn", "Options"],
  ),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:UpdateCertificateOptions");
    const body = cert.body;
    if (body.status !== "ISSUED")
      throw new ServiceError(
        "InvalidStateException",
        `Certificate ${body.arn} is ${body.status}: only an issued certificate's options change.`,
      );
    const exportOption = body.type === "PRIVATE" ? "ENABLED" : "DISABLED";
    if (input.Options!.Export !== undefined && input.Options!.Export !== exportOption)
      throw new ServiceError(
        "InvalidStateException",
        `The Export option of certificate ${body.arn} is ${exportOption} and cannot be changed.`,
      );
    const preference = input.Options!.CertificateTransparencyLoggingPreference;
    if (preference !== undefined)
      await acm.save(cert, { ...body, options: { ...body.options, CertificateTransparencyLoggingPreference: preference } });
    return {};
  },
});
