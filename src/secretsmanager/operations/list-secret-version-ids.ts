import type { ListSecretVersionIdsRequest, ListSecretVersionIdsResponse } from "@aws-sdk/client-secrets-manager";
import { bool, int, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { page } from "../paging.js";
import { NextToken, SecretId } from "../shapes.js";

export const listSecretVersionIds = defineOperation<ListSecretVersionIdsRequest, ListSecretVersionIdsResponse>({
  name: "ListSecretVersionIds",
  description: "List a secret's versions and their staging labels; deprecated versions (no label) only with IncludeDeprecated.",
  readOnly: true,
  input: struct({ SecretId, MaxResults: int({ min: 1, max: 100 }), NextToken, IncludeDeprecated: bool() }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:ListSecretVersionIds");
    const versions = secret.body.versions
      .filter((v) => input.IncludeDeprecated === true || v.stages.length > 0)
      .sort((a, b) => b.createdAt - a.createdAt);
    const { items, next } = page(versions, input.NextToken, input.MaxResults ?? 100);
    return {
      ARN: secret.body.arn,
      Name: secret.body.name,
      Versions: items.map((v) => ({
        VersionId: v.id,
        VersionStages: v.stages.length > 0 ? [...v.stages] : undefined,
        LastAccessedDate: v.lastAccessedAt === undefined ? undefined : new Date(v.lastAccessedAt),
        CreatedDate: new Date(v.createdAt),
        KmsKeyIds: [v.kmsKeyArn],
      })),
      NextToken: next,
    };
  },
});
