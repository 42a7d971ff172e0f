import type { PutSecretValueRequest, PutSecretValueResponse } from "@aws-sdk/client-secrets-manager";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CURRENT, type SecretBody, type SecretsManagerService } from "../service.js";
import { ClientRequestToken, SecretBinary, SecretId, SecretString, VersionStages } from "../shapes.js";
import { sameValue, valueOf, type SecretValue } from "../values.js";

export const putSecretValue = defineOperation<PutSecretValueRequest, PutSecretValueResponse>({
  name: "PutSecretValue",
  description: "Add a version to a secret; it takes AWSCURRENT (the old current becomes AWSPREVIOUS) unless other labels are named.",
  readOnly: false,
  input: struct(
    {
      SecretId,
      ClientRequestToken,
      SecretBinary,
      SecretString,
      VersionStages,
      RotationToken: str({ min: 36, max: 256, pattern: /^[a-zA-Z0-9-]+$/ }),
    },
    ["SecretId"],
  ),
  async run(sm, call, input) {
    if (input.RotationToken !== undefined) {
      throw new ServiceError(
        "InvalidParameterException",
        "RotationToken is for rotation functions, which this keyhold server does not run.",
      );
    }
    const value = valueOf(input);
    if (!value) throw new ServiceError("InvalidParameterException", "You must provide either SecretString or SecretBinary.");
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:PutSecretValue", {
      keys: { "secretsmanager:versionstage": input.VersionStages },
    });
    sm.requireNotDeleted(secret);
    const body = structuredClone(secret.body);
    const version = await addVersion(sm, call, body, input.ClientRequestToken, value, input.VersionStages ?? [CURRENT]);
    if (version.added) await sm.save(secret, body);
    return { ARN: secret.body.arn, Name: secret.body.name, VersionId: version.id, VersionStages: version.stages };
  },
});

/**
 * Adds a version with `stages` to `body`, a copy of the secret's that the caller saves once with
 * every other change of the request (PutSecretValue, UpdateSecret), so that a refusal leaves
 * nothing half-written. A token naming an existing version is a retry: it succeeds, changing
 * nothing, when the value is the same, and is ResourceExistsException when it is not (a
 * version's value never changes).
 */
export async function addVersion(
  sm: SecretsManagerService,
  call: CallContext,
  body: SecretBody,
  token: string | undefined,
  value: SecretValue,
  stages: readonly string[],
): Promise<{ id: string; stages: string[]; added: boolean }> {
  try {
    const existing = token === undefined ? undefined : body.versions.find((v) => v.id === token);
    if (existing) {
      const stored = await sm.openVersion(call, body, existing);
      try {
        if (sameValue(stored, existing.binary, value)) return { id: existing.id, stages: [...existing.stages], added: false };
      } finally {
        stored.fill(0);
      }
      throw new ServiceError("ResourceExistsException", "You can't modify an existing version, you can only create a new version.");
    }
    const version = await sm.sealVersion(call, body, token ?? sm.newVersionId(), value.bytes, value.binary, []);
    body.versions.push(version);
    sm.moveStages(body, version, stages);
    const now = sm.clock.now();
    sm.pruneVersions(body, now);
    body.lastChangedAt = now;
    return { id: version.id, stages: [...version.stages], added: true };
  } finally {
    value.bytes.fill(0);
  }
}
