import type { ListTagsForCertificateRequest, ListTagsForCertificateResponse } from "@aws-sdk/client-acm";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CertificateArn } from "../shapes.js";

export const listTagsForCertificate = defineOperation<ListTagsForCertificateRequest, ListTagsForCertificateResponse>({
  name: "ListTagsForCertificate",
  description: "List a certificate's tags.",
  readOnly: true,
  input: struct({ CertificateArn }, ["CertificateArn"]),
  async run(acm, call, input) {
    const cert = await acm.require(call, input.CertificateArn!, "acm:ListTagsForCertificate");
    return { Tags: cert.body.tags.map((t) => ({ Key: t.Key, Value: t.Value })) };
  },
});
