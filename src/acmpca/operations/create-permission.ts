import type { CreatePermissionRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { AccountId, Actions, Arn, Principal } from "../shapes.js";

/** The only principal AWS accepts: ACM, which renews the private certificates it manages with these permissions. */
export const ACM_PRINCIPAL = "acm.amazonaws.com";

export const createPermission = defineOperation<CreatePermissionRequest, Record<string, never>>({
  name: "CreatePermission",
  description: "Let ACM (acm.amazonaws.com) issue, get and list permissions on the CA, for the renewal of certificates it manages.",
  readOnly: false,
  input: struct({ CertificateAuthorityArn: Arn, Principal, SourceAccount: AccountId, Actions }, [
    "CertificateAuthorityArn",
    "Principal",
    "Actions",
  ]),
  async run(pca, call, input) {
    if (input.Principal !== ACM_PRINCIPAL)
      throw new ServiceError("ValidationException", `The only principal a permission can be given to is ${ACM_PRINCIPAL}.`);
    const ca = await pca.require(call, input.CertificateAuthorityArn!, "acm-pca:CreatePermission");
    pca.requireStatus(ca.body, ["CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED", "FAILED"], "CreatePermission");
    const sourceAccount = input.SourceAccount ?? ca.accountId;
    if (ca.body.permissions.some((p) => p.principal === input.Principal && (p.sourceAccount ?? ca.accountId) === sourceAccount)) {
      throw new ServiceError("PermissionAlreadyExistsException", `${input.Principal} already has a permission on ${ca.body.arn}.`);
    }
    const permission = {
      principal: input.Principal!,
      sourceAccount,
      actions: [...new Set(input.Actions!)],
      createdAt: pca.clock.now(),
      policy: "",
    };
    await pca.save(ca, { ...ca.body, permissions: [...ca.body.permissions, permission] });
    return {};
  },
});
