import type { ListTagsRequest, ListTagsResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn, MaxResults, NextToken } from "../shapes.js";

export const listTags = defineOperation<ListTagsRequest, ListTagsResponse>({
  name: "ListTags",
  description: "List a CA's tags.",
  readOnly: true,
  input: struct({ CertificateAuthorityArn: Arn, MaxResults, NextToken }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:ListTags");
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    if (!Number.isInteger(start) || start < 0 || start > ca.body.tags.length)
      throw new ServiceError("InvalidNextTokenException", "The NextToken is not valid.");
    const end = start + (input.MaxResults ?? 50);
    return { Tags: ca.body.tags.slice(start, end), NextToken: end < ca.body.tags.length ? String(end) : undefined };
  },
});
