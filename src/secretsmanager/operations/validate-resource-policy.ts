import type { ValidateResourcePolicyRequest, ValidateResourcePolicyResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkResourcePolicy, publicStatement } from "../policy.js";
import { ResourcePolicy, SecretId } from "../shapes.js";

export const validateResourcePolicy = defineOperation<ValidateResourcePolicyRequest, ValidateResourcePolicyResponse>({
  name: "ValidateResourcePolicy",
  description: "Check a resource policy's syntax (MalformedPolicyDocumentException) and whether it grants public access.",
  readOnly: true,
  input: struct({ SecretId, ResourcePolicy }, ["ResourcePolicy"]),
  async run(sm, call, input) {
    if (input.SecretId !== undefined) await sm.require(call, input.SecretId, "secretsmanager:ValidateResourcePolicy");
    else await sm.authorizer.require(call, { action: "secretsmanager:ValidateResourcePolicy", resource: "*" });
    const text = input.ResourcePolicy!;
    checkResourcePolicy(text);
    if (publicStatement(text)) {
      return {
        PolicyValidationPassed: false,
        ValidationErrors: [
          { CheckName: "BLOCK_PUBLIC_POLICY", ErrorMessage: "This resource policy contains a statement that grants public access." },
        ],
      };
    }
    return { PolicyValidationPassed: true, ValidationErrors: [] };
  },
});
