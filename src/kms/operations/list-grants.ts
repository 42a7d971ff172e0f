import type { GrantListEntry, ListGrantsRequest, ListGrantsResponse } from "@aws-sdk/client-kms";
import { str, struct } from "../../validation/schema.js";
import type { GrantBody } from "../grants.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { KeyId, Limit, Marker } from "../shapes.js";
import { GrantPrincipal } from "./create-grant.js";

export function grantEntry(g: GrantBody): GrantListEntry {
  return {
    KeyId: g.keyArn,
    GrantId: g.grantId,
    Name: g.name,
    CreationDate: new Date(g.creationDate),
    GranteePrincipal: g.granteePrincipal,
    RetiringPrincipal: g.retiringPrincipal,
    IssuingAccount: g.issuingAccount,
    Operations: g.operations as GrantListEntry["Operations"],
    Constraints: g.constraints,
  };
}

export const listGrants = defineOperation<ListGrantsRequest, ListGrantsResponse>({
  name: "ListGrants",
  description: "List a key's grants, optionally only one grant id or one grantee.",
  readOnly: true,
  input: struct({ Limit, Marker, KeyId, GrantId: str({ min: 1, max: 128 }), GranteePrincipal: GrantPrincipal }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: false, state: "any", crossAccount: true });
    const page = await kms.grants.page(key, decodeMarker("ListGrants", input.Marker), input.Limit ?? 50);
    const grants = page.grants.filter(
      (g) =>
        (input.GrantId === undefined || g.grantId === input.GrantId) &&
        (input.GranteePrincipal === undefined || g.granteePrincipal === input.GranteePrincipal),
    );
    return { Grants: grants.map(grantEntry), NextMarker: encodeMarker("ListGrants", page.next), Truncated: page.next !== undefined };
  },
});
