import type { GetKeyPolicyRequest, GetKeyPolicyResponse } from "@aws-sdk/client-kms";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { POLICY_NAME, requirePolicyName } from "../policy-names.js";
import { KeyId } from "../shapes.js";

export const getKeyPolicy = defineOperation<GetKeyPolicyRequest, GetKeyPolicyResponse>({
  name: "GetKeyPolicy",
  description: "Return a key's key policy, as stored; every call on the key is authorized by it.",
  readOnly: true,
  input: struct({ KeyId, PolicyName: str({ min: 1, max: 128, pattern: /^[\w]+$/ }) }, ["KeyId"]),
  async run(kms, call, input) {
    requirePolicyName(input.PolicyName);
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any" });
    return { Policy: key.policy, PolicyName: POLICY_NAME };
  },
});
