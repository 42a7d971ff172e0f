/**
 * CreateKey's part for keys in a custom key store (Origin AWS_CLOUDHSM): the checks AWS makes of
 * the request, and the key made in the cluster's tokens (src/kms/custom-key-stores/stores.ts).
 */
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import type { KeyRecord, Tag } from "../../store/records.js";
import type { KmsService } from "../service.js";

/** The store the key goes to, checked; undefined for a key not in a custom key store. */
export async function checkCustomKeyStoreRequest(
  kms: KmsService,
  call: CallContext,
  customKeyStoreId: string | undefined,
  origin: string,
  keySpec: string,
): Promise<string | undefined> {
  if (customKeyStoreId === undefined) {
    if (origin === "AWS_CLOUDHSM") {
      throw new ServiceError(
        "ValidationException",
        "Origin AWS_CLOUDHSM needs a CustomKeyStoreId: the custom key store to create the key in.",
      );
    }
    return undefined;
  }
  // The store named must exist before anything else about it is judged.
  const stores = kms.customKeyStores;
  if (!stores) throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${customKeyStoreId} does not exist.`);
  await stores.require(call.accountId, call.region, customKeyStoreId);
  if (origin !== "AWS_CLOUDHSM") {
    throw new ServiceError(
      "ValidationException",
      `To create a KMS key in an AWS CloudHSM key store, set Origin to AWS_CLOUDHSM (not ${origin}).`,
    );
  }
  // AWS: a CloudHSM key store holds symmetric encryption keys only.
  if (keySpec !== "SYMMETRIC_DEFAULT") {
    throw new ServiceError(
      "UnsupportedOperationException",
      `KeySpec ${keySpec} is not supported in a custom key store: only SYMMETRIC_DEFAULT.`,
    );
  }
  call.trail.additional = { ...call.trail.additional, customKeyStoreId };
  return customKeyStoreId;
}

/**
 * Generates the key in the cluster's tokens, then stores it; a key that cannot be stored is
 * destroyed in the tokens again, so nothing is left behind half-made.
 */
export async function createKeyInCustomKeyStore(kms: KmsService, call: CallContext, record: KeyRecord, tags: Tag[]): Promise<void> {
  const stores = kms.customKeyStores!;
  const { version } = await stores.newKeyVersion(call.accountId, record.customKeyStoreId!, record.keyId);
  try {
    await kms.repo.createKey(record, version, tags);
  } catch (error) {
    await stores.discardKey(call.accountId, record.customKeyStoreId!, record.keyId).catch(() => {});
    throw error;
  }
}
