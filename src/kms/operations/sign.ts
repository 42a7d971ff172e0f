import type { SignRequest, SignResponse } from "@aws-sdk/client-kms";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantTokens, KeyId, Message, MessageType, SigningAlgorithm } from "../shapes.js";
import { signingKey, signWith } from "../signing.js";

export const sign = defineOperation<SignRequest, SignResponse>({
  name: "Sign",
  description: "Sign a message (up to 4096 bytes) with an asymmetric SIGN_VERIFY key.",
  readOnly: true,
  input: struct({ KeyId, Message, MessageType, GrantTokens, SigningAlgorithm, DryRun }, ["KeyId", "Message", "SigningAlgorithm"]),
  async run(kms, call, input) {
    const key = await signingKey(kms, call, input);
    const signature = await signWith(kms, key, input.SigningAlgorithm!, input.Message as Buffer, input.MessageType);
    return { KeyId: kms.arnOf(key), Signature: signature, SigningAlgorithm: input.SigningAlgorithm };
  },
});
