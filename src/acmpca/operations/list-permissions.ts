import type { ListPermissionsRequest, ListPermissionsResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn, MaxResults, NextToken } from "../shapes.js";

export const listPermissions = defineOperation<ListPermissionsRequest, ListPermissionsResponse>({
  name: "ListPermissions",
  description: "List the permissions given to ACM on the CA.",
  readOnly: true,
  input: struct({ CertificateAuthorityArn: Arn, MaxResults, NextToken }, ["CertificateAuthorityArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:ListPermissions");
    const all = ca.body.permissions;
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    if (!Number.isInteger(start) || start < 0 || start > all.length)
      throw new ServiceError("InvalidNextTokenException", "The NextToken is not valid.");
    const end = start + (input.MaxResults ?? 100);
    return {
      Permissions: all.slice(start, end).map((p) => ({
        CertificateAuthorityArn: ca.body.arn,
        CreatedAt: new Date(p.createdAt),
        Principal: p.principal,
        SourceAccount: p.sourceAccount,
        Actions: p.actions as ("IssueCertificate" | "GetCertificate" | "ListPermissions")[],
        Policy: p.policy || undefined,
      })),
      NextToken: end < all.length ? String(end) : undefined,
    };
  },
});
