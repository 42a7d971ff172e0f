import type { UntagCertificateAuthorityRequest } from "@aws-sdk/client-acm-pca";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn, Tags } from "../shapes.js";
import { checkTagKeys } from "../tags.js";

export const untagCertificateAuthority = defineOperation<UntagCertificateAuthorityRequest, Record<string, never>>({
  name: "UntagCertificateAuthority",
  description: "Remove tags from a CA: by key, or by key and value when a Value is given.",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn, Tags }, ["CertificateAuthorityArn", "Tags"]),
  async run(pca, call, input) {
    const tags = input.Tags!.map((t) => ({ Key: t.Key!, Value: t.Value }));
    checkTagKeys(tags);
    const ca = await pca.find(call, input.CertificateAuthorityArn!);
    pca.trailResource(call, ca.body.arn);
    await pca.authorize(call, "acm-pca:UntagCertificateAuthority", ca, tags);
    pca.requireStatus(ca.body, ["CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED", "FAILED"], "UntagCertificateAuthority");
    const removed = (t: { Key: string; Value?: string }) =>
      tags.some((r) => r.Key === t.Key && (r.Value === undefined || r.Value === t.Value));
    await pca.save(ca, { ...ca.body, tags: ca.body.tags.filter((t) => !removed(t)) });
    return {};
  },
});
