import type { ListRetirableGrantsRequest, ListGrantsResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { principalAccount } from "../../iam/principal-check.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { Limit, Marker } from "../shapes.js";
import { GrantPrincipal } from "./create-grant.js";
import { grantEntry } from "./list-grants.js";

export const listRetirableGrants = defineOperation<ListRetirableGrantsRequest, ListGrantsResponse>({
  name: "ListRetirableGrants",
  description: "List the grants (of any key) that name a principal of the caller's account as their retiring principal.",
  readOnly: true,
  input: struct({ Limit, Marker, RetiringPrincipal: GrantPrincipal }, ["RetiringPrincipal"]),
  async run(kms, call, input) {
    // KMS authorizes the retiring principal named, which must be of the caller's account: no
    // listing another account's grants (their keys, grantees and constraints).
    const principal = input.RetiringPrincipal!;
    const owner = principalAccount(principal);
    if (owner === undefined) throw new ServiceError("InvalidArnException", `RetiringPrincipal ${principal} is not an AWS principal's ARN.`);
    await kms.authorizeAccount(call, { resource: principal, resourceAccount: owner });
    const page = await kms.grants.retirable(input.RetiringPrincipal!, decodeMarker("ListRetirableGrants", input.Marker), input.Limit ?? 50);
    return {
      Grants: page.grants.map(grantEntry),
      NextMarker: encodeMarker("ListRetirableGrants", page.next),
      Truncated: page.next !== undefined,
    };
  },
});
