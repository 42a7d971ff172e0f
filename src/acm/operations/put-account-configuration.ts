import type { PutAccountConfigurationRequest } from "@aws-sdk/client-acm";
import { ServiceError } from "../../errors.js";
import { int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { AcmService } from "../service.js";
import { IdempotencyToken } from "../shapes.js";

/** ACM starts expiry events at most 45 days before a certificate expires (its default, too). */
const MAX_DAYS_BEFORE_EXPIRY = 45;

export const putAccountConfiguration = defineOperation<PutAccountConfigurationRequest, Record<string, never>>({
  name: "PutAccountConfiguration",
  description: "Set the account's ACM configuration (DaysBeforeExpiry, 1–45); a token repeated within the hour changes nothing.",
  readOnly: false,
  input: struct({ ExpiryEvents: struct({ DaysBeforeExpiry: int({ min: 1 }) }), IdempotencyToken }, ["IdempotencyToken"]),
  async run(acm, call, input) {
    await acm.authorizer.require(call, { action: "acm:PutAccountConfiguration", resource: "*" });
    const days = input.ExpiryEvents?.DaysBeforeExpiry;
    if (days !== undefined && days > MAX_DAYS_BEFORE_EXPIRY)
      throw new ServiceError("ValidationException", `DaysBeforeExpiry must be from 1 to ${MAX_DAYS_BEFORE_EXPIRY}.`);
    const now = acm.clock.now();
    const { config, doc } = await acm.accountConfiguration(call.accountId, call.region);
    // The same token within the hour is the same request: done already, not done twice.
    const last = config.idempotency;
    if (last !== undefined && last.token === input.IdempotencyToken && AcmService.idempotencyFresh(last.at, now)) return {};
    await acm.putAccountConfiguration(
      call.accountId,
      call.region,
      { daysBeforeExpiry: days ?? config.daysBeforeExpiry, idempotency: { token: input.IdempotencyToken!, at: now } },
      doc,
    );
    return {};
  },
});
