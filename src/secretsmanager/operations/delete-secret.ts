import type { DeleteSecretRequest, DeleteSecretResponse } from "@aws-sdk/client-secrets-manager";
import { DAY_MS } from "../../clock.js";
import { ServiceError } from "../../errors.js";
import { bool, int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

/** The model's RecoveryWindowInDays is an unbounded long; the service takes 7–30 (default 30). */
export const MIN_RECOVERY_DAYS = 7;
export const MAX_RECOVERY_DAYS = 30;

export const deleteSecret = defineOperation<DeleteSecretRequest, DeleteSecretResponse>({
  name: "DeleteSecret",
  description: "Schedule a secret's deletion 7–30 days out (it is unusable, and restorable, until then), or delete it at once.",
  readOnly: false,
  input: struct({ SecretId, RecoveryWindowInDays: int(), ForceDeleteWithoutRecovery: bool() }, ["SecretId"]),
  async run(sm, call, input) {
    const force = input.ForceDeleteWithoutRecovery === true;
    if (force && input.RecoveryWindowInDays !== undefined) {
      throw new ServiceError(
        "InvalidParameterException",
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    const days = input.RecoveryWindowInDays ?? MAX_RECOVERY_DAYS;
    if (!force && (days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS)) {
      throw new ServiceError(
        "InvalidParameterException",
        `The RecoveryWindowInDays value must be between ${MIN_RECOVERY_DAYS} and ${MAX_RECOVERY_DAYS} days (inclusive).`,
      );
    }
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:DeleteSecret");
    if (secret.body.replicas?.length) {
      throw new ServiceError(
        "InvalidRequestException",
        "You can't delete secret that has replicas. Remove the replicas first with RemoveRegionsFromReplication.",
      );
    }
    const now = sm.clock.now();
    if (force) {
      // The secret and every version's encrypted data key are gone; the name is free again.
      if (!(await sm.purge(secret))) {
        throw new ServiceError("InvalidRequestException", "The secret was changed by another request at the same time; try again.");
      }
      return { ARN: secret.body.arn, Name: secret.body.name, DeletionDate: new Date(now) };
    }
    if (secret.body.deletionDate !== undefined) {
      throw new ServiceError(
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was already scheduled for deletion.",
      );
    }
    const deletionDate = now + days * DAY_MS;
    await sm.save(secret, { ...secret.body, deletedAt: now, deletionDate });
    return { ARN: secret.body.arn, Name: secret.body.name, DeletionDate: new Date(deletionDate) };
  },
});
