import type { DeleteResourcePolicyRequest, DeleteResourcePolicyResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const deleteResourcePolicy = defineOperation<DeleteResourcePolicyRequest, DeleteResourcePolicyResponse>({
  name: "DeleteResourcePolicy",
  description: "Remove a secret's resource policy.",
  readOnly: false,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:DeleteResourcePolicy");
    sm.requireNotDeleted(secret);
    if (secret.body.policy !== undefined) await sm.save(secret, { ...secret.body, policy: undefined });
    return { ARN: secret.body.arn, Name: secret.body.name };
  },
});
