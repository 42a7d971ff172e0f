import type { UpdateSecretRequest, UpdateSecretResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { CURRENT, PENDING, PREVIOUS } from "../service.js";
import { ClientRequestToken, Description, KmsKeyId, SecretBinary, SecretId, SecretString } from "../shapes.js";
import { valueOf } from "../values.js";
import { addVersion } from "./put-secret-value.js";

export const updateSecret = defineOperation<UpdateSecretRequest, UpdateSecretResponse>({
  name: "UpdateSecret",
  description: "Change a secret's description or KMS key (re-encrypting its labeled versions), or give it a new AWSCURRENT value.",
  readOnly: false,
  input: struct({ SecretId, ClientRequestToken, Description, KmsKeyId, SecretBinary, SecretString, Type: str({ min: 0, max: 256 }) }, [
    "SecretId",
  ]),
  async run(sm, call, input) {
    if (input.Type !== undefined && input.Type !== "") {
      throw new ServiceError("InvalidParameterException", "Secrets of a managed Type are not supported by this keyhold server.");
    }
    const value = valueOf(input);
    const secret = await sm.require(call, input.SecretId!, "secretsmanager:UpdateSecret", {
      keys: { "secretsmanager:kmskeyid": input.KmsKeyId, "secretsmanager:description": input.Description },
    });
    sm.requireNotDeleted(secret);
    // Every change of the request is made on one copy and written once: a refusal (a key that
    // cannot encrypt, a reused token) leaves the secret exactly as it was.
    const body = structuredClone(secret.body);
    let changed = false;
    if (input.Description !== undefined) {
      body.description = input.Description;
      changed = true;
    }
    if (input.KmsKeyId !== undefined) {
      body.kmsKeyId = input.KmsKeyId === "" ? undefined : input.KmsKeyId;
      changed = true;
      // As Secrets Manager does, the versions in use (AWSCURRENT, AWSPREVIOUS, AWSPENDING) are
      // re-encrypted under the new key; deprecated versions stay under the key they were made with.
      if (body.kmsKeyId !== secret.body.kmsKeyId) {
        for (let i = 0; i < body.versions.length; i++) {
          const v = body.versions[i]!;
          if (!v.stages.some((s) => s === CURRENT || s === PREVIOUS || s === PENDING)) continue;
          const plain = await sm.openVersion(call, secret.body, v);
          try {
            const resealed = await sm.sealVersion(call, body, v.id, plain, v.binary, v.stages);
            body.versions[i] = { ...resealed, createdAt: v.createdAt, lastAccessedAt: v.lastAccessedAt };
          } finally {
            plain.fill(0);
          }
        }
      }
    }
    const version = value ? await addVersion(sm, call, body, input.ClientRequestToken, value, [CURRENT]) : undefined;
    if (changed || version?.added) {
      body.lastChangedAt = sm.clock.now();
      await sm.save(secret, body);
    }
    return { ARN: body.arn, Name: body.name, VersionId: version?.id };
  },
});
