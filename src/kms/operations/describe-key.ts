import type { DescribeKeyRequest, DescribeKeyResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { GrantTokens, KeyId } from "../shapes.js";

export const describeKey = defineOperation<DescribeKeyRequest, DescribeKeyResponse>({
  name: "DescribeKey",
  description: "Show a key's metadata: ARN, state, spec, usage, dates.",
  readOnly: true,
  input: struct({ KeyId, GrantTokens }, ["KeyId"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "any", crossAccount: true });
    return { KeyMetadata: await kms.describe(key) };
  },
});
