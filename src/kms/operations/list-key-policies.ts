import type { ListKeyPoliciesRequest, ListKeyPoliciesResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { decodeMarker } from "../paging.js";
import { POLICY_NAME } from "../policy-names.js";
import { KeyId, Limit, Marker } from "../shapes.js";

export const listKeyPolicies = defineOperation<ListKeyPoliciesRequest, ListKeyPoliciesResponse>({
  name: "ListKeyPolicies",
  description: "List a key's policy names (always 'default').",
  readOnly: true,
  input: struct({ KeyId, Limit, Marker }, ["KeyId"]),
  async run(kms, call, input) {
    decodeMarker("ListKeyPolicies", input.Marker);
    await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any" });
    return { PolicyNames: input.Marker === undefined ? [POLICY_NAME] : [], Truncated: false };
  },
});
