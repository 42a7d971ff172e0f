import type { RemoveTagsFromCertificateRequest } from "@aws-sdk/client-acm";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkTags } from "../service.js";
import { CertificateArn, Tags } from "../shapes.js";

export const removeTagsFromCertificate = defineOperation<RemoveTagsFromCertificateRequest, Record<string, never>>({
  name: "RemoveTagsFromCertificate",
  description: "Remove tags from a certificate: by key, or by key and value when a value is given.",
  readOnly: false,
  input: struct({ CertificateArn, Tags }, ["CertificateArn", "Tags"]),
  async run(acm, call, input) {
    checkTags(input.Tags ?? []);
    const tags = input.Tags ?? [];
    const cert = await acm.require(call, input.CertificateArn!, "acm:RemoveTagsFromCertificate");
    // A tag given with a value is removed only when the value matches, as ACM does.
    const removed = (t: { Key: string; Value?: string }) =>
      tags.some((r) => r.Key === t.Key && (r.Value === undefined || r.Value === t.Value));
    await acm.save(cert, { ...cert.body, tags: cert.body.tags.filter((t) => !removed(t)) });
    return {};
  },
});
