import type { GenerateRandomRequest, GenerateRandomResponse } from "@aws-sdk/client-kms";
import { randomBytes } from "node:crypto";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { NumberOfBytes, RecipientInfo } from "../shapes.js";

export const generateRandom = defineOperation<GenerateRandomRequest, GenerateRandomResponse>({
  name: "GenerateRandom",
  description: "Return 1–1024 cryptographically secure random bytes.",
  readOnly: true,
  input: struct({ NumberOfBytes, CustomKeyStoreId: str({ min: 1, max: 64 }), Recipient: RecipientInfo }),
  async run(kms, call, input) {
    await kms.authorizeAccount(call);
    if (input.NumberOfBytes === undefined) throw new ServiceError("ValidationException", "NumberOfBytes is required.");
    if (input.Recipient !== undefined) {
      throw new ServiceError("UnsupportedOperationException", "Recipient (Nitro Enclaves attestation) is not supported by keyhold.");
    }
    if (input.CustomKeyStoreId !== undefined) {
      // Custom key stores (issue 20): the bytes come from the cluster's token, which must be CONNECTED.
      const stores = kms.customKeyStores;
      if (!stores) throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${input.CustomKeyStoreId} does not exist.`);
      await stores.require(call.accountId, call.region, input.CustomKeyStoreId);
      call.trail.additional = { customKeyStoreId: input.CustomKeyStoreId };
      return { Plaintext: await stores.random(call.accountId, input.CustomKeyStoreId, input.NumberOfBytes) };
    }
    return { Plaintext: randomBytes(input.NumberOfBytes) };
  },
});
