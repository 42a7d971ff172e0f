import type { GetCallerIdentityRequest, GetCallerIdentityResponse } from "@aws-sdk/client-sts";
import { struct } from "../../validation/schema.js";
import { defineStsOperation } from "../service.js";

export const getCallerIdentity = defineStsOperation<GetCallerIdentityRequest, GetCallerIdentityResponse>({
  name: "GetCallerIdentity",
  description: "Who the signing credentials belong to: account, user id and ARN. Needs no permission.",
  readOnly: true,
  input: struct({}),
  async run(_sts, call) {
    return { UserId: call.principal.principalId, Account: call.principal.accountId, Arn: call.principal.arn };
  },
});
