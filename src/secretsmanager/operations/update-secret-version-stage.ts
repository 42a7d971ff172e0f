import type { UpdateSecretVersionStageRequest, UpdateSecretVersionStageResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CURRENT } from "../service.js";
import { SecretId, VersionId, VersionStage } from "../shapes.js";

export const updateSecretVersionStage = defineOperation<UpdateSecretVersionStageRequest, UpdateSecretVersionStageResponse>({
  name: "UpdateSecretVersionStage",
  description: "Move a staging label to a version (from the one that holds it), or remove it; moving AWSCURRENT leaves AWSPREVIOUS behind.",
  readOnly: false,
  input: struct({ SecretId, VersionStage, RemoveFromVersionId: VersionId, MoveToVersionId: VersionId }, ["SecretId", "VersionStage"]),
  async run(sm, call, input) {
    const stage = input.VersionStage!;
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:UpdateSecretVersionStage", {
      keys: { "secretsmanager:versionstage": stage },
    });
    sm.requireNotDeleted(secret);
    const body = structuredClone(secret.body);
    const holder = body.versions.find((v) => v.stages.includes(stage));
    if (input.RemoveFromVersionId !== undefined && holder?.id !== input.RemoveFromVersionId) {
      throw new ServiceError(
        "InvalidParameterException",
        `The staging label ${stage} is not attached to version ${input.RemoveFromVersionId}.`,
      );
    }
    if (input.MoveToVersionId !== undefined) {
      const target = body.versions.find((v) => v.id === input.MoveToVersionId);
      if (!target) {
        throw new ServiceError("InvalidParameterException", `The secret has no version ${input.MoveToVersionId}.`);
      }
      // A label attached elsewhere moves only when the caller names where it comes from.
      if (holder && holder !== target && input.RemoveFromVersionId === undefined) {
        throw new ServiceError(
          "InvalidParameterException",
          `The staging label ${stage} is currently attached to version ${holder.id}. You must include RemoveFromVersionId with that version's id to move it.`,
        );
      }
      sm.moveStages(body, target, [stage]);
    } else {
      if (input.RemoveFromVersionId === undefined) {
        throw new ServiceError("InvalidParameterException", "Specify MoveToVersionId, RemoveFromVersionId or both.");
      }
      if (stage === CURRENT) {
        throw new ServiceError(
          "InvalidParameterException",
          "You can't remove the staging label AWSCURRENT from a version; move it to another version instead.",
        );
      }
      holder!.stages = holder!.stages.filter((s) => s !== stage);
    }
    body.lastChangedAt = sm.clock.now();
    await sm.save(secret, body);
    return { ARN: body.arn, Name: body.name };
  },
});
