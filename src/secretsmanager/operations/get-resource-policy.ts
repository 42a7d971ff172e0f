import type { GetResourcePolicyRequest, GetResourcePolicyResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const getResourcePolicy = defineOperation<GetResourcePolicyRequest, GetResourcePolicyResponse>({
  name: "GetResourcePolicy",
  description: "Read a secret's resource policy (absent when it has none).",
  readOnly: true,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:GetResourcePolicy");
    return { ARN: secret.body.arn, Name: secret.body.name, ResourcePolicy: secret.body.policy };
  },
});
