import type { PutKeyPolicyRequest } from "@aws-sdk/client-kms";
import { bool, str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkKeyPolicy, checkLockout, checkPrincipals } from "../policy.js";
import { requirePolicyName } from "../policy-names.js";
import { KeyId } from "../shapes.js";

export const putKeyPolicy = defineOperation<PutKeyPolicyRequest, Record<string, never>>({
  name: "PutKeyPolicy",
  description: "Replace a key's key policy (only one, named default), after the lockout safety check.",
  readOnly: false,
  input: struct(
    {
      KeyId,
      PolicyName: str({ min: 1, max: 128, pattern: /^[\w]+$/ }),
      Policy: str({ min: 1, max: 131072 }),
      BypassPolicyLockoutSafetyCheck: bool(),
    },
    ["KeyId", "Policy"],
  ),
  async run(kms, call, input) {
    requirePolicyName(input.PolicyName);
    const policy = checkKeyPolicy(input.Policy!);
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any" });
    await checkPrincipals(kms, policy);
    await checkLockout(kms, call, policy, key, input.BypassPolicyLockoutSafetyCheck);
    await kms.repo.updateKey(key.keyId, { policy: input.Policy! });
    return {};
  },
});
