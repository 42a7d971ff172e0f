import type { DeletePolicyRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const deletePolicy = defineOperation<DeletePolicyRequest, Record<string, never>>({
  name: "DeletePolicy",
  description: "Remove a CA's resource policy.",
  readOnly: false,
  input: struct({ ResourceArn: Arn }, ["ResourceArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.ResourceArn!, "acm-pca:DeletePolicy");
    if (ca.body.policy === undefined)
      throw new ServiceError("ResourceNotFoundException", `The certificate authority ${ca.body.arn} has no resource policy.`);
    const { policy: _policy, ...rest } = ca.body;
    await pca.save(ca, rest);
    return {};
  },
});
