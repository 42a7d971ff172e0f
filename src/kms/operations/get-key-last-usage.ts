import type { GetKeyLastUsageRequest, GetKeyLastUsageResponse, KeyLastUsageTrackingOperation } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { KeyId } from "../shapes.js";

export const getKeyLastUsage = defineOperation<GetKeyLastUsageRequest, GetKeyLastUsageResponse>({
  name: "GetKeyLastUsage",
  description: "Tell when a key was last used for a successful cryptographic operation, from the audit trail.",
  readOnly: true,
  input: struct({ KeyId }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any" });
    if (!kms.usage) throw new ServiceError("UnsupportedOperationException", "The audit trail is not available in this server.");
    const last = await kms.usage.lastUse(kms.arnOf(key));
    const tracking = Math.max((await kms.usage.trackingStart()) ?? key.creationDate, key.creationDate);
    return {
      KeyId: key.keyId,
      KeyLastUsage: last
        ? {
            Operation: last.eventName as KeyLastUsageTrackingOperation,
            Timestamp: new Date(last.eventTime),
            CloudTrailEventId: last.eventId,
            KmsRequestId: last.requestId,
          }
        : {},
      TrackingStartDate: new Date(tracking),
      KeyCreationDate: new Date(key.creationDate),
    };
  },
});
