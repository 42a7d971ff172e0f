import type { CancelRotateSecretRequest, CancelRotateSecretResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const cancelRotateSecret = defineOperation<CancelRotateSecretRequest, CancelRotateSecretResponse>({
  name: "CancelRotateSecret",
  description:
    "Turn off automatic rotation and abandon a rotation in progress (its version keeps AWSPENDING until you remove it, as in AWS).",
  readOnly: false,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:CancelRotateSecret");
    sm.requireNotDeleted(secret);
    const body = structuredClone(secret.body);
    const versionId = body.rotation?.pending?.token;
    if (body.rotation) body.rotation = { ...body.rotation, enabled: false, nextRotationAt: undefined, pending: undefined };
    body.lastChangedAt = sm.clock.now();
    await sm.save(secret, body);
    return { ARN: body.arn, Name: body.name, VersionId: versionId };
  },
});
