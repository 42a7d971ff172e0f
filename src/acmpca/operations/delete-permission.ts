import type { DeletePermissionRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { AccountId, Arn, Principal } from "../shapes.js";

export const deletePermission = defineOperation<DeletePermissionRequest, Record<string, never>>({
  name: "DeletePermission",
  description: "Take back a permission given to ACM on the CA.",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn, Principal, SourceAccount: AccountId }, ["CertificateAuthorityArn", "Principal"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:DeletePermission");
    const sourceAccount = input.SourceAccount ?? ca.accountId;
    const kept = ca.body.permissions.filter(
      (p) => !(p.principal === input.Principal && (p.sourceAccount ?? ca.accountId) === sourceAccount),
    );
    if (kept.length === ca.body.permissions.length) {
      throw new ServiceError("ResourceNotFoundException", `${input.Principal} has no permission on ${ca.body.arn}.`);
    }
    await pca.save(ca, { ...ca.body, permissions: kept });
    return {};
  },
});
