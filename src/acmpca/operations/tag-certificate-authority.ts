import type { TagCertificateAuthorityRequest } from "@aws-sdk/client-acm-pca";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn, Tags } from "../shapes.js";
import { checkTagKeys, mergeTags } from "../tags.js";

export const tagCertificateAuthority = defineOperation<TagCertificateAuthorityRequest, Record<string, never>>({
  name: "TagCertificateAuthority",
  description: "Add or overwrite tags on a CA (at most 50).",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn, Tags }, ["CertificateAuthorityArn", "Tags"]),
  async run(pca, call, input) {
    const tags = input.Tags!.map((t) => ({ Key: t.Key!, Value: t.Value }));
    checkTagKeys(tags);
    const ca = await pca.find(call, input.CertificateAuthorityArn!);
    pca.trailResource(call, ca.body.arn);
    await pca.authorize(call, "acm-pca:TagCertificateAuthority", ca, tags);
    pca.requireStatus(ca.body, ["CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED", "FAILED"], "TagCertificateAuthority");
    await pca.save(ca, { ...ca.body, tags: mergeTags(ca.body.tags, tags) });
    return {};
  },
});
