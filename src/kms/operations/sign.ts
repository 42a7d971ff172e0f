import type { SignRequest, SignResponse } from "@aws-sdk/client-kms";
import { signMessage } from "../../crypto/asymmetric.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantTokens, KeyId, Message, MessageType, SigningAlgorithm } from "../shapes.js";
import { signingKey } from "../signing.js";

export const sign = defineOperation<SignRequest, SignResponse>({
  name: "Sign",
  description: "Sign a message (up to 4096 bytes) with an asymmetric SIGN_VERIFY key.",
  readOnly: true,
  input: struct({ KeyId, Message, MessageType, GrantTokens, SigningAlgorithm, DryRun }, ["KeyId", "Message", "SigningAlgorithm"]),
  async run(kms, call, input) {
    const key = await signingKey(kms, call, input);
    const signature = signMessage(input.SigningAlgorithm!, await kms.singleKey(key), input.Message as Buffer);
    return { KeyId: kms.arnOf(key), Signature: signature, SigningAlgorithm: input.SigningAlgorithm };
  },
});
