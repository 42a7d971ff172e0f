import type { CancelKeyDeletionRequest, CancelKeyDeletionResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export const cancelKeyDeletion = defineOperation<CancelKeyDeletionRequest, CancelKeyDeletionResponse>({
  name: "CancelKeyDeletion",
  description: "Cancel a scheduled deletion; the key returns Disabled, as in AWS.",
  readOnly: false,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "cancelDeletion" });
    const updated = await kms.repo.updateKey(
      key.keyId,
      { keyState: "Disabled", deletionDate: undefined, pendingWindowInDays: undefined },
      "PendingDeletion",
    );
    if (!updated) throw new ServiceError("ConflictException", "The key changed state during the request; try again.");
    return { KeyId: kms.arnOf(key) };
  },
});
