import type { GetAccountConfigurationResponse } from "@aws-sdk/client-acm";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";

export const getAccountConfiguration = defineOperation<Record<string, never>, GetAccountConfigurationResponse>({
  name: "GetAccountConfiguration",
  description: "Get the account's ACM configuration: the days before expiry that expiry events begin.",
  readOnly: true,
  input: struct({}),
  async run(acm, call) {
    await acm.authorizer.require(call, { action: "acm:GetAccountConfiguration", resource: "*" });
    const { config } = await acm.accountConfiguration(call.accountId, call.region);
    return { ExpiryEvents: { DaysBeforeExpiry: config.daysBeforeExpiry } };
  },
});
