import type { ListAliasesRequest, ListAliasesResponse } from "@aws-sdk/client-kms";
import { int, struct } from "../../validation/schema.js";
import { aliasArn } from "../arns.js";
import { defineOperation } from "../operation.js";
import { decodeMarker, encodeMarker } from "../paging.js";
import { KeyId, Marker } from "../shapes.js";

export const listAliases = defineOperation<ListAliasesRequest, ListAliasesResponse>({
  name: "ListAliases",
  description: "List the aliases of the account and region, or of one key.",
  readOnly: true,
  input: struct({ KeyId, Limit: int({ min: 1, max: 100 }), Marker }),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    const key = input.KeyId === undefined ? undefined : await kms.resolveKey(call, input.KeyId, { aliases: false, state: "any" });
    const page = await kms.repo.listAliases(
      call.accountId,
      call.region,
      key?.keyId,
      decodeMarker("ListAliases", input.Marker),
      input.Limit ?? 50,
    );
    return {
      Aliases: page.items.map((a) => ({
        AliasName: a.aliasName,
        AliasArn: aliasArn(a.region, a.accountId, a.aliasName),
        TargetKeyId: a.targetKeyId,
        CreationDate: new Date(a.creationDate),
        LastUpdatedDate: new Date(a.lastUpdatedDate),
      })),
      NextMarker: encodeMarker("ListAliases", page.next),
      Truncated: page.next !== undefined,
    };
  },
});
