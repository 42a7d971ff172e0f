import type { DeleteAliasRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { checkAliasName } from "../aliases.js";
import { aliasArn } from "../arns.js";
import { defineOperation } from "../operation.js";
import { AliasName } from "../shapes.js";

export const deleteAlias = defineOperation<DeleteAliasRequest, Record<string, never>>({
  name: "DeleteAlias",
  description: "Delete an alias; the key it named is not affected.",
  readOnly: false,
  input: struct({ AliasName }, ["AliasName"]),
  async run(kms, call, input) {
    const name = checkAliasName(input.AliasName!);
    if (!(await kms.repo.deleteAlias(call.accountId, call.region, name))) {
      throw new ServiceError("NotFoundException", `Alias ${aliasArn(call.region, call.accountId, name)} is not found.`);
    }
    return {};
  },
});
