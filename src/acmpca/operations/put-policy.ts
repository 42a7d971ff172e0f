import type { PutPolicyRequest } from "@aws-sdk/client-acm-pca";
import { ServiceError } from "../../errors.js";
import { compilePolicy } from "../../iam/policy.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { Arn, AWSPolicy } from "../shapes.js";

export const putPolicy = defineOperation<PutPolicyRequest, Record<string, never>>({
  name: "PutPolicy",
  description: "Attach a resource policy to a CA: other accounts' principals it names may issue and read certificates.",
  readOnly: false,
  input: struct({ ResourceArn: Arn, Policy: AWSPolicy }, ["ResourceArn", "Policy"]),
  async run(pca, call, input) {
    const ca = await pca.require(call, input.ResourceArn!, "acm-pca:PutPolicy");
    pca.requireStatus(ca.body, ["CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DISABLED", "EXPIRED", "FAILED"], "PutPolicy");
    try {
      compilePolicy(input.Policy!, "resource");
    } catch (error) {
      throw new ServiceError("InvalidPolicyException", `The resource policy is not valid: ${(error as Error).message}`);
    }
    await pca.save(ca, { ...ca.body, policy: input.Policy });
    return {};
  },
});
