import type { ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse } from "@aws-sdk/client-kms";
import { DAY_MS } from "../../clock.js";
import { ServiceError } from "../../errors.js";
import { int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

/** The model allows 1–365 days; the service enforces 7–30 (default 30). */
export const MIN_PENDING_WINDOW_DAYS = 7;
export const MAX_PENDING_WINDOW_DAYS = 30;

export const scheduleKeyDeletion = defineOperation<ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse>({
  name: "ScheduleKeyDeletion",
  description: "Schedule a key's deletion 7–30 days out; until then it is unusable and the deletion can be cancelled.",
  readOnly: false,
  input: struct({ KeyId, PendingWindowInDays: int({ min: 1, max: 365 }) }, ["KeyId"]),
  async run(kms, call, input) {
    const days = input.PendingWindowInDays ?? MAX_PENDING_WINDOW_DAYS;
    if (days < MIN_PENDING_WINDOW_DAYS || days > MAX_PENDING_WINDOW_DAYS) {
      throw new ServiceError(
        "ValidationException",
        `PendingWindowInDays must be between ${MIN_PENDING_WINDOW_DAYS} and ${MAX_PENDING_WINDOW_DAYS}; got ${days}.`,
      );
    }
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "manage" });
    const deletionDate = kms.clock.now() + days * DAY_MS;
    const updated = await kms.repo.updateKey(
      key.keyId,
      { keyState: "PendingDeletion", deletionDate, pendingWindowInDays: days },
      key.keyState,
    );
    if (!updated) throw new ServiceError("ConflictException", "The key changed state during the request; try again.");
    return { KeyId: kms.arnOf(key), DeletionDate: new Date(deletionDate), KeyState: "PendingDeletion", PendingWindowInDays: days };
  },
});
