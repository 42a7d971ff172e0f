import type { RestoreSecretRequest, RestoreSecretResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const restoreSecret = defineOperation<RestoreSecretRequest, RestoreSecretResponse>({
  name: "RestoreSecret",
  description: "Cancel a secret's scheduled deletion: it is usable again, with all its versions.",
  readOnly: false,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:RestoreSecret");
    if (secret.body.deletionDate !== undefined) {
      await sm.save(secret, { ...secret.body, deletedAt: undefined, deletionDate: undefined, lastChangedAt: sm.clock.now() });
    }
    return { ARN: secret.body.arn, Name: secret.body.name };
  },
});
