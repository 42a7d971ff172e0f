/** The six custom key store operations (AWS_CLOUDHSM stores), listed in the KMS registry. */
import type { KmsOperation } from "../operation.js";
import { connectCustomKeyStore } from "./operations/connect-custom-key-store.js";
import { createCustomKeyStore } from "./operations/create-custom-key-store.js";
import { deleteCustomKeyStore } from "./operations/delete-custom-key-store.js";
import { describeCustomKeyStores } from "./operations/describe-custom-key-stores.js";
import { disconnectCustomKeyStore } from "./operations/disconnect-custom-key-store.js";
import { updateCustomKeyStore } from "./operations/update-custom-key-store.js";

export const CUSTOM_KEY_STORE_OPERATIONS: readonly KmsOperation[] = [
  createCustomKeyStore,
  connectCustomKeyStore,
  disconnectCustomKeyStore,
  describeCustomKeyStores,
  updateCustomKeyStore,
  deleteCustomKeyStore,
];
