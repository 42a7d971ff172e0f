/** Every Secrets Manager operation keyhold serves, in one table. The wire name is each operation's `name`. */
import type { SecretsManagerOperation } from "./operation.js";
import { cancelRotateSecret } from "./operations/cancel-rotate-secret.js";
import { rotateSecret } from "./operations/rotate-secret.js";
import { replicateSecretToRegions } from "./operations/replicate-secret-to-regions.js";
import { removeRegionsFromReplication } from "./operations/remove-regions-from-replication.js";
import { stopReplicationToReplica } from "./operations/stop-replication-to-replica.js";
import { batchGetSecretValue } from "./operations/batch-get-secret-value.js";
import { createSecret } from "./operations/create-secret.js";
import { deleteResourcePolicy } from "./operations/delete-resource-policy.js";
import { deleteSecret } from "./operations/delete-secret.js";
import { describeSecret } from "./operations/describe-secret.js";
import { getRandomPassword } from "./operations/get-random-password.js";
import { getResourcePolicy } from "./operations/get-resource-policy.js";
import { getSecretValue } from "./operations/get-secret-value.js";
import { listSecretVersionIds } from "./operations/list-secret-version-ids.js";
import { listSecrets } from "./operations/list-secrets.js";
import { putResourcePolicy } from "./operations/put-resource-policy.js";
import { putSecretValue } from "./operations/put-secret-value.js";
import { restoreSecret } from "./operations/restore-secret.js";
import { tagResource } from "./operations/tag-resource.js";
import { untagResource } from "./operations/untag-resource.js";
import { updateSecret } from "./operations/update-secret.js";
import { updateSecretVersionStage } from "./operations/update-secret-version-stage.js";
import { validateResourcePolicy } from "./operations/validate-resource-policy.js";

/** AWS JSON 1.1: X-Amz-Target is secretsmanager.<Operation>; requests are signed for secretsmanager. */
export const SECRETSMANAGER_TARGET_PREFIX = "secretsmanager";

export const SECRETSMANAGER_OPERATIONS: readonly SecretsManagerOperation[] = [
  createSecret,
  describeSecret,
  getSecretValue,
  batchGetSecretValue,
  putSecretValue,
  updateSecret,
  updateSecretVersionStage,
  listSecretVersionIds,
  listSecrets,
  deleteSecret,
  restoreSecret,
  getRandomPassword,
  tagResource,
  untagResource,
  putResourcePolicy,
  getResourcePolicy,
  deleteResourcePolicy,
  validateResourcePolicy,
  rotateSecret,
  cancelRotateSecret,
  replicateSecretToRegions,
  removeRegionsFromReplication,
  stopReplicationToReplica,
];

export const SECRETSMANAGER_OPERATIONS_BY_NAME: ReadonlyMap<string, SecretsManagerOperation> = new Map(
  SECRETSMANAGER_OPERATIONS.map((op) => [op.name, op]),
);

/** Secrets Manager operations keyhold does not serve, with the reason a caller is given (UnsupportedOperationException). */
export const SECRETSMANAGER_UNSERVED: ReadonlyMap<string, string> = new Map();
