/** Every KMS operation keyhold serves, in one table. The wire name is each operation's `name`. */
import type { KmsOperation } from "./operation.js";
import { cancelKeyDeletion } from "./operations/cancel-key-deletion.js";
import { createAlias } from "./operations/create-alias.js";
import { createGrant } from "./operations/create-grant.js";
import { listGrants } from "./operations/list-grants.js";
import { listRetirableGrants } from "./operations/list-retirable-grants.js";
import { retireGrant } from "./operations/retire-grant.js";
import { revokeGrant } from "./operations/revoke-grant.js";
import { createKey } from "./operations/create-key.js";
import { decrypt } from "./operations/decrypt.js";
import { deleteAlias } from "./operations/delete-alias.js";
import { describeKey } from "./operations/describe-key.js";
import { disableKey } from "./operations/disable-key.js";
import { disableKeyRotation } from "./operations/disable-key-rotation.js";
import { enableKey } from "./operations/enable-key.js";
import { enableKeyRotation } from "./operations/enable-key-rotation.js";
import { encrypt } from "./operations/encrypt.js";
import { generateDataKey } from "./operations/generate-data-key.js";
import { generateDataKeyWithoutPlaintext } from "./operations/generate-data-key-without-plaintext.js";
import { generateRandom } from "./operations/generate-random.js";
import { deriveSharedSecret } from "./operations/derive-shared-secret.js";
import { generateDataKeyPair } from "./operations/generate-data-key-pair.js";
import { generateDataKeyPairWithoutPlaintext } from "./operations/generate-data-key-pair-without-plaintext.js";
import { generateMac } from "./operations/generate-mac.js";
import { getPublicKey } from "./operations/get-public-key.js";
import { sign } from "./operations/sign.js";
import { verify } from "./operations/verify.js";
import { verifyMac } from "./operations/verify-mac.js";
import { deleteImportedKeyMaterial } from "./operations/delete-imported-key-material.js";
import { getParametersForImport } from "./operations/get-parameters-for-import.js";
import { importKeyMaterial } from "./operations/import-key-material.js";
import { getKeyPolicy } from "./operations/get-key-policy.js";
import { listKeyPolicies } from "./operations/list-key-policies.js";
import { putKeyPolicy } from "./operations/put-key-policy.js";
import { getKeyLastUsage } from "./operations/get-key-last-usage.js";
import { getKeyRotationStatus } from "./operations/get-key-rotation-status.js";
import { listAliases } from "./operations/list-aliases.js";
import { listKeyRotations } from "./operations/list-key-rotations.js";
import { listKeys } from "./operations/list-keys.js";
import { listResourceTags } from "./operations/list-resource-tags.js";
import { reEncrypt } from "./operations/re-encrypt.js";
import { rotateKeyOnDemand } from "./operations/rotate-key-on-demand.js";
import { scheduleKeyDeletion } from "./operations/schedule-key-deletion.js";
import { tagResource } from "./operations/tag-resource.js";
import { untagResource } from "./operations/untag-resource.js";
import { updateAlias } from "./operations/update-alias.js";
import { updateKeyDescription } from "./operations/update-key-description.js";
import { CUSTOM_KEY_STORE_OPERATIONS } from "./custom-key-stores/registry.js";

export const KMS_OPERATIONS: readonly KmsOperation[] = [
  createKey,
  describeKey,
  listKeys,
  enableKey,
  disableKey,
  updateKeyDescription,
  scheduleKeyDeletion,
  cancelKeyDeletion,
  encrypt,
  decrypt,
  reEncrypt,
  generateDataKey,
  generateDataKeyWithoutPlaintext,
  generateRandom,
  createAlias,
  updateAlias,
  deleteAlias,
  listAliases,
  tagResource,
  untagResource,
  listResourceTags,
  enableKeyRotation,
  disableKeyRotation,
  getKeyRotationStatus,
  rotateKeyOnDemand,
  listKeyRotations,
  getKeyLastUsage,
  getPublicKey,
  sign,
  verify,
  generateMac,
  verifyMac,
  deriveSharedSecret,
  generateDataKeyPair,
  generateDataKeyPairWithoutPlaintext,
  getParametersForImport,
  importKeyMaterial,
  deleteImportedKeyMaterial,
  getKeyPolicy,
  putKeyPolicy,
  listKeyPolicies,
  createGrant,
  listGrants,
  listRetirableGrants,
  retireGrant,
  revokeGrant,
  ...CUSTOM_KEY_STORE_OPERATIONS,
];

export const KMS_OPERATIONS_BY_NAME: ReadonlyMap<string, KmsOperation> = new Map(KMS_OPERATIONS.map((op) => [op.name, op]));

const MULTI_REGION = "Multi-Region keys are not supported by this keyhold server.";

/** KMS operations keyhold does not serve, with the reason a caller is given (UnsupportedOperationException). */
export const KMS_UNSERVED: ReadonlyMap<string, string> = new Map([
  ["ReplicateKey", MULTI_REGION],
  ["UpdatePrimaryRegion", MULTI_REGION],
]);
