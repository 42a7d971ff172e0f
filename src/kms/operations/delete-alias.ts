import type { DeleteAliasRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { checkAliasName } from "../aliases.js";
import { aliasArn } from "../arns.js";
import { defineOperation } from "../operation.js";
import { KEY_RESOURCE_TYPE } from "../service.js";
import { AliasName } from "../shapes.js";

export const deleteAlias = defineOperation<DeleteAliasRequest, Record<string, never>>({
  name: "DeleteAlias",
  description: "Delete an alias (allowed on the alias and on the key it names); the key itself is not affected.",
  readOnly: false,
  input: struct({ AliasName }, ["AliasName"]),
  async run(kms, call, input) {
    const name = checkAliasName(input.AliasName!);
    await kms.authorizeAlias(call, name);
    const notFound = () => new ServiceError("NotFoundException", `Alias ${aliasArn(call.region, call.accountId, name)} is not found.`);
    const alias = await kms.repo.getAlias(call.accountId, call.region, name);
    if (!alias) throw notFound();
    // The key it names must allow the deletion too (its key policy, or IAM through it).
    const key = await kms.repo.getKey(alias.targetKeyId);
    if (key) {
      call.trail.resources.push({ arn: kms.arnOf(key), type: KEY_RESOURCE_TYPE });
      await kms.authorize(call, key, call.action);
    }
    if (!(await kms.repo.deleteAlias(call.accountId, call.region, name))) throw notFound();
    return {};
  },
});
