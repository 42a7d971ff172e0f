import type { GenerateMacRequest, GenerateMacResponse } from "@aws-sdk/client-kms";
import { mac } from "../../crypto/asymmetric.js";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantTokens, KeyId, MacAlgorithm, Message } from "../shapes.js";

export const generateMac = defineOperation<GenerateMacRequest, GenerateMacResponse>({
  name: "GenerateMac",
  description: "Compute an HMAC of a message (up to 4096 bytes) with an HMAC key.",
  readOnly: true,
  input: struct({ Message, KeyId, MacAlgorithm, GrantTokens, DryRun }, ["Message", "KeyId", "MacAlgorithm"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
    kms.requireAlgorithm(key, "GENERATE_VERIFY_MAC", input.MacAlgorithm!, "MAC algorithm", "GenerateMac");
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    return {
      Mac: mac(input.MacAlgorithm!, await kms.singleKey(key), input.Message as Buffer),
      MacAlgorithm: input.MacAlgorithm,
      KeyId: kms.arnOf(key),
    };
  },
});
