import type { UpdateAliasRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { checkAliasName } from "../aliases.js";
import { aliasArn } from "../arns.js";
import { defineOperation } from "../operation.js";
import { AliasName, KeyId } from "../shapes.js";

export const updateAlias = defineOperation<UpdateAliasRequest, Record<string, never>>({
  name: "UpdateAlias",
  description: "Point an existing alias at another key of the same spec and usage (allowed on the alias, the current key and the new one).",
  readOnly: false,
  input: struct({ AliasName, TargetKeyId: KeyId }, ["AliasName", "TargetKeyId"]),
  async run(kms, call, input) {
    const name = checkAliasName(input.AliasName!);
    await kms.authorizeAlias(call, name);
    const alias = await kms.repo.getAlias(call.accountId, call.region, name);
    if (!alias) throw new ServiceError("NotFoundException", `Alias ${aliasArn(call.region, call.accountId, name)} is not found.`);
    const target = await kms.resolveKey(call, input.TargetKeyId!, { aliases: false, state: "manage" });
    // The key the alias leaves is affected too: its key policy must allow the move as well.
    const current = await kms.repo.getKey(alias.targetKeyId);
    if (current) await kms.authorize(call, current, call.action);
    if (current && (current.keySpec !== target.keySpec || current.keyUsage !== target.keyUsage)) {
      throw new ServiceError(
        "ValidationException",
        `An alias can only move to a key of the same KeySpec and KeyUsage (${current.keySpec}/${current.keyUsage}).`,
      );
    }
    if (!(await kms.repo.updateAlias(call.accountId, call.region, name, target.keyId, kms.clock.now()))) {
      throw new ServiceError("NotFoundException", `Alias ${aliasArn(call.region, call.accountId, name)} is not found.`);
    }
    return {};
  },
});
