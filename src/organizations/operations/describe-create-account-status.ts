import type { DescribeCreateAccountStatusRequest, DescribeCreateAccountStatusResponse } from "@aws-sdk/client-organizations";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOrganizationsOperation, type CreateAccountStatusBody } from "../service.js";
import { statusShape } from "./create-account.js";

export const describeCreateAccountStatus = defineOrganizationsOperation<
  DescribeCreateAccountStatusRequest,
  DescribeCreateAccountStatusResponse
>({
  name: "DescribeCreateAccountStatus",
  description: "The state of a CreateAccount request (keyhold completes them at once).",
  readOnly: true,
  input: struct({ CreateAccountRequestId: str({ max: 36, pattern: /^car-[a-z0-9]{8,32}$/ }) }, ["CreateAccountRequestId"]),
  async run(org, call, input) {
    await org.authorize(call);
    const doc = await org.repo.getDocument("org-create-status", org.managementAccountId, input.CreateAccountRequestId!);
    if (!doc) throw new ServiceError("CreateAccountStatusNotFoundException", `No create-account request ${input.CreateAccountRequestId}.`);
    return { CreateAccountStatus: statusShape(doc.name, JSON.parse(doc.body) as CreateAccountStatusBody) };
  },
});
