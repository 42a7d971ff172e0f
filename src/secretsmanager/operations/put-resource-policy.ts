import type { PutResourcePolicyRequest, PutResourcePolicyResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { bool, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { checkPrincipals, checkResourcePolicy, publicStatement } from "../policy.js";
import { ResourcePolicy, SecretId } from "../shapes.js";

export const putResourcePolicy = defineOperation<PutResourcePolicyRequest, PutResourcePolicyResponse>({
  name: "PutResourcePolicy",
  description: "Attach a resource policy to a secret (refused when BlockPublicPolicy is set and the policy lets anyone in).",
  readOnly: false,
  input: struct({ SecretId, ResourcePolicy, BlockPublicPolicy: bool() }, ["SecretId", "ResourcePolicy"]),
  async run(sm, call, input) {
    const block = input.BlockPublicPolicy === true;
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:PutResourcePolicy", {
      keys: { "secretsmanager:blockpublicpolicy": String(block) },
    });
    sm.requireNotDeleted(secret);
    const text = input.ResourcePolicy!;
    await checkPrincipals(checkResourcePolicy(text), sm.repo);
    if (block && publicStatement(text)) {
      throw new ServiceError("PublicPolicyException", "This resource policy contains a statement that grants public access.");
    }
    await sm.save(secret, { ...secret.body, policy: text });
    return { ARN: secret.body.arn, Name: secret.body.name };
  },
});
