import type { GetPolicyRequest, GetPolicyResponse } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn } from "../shapes.js";

export const getPolicy = defineOperation<GetPolicyRequest, GetPolicyResponse>({
  name: "GetPolicy",
  description: "Get a CA's resource policy.",
  readOnly: true,
  input: struct({ ResourceArn: Arn }, ["ResourceArn"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.ResourceArn!, "acm-pca:GetPolicy");
    if (ca.body.policy === undefined)
      throw new ServiceError("ResourceNotFoundException", `The certificate authority ${ca.body.arn} has no resource policy.`);
    return { Policy: ca.body.policy };
  },
});
