import type { VerifyMacRequest, VerifyMacResponse } from "@aws-sdk/client-kms";
import { mac, macEquals } from "../../crypto/asymmetric.js";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantTokens, KeyId, MacAlgorithm, MacBlob, Message } from "../shapes.js";

export const verifyMac = defineOperation<VerifyMacRequest, VerifyMacResponse>({
  name: "VerifyMac",
  description: "Check an HMAC against a message with an HMAC key (constant-time comparison).",
  readOnly: true,
  input: struct({ Message, KeyId, MacAlgorithm, Mac: MacBlob, GrantTokens, DryRun }, ["Message", "KeyId", "MacAlgorithm", "Mac"]),
  async run(kms, call, input) {
    const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic", crossAccount: true });
    kms.requireAlgorithm(key, "GENERATE_VERIFY_MAC", input.MacAlgorithm!, "MAC algorithm", "VerifyMac");
    if (input.DryRun) throw new ServiceError("DryRunOperationException");
    const expected = mac(input.MacAlgorithm!, await kms.singleKey(key), input.Message as Buffer);
    if (!macEquals(expected, input.Mac as Buffer)) throw new ServiceError("KMSInvalidMacException");
    return { KeyId: kms.arnOf(key), MacValid: true, MacAlgorithm: input.MacAlgorithm };
  },
});
