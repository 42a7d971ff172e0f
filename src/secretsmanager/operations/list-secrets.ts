import type { ListSecretsRequest, ListSecretsResponse } from "@aws-sdk/client-secrets-manager";
import { bool, enumOf, int, struct } from "../../validation/schema.js";
import { secretMetadata } from "../describe.js";
import { matchesFilters } from "../filters.js";
import { defineOperation } from "../operation.js";
import { page } from "../paging.js";
import type { SecretBody } from "../service.js";
import { Filters, NextToken } from "../shapes.js";

export const listSecrets = defineOperation<ListSecretsRequest, ListSecretsResponse>({
  name: "ListSecrets",
  description: "List the secrets of the account and region, filtered and sorted; those scheduled for deletion only on request.",
  readOnly: true,
  input: struct({
    IncludePlannedDeletion: bool(),
    MaxResults: int({ min: 1, max: 100 }),
    NextToken,
    Filters,
    SortOrder: enumOf(["asc", "desc"]),
    SortBy: enumOf(["created-date", "last-accessed-date", "last-changed-date", "name"]),
  }),
  async run(sm, call, input) {
    await sm.authorizer.require(call, { action: "secretsmanager:ListSecrets", resource: "*" });
    const secrets = (await sm.list(call.accountId, call.region))
      .filter((s) => input.IncludePlannedDeletion === true || s.deletionDate === undefined)
      .filter((s) => matchesFilters(s, input.Filters ?? []));
    sortSecrets(secrets, input.SortBy ?? "created-date", input.SortOrder ?? "desc");
    const { items, next } = page(secrets, input.NextToken, input.MaxResults ?? 100);
    return {
      SecretList: items.map((s) => ({ ...secretMetadata(s), SecretVersionsToStages: sm.versionIdsToStages(s) })),
      NextToken: next,
    };
  },
});

/** Sorted by the named attribute; the name breaks ties, so pages are stable. */
export function sortSecrets(secrets: SecretBody[], by: string, order: string): void {
  const key = (s: SecretBody): number | string =>
    by === "name"
      ? s.name
      : by === "last-accessed-date"
        ? (s.lastAccessedAt ?? 0)
        : by === "last-changed-date"
          ? s.lastChangedAt
          : s.createdAt;
  const sign = order === "asc" ? 1 : -1;
  secrets.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return (ka < kb ? -1 : 1) * sign;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}
