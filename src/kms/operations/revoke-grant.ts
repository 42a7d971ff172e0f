import type { RevokeGrantRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, KeyId } from "../shapes.js";

export const revokeGrant = defineOperation<RevokeGrantRequest, Record<string, never>>({
  name: "RevokeGrant",
  description: "Delete a grant of a key at once (needs kms:RevokeGrant on the key).",
  readOnly: false,
  input: struct({ KeyId, GrantId: str({ min: 1, max: 128 }), DryRun }, ["KeyId", "GrantId"]),
  async run(kms, call, input) {
    if (!/^[0-9a-f]{64}$/.test(input.GrantId!))
      throw new ServiceError("InvalidGrantIdException", `Grant id ${input.GrantId} is not valid.`);
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any", crossAccount: true });
    if (!(await kms.grants.get(key, input.GrantId!))) throw new ServiceError("NotFoundException", `Grant ${input.GrantId} does not exist.`);
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    await kms.grants.delete(key, input.GrantId!);
    return {};
  },
});
