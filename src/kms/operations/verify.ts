import type { VerifyRequest, VerifyResponse } from "@aws-sdk/client-kms";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { DryRun, GrantTokens, KeyId, Message, MessageType, SignatureBlob, SigningAlgorithm } from "../shapes.js";
import { signingKey, verifyWith } from "../signing.js";

export const verify = defineOperation<VerifyRequest, VerifyResponse>({
  name: "Verify",
  description: "Verify a signature made with an asymmetric SIGN_VERIFY key.",
  readOnly: true,
  input: struct({ KeyId, Message, MessageType, Signature: SignatureBlob, SigningAlgorithm, GrantTokens, DryRun }, [
    "KeyId",
    "Message",
    "Signature",
    "SigningAlgorithm",
  ]),
  async run(kms, call, input) {
    const key = await signingKey(kms, call, input);
    if (!(await verifyWith(kms, key, input.SigningAlgorithm!, input.Message as Buffer, input.Signature as Buffer, input.MessageType))) {
      throw new ServiceError("KMSInvalidSignatureException");
    }
    return { KeyId: kms.arnOf(key), SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  },
});
