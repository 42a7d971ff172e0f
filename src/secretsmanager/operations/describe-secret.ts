import type { DescribeSecretRequest, DescribeSecretResponse } from "@aws-sdk/client-secrets-manager";
import { struct } from "../../validation/schema.js";
import { secretMetadata } from "../describe.js";
import { defineOperation } from "../operation.js";
import { SecretId } from "../shapes.js";

export const describeSecret = defineOperation<DescribeSecretRequest, DescribeSecretResponse>({
  name: "DescribeSecret",
  description: "Describe a secret: its key, tags, dates and versions with their staging labels (never its value).",
  readOnly: true,
  input: struct({ SecretId }, ["SecretId"]),
  async run(sm, call, input) {
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:DescribeSecret");
    return { ...secretMetadata(secret.body), VersionIdsToStages: sm.versionIdsToStages(secret.body) };
  },
});
