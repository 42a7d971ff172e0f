import type { ListRetirableGrantsRequest, ListGrantsResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { Limit, Marker } from "../shapes.js";
import { GrantPrincipal } from "./create-grant.js";
import { grantEntry } from "./list-grants.js";

export const listRetirableGrants = defineOperation<ListRetirableGrantsRequest, ListGrantsResponse>({
  name: "ListRetirableGrants",
  description: "List the grants (of any key) that name a principal as their retiring principal.",
  readOnly: true,
  input: struct({ Limit, Marker, RetiringPrincipal: GrantPrincipal }, ["RetiringPrincipal"]),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const page = await kms.grants.retirable(input.RetiringPrincipal!, decodeMarker("ListRetirableGrants", input.Marker), input.Limit ?? 50);
    return {
      Grants: page.grants.map(grantEntry),
      NextMarker: encodeMarker("ListRetirableGrants", page.next),
      Truncated: page.next !== undefined,
    };
  },
});
