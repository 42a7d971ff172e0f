import type { BatchGetSecretValueRequest, BatchGetSecretValueResponse, SecretValueEntry } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { int, list, str, struct } from "../../validation/schema.js";
import { matchesFilters } from "../filters.js";
import { defineOperation } from "../operation.js";
import { page } from "../paging.js";
import { Filters, NextToken } from "../shapes.js";
import { readValue } from "./get-secret-value.js";
import { sortSecrets } from "./list-secrets.js";

export const batchGetSecretValue = defineOperation<BatchGetSecretValueRequest, BatchGetSecretValueResponse>({
  name: "BatchGetSecretValue",
  description: "Read the AWSCURRENT values of up to 20 secrets, named or found by filters; each refusal is reported beside the values.",
  readOnly: true,
  input: struct({
    SecretIdList: list(str({ min: 1, max: 2048 }), { min: 1, max: 20 }),
    Filters,
    MaxResults: int({ min: 1, max: 20 }),
    NextToken,
  }),
  async run(sm, call, input) {
    if ((input.SecretIdList === undefined) === (input.Filters === undefined)) {
      throw new ServiceError("InvalidParameterException", "Specify either SecretIdList or Filters, not both and not neither.");
    }
    await sm.authorizer.require(call, { action: "secretsmanager:BatchGetSecretValue", resource: "*" });
    let ids: string[];
    let next: string | undefined;
    if (input.SecretIdList !== undefined) {
      if (input.MaxResults !== undefined || input.NextToken !== undefined) {
        throw new ServiceError("InvalidParameterException", "MaxResults and NextToken apply only with Filters.");
      }
      ids = input.SecretIdList;
    } else {
      const secrets = (await sm.list(call.accountId, call.region))
        .filter((s) => s.deletionDate === undefined)
        .filter((s) => matchesFilters(s, input.Filters ?? []));
      sortSecrets(secrets, "created-date", "desc");
      const p = page(secrets, input.NextToken, input.MaxResults ?? 20);
      ids = p.items.map((s) => s.arn);
      next = p.next;
    }
    // Each secret is a GetSecretValue of its own: its authorization, its KMS decryption.
    const values: SecretValueEntry[] = [];
    const errors: { SecretId: string; ErrorCode: string; Message: string }[] = [];
    for (const id of ids) {
      try {
        values.push(await readValue(sm, call, id, undefined, undefined));
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        errors.push({ SecretId: id, ErrorCode: error.code, Message: error.message });
      }
    }
    return { SecretValues: values, Errors: errors.length > 0 ? errors : undefined, NextToken: next };
  },
});
