import type { CreateAliasRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { checkAliasName } from "../aliases.js";
import { aliasArn } from "../arns.js";
import { defineOperation } from "../operation.js";
import { AliasName, KeyId } from "../shapes.js";

export const createAlias = defineOperation<CreateAliasRequest, Record<string, never>>({
  name: "CreateAlias",
  description: "Give a key a friendly name (alias/...), usable wherever a key is named for cryptography.",
  readOnly: false,
  input: struct({ AliasName, TargetKeyId: KeyId }, ["AliasName", "TargetKeyId"]),
  async run(kms, call, input) {
    const name = checkAliasName(input.AliasName!);
    await kms.authorizeAlias(call, name);
    const key = await kms.resolveKey(call, input.TargetKeyId!, { aliases: false, state: "manage" });
    const now = kms.clock.now();
    const created = await kms.repo.createAlias({
      accountId: call.accountId,
      region: call.region,
      aliasName: name,
      targetKeyId: key.keyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    if (!created)
      throw new ServiceError(
        "AlreadyExistsException",
        `An alias with the name ${aliasArn(call.region, call.accountId, name)} already exists`,
      );
    return {};
  },
});
