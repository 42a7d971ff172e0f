import type { GetSecretValueRequest, GetSecretValueResponse } from "@aws-sdk/client-secrets-manager";
import type { CallContext } from "../../call.js";
import { struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import type { SecretsManagerService } from "../service.js";
import { SecretId, VersionId, VersionStage } from "../shapes.js";
import { valueMembers } from "../values.js";

export const getSecretValue = defineOperation<GetSecretValueRequest, GetSecretValueResponse>({
  name: "GetSecretValue",
  description: "Read a secret's value: the version with a staging label (default AWSCURRENT) or a version id, decrypted through KMS.",
  readOnly: true,
  input: struct({ SecretId, VersionId, VersionStage }, ["SecretId"]),
  run: (sm, call, input) => readValue(sm, call, input.SecretId!, input.VersionId, input.VersionStage),
});

/** GetSecretValue, and each secret of BatchGetSecretValue. */
export async function readValue(
  sm: SecretsManagerService,
  call: CallContext,
  secretId: string,
  versionId: string | undefined,
  stage: string | undefined,
): Promise<GetSecretValueResponse> {
  const secret = await sm.require(call, secretId, "secretsmanager:GetSecretValue", {
    keys: { "secretsmanager:versionid": versionId, "secretsmanager:versionstage": stage },
  });
  sm.requireNotDeleted(secret);
  const version = sm.version(secret.body, versionId, stage);
  const bytes = await sm.openVersion(call, secret.body, version);
  await sm.touch(secret, version.id);
  return {
    ARN: secret.body.arn,
    Name: secret.body.name,
    VersionId: version.id,
    ...valueMembers(bytes, version.binary),
    VersionStages: [...version.stages],
    CreatedDate: new Date(version.createdAt),
  };
}
