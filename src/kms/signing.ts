/** What Sign and Verify share: finding the key, checking the algorithm and the message type. */
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import type { KeyRecord } from "../store/records.js";
import type { KmsService } from "./service.js";

export async function signingKey(
  kms: KmsService,
  call: CallContext,
  input: { KeyId?: string; SigningAlgorithm?: string; MessageType?: string; DryRun?: boolean },
): Promise<KeyRecord> {
  const key = await kms.resolveKey(call, input.KeyId!, { aliases: true, state: "cryptographic" });
  kms.requireAlgorithm(key, "SIGN_VERIFY", input.SigningAlgorithm!, "signing algorithm");
  const type = input.MessageType ?? "RAW";
  if (type !== "RAW") {
    throw new ServiceError(
      "UnsupportedOperationException",
      `MessageType ${type} is not supported by this keyhold server yet; send the RAW message.`,
    );
  }
  if (input.DryRun) throw new ServiceError("DryRunOperationException");
  return key;
}
