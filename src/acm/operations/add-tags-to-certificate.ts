import type { AddTagsToCertificateRequest } from "@aws-sdk/client-acm";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkTags, mergeTags } from "../service.js";
import { CertificateArn, Tags } from "../shapes.js";

export const addTagsToCertificate = defineOperation<AddTagsToCertificateRequest, Record<string, never>>({
  name: "AddTagsToCertificate",
  description: "Add or overwrite tags on a certificate (at most 50).",
  readOnly: false,
  input: struct({ CertificateArn, Tags }, ["CertificateArn", "Tags"]),
  async run(acm, call, input) {
    const tags = checkTags(input.Tags ?? []);
    const cert = await acm.require(call, input.CertificateArn!, "acm:AddTagsToCertificate");
    await acm.save(cert, { ...cert.body, tags: mergeTags(cert.body.tags, tags) });
    return {};
  },
});
