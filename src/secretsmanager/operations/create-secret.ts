import type { CreateSecretRequest, CreateSecretResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import { addReplicas, AddReplicaRegions, checkReplicaRegions, ForceOverwriteReplicaSecret } from "../replicas.js";
import { checkTags, CURRENT, mergeTags, NAME, type SecretBody } from "../service.js";
import { ClientRequestToken, Description, KmsKeyId, SecretBinary, SecretString, Tags } from "../shapes.js";
import { sameValue, valueOf } from "../values.js";

export const createSecret = defineOperation<CreateSecretRequest, CreateSecretResponse>({
  name: "CreateSecret",
  description: "Create a secret, with a first version (AWSCURRENT) when a value is given, encrypted under its KMS key.",
  readOnly: false,
  input: struct(
    {
      Name: str({ min: 1, max: 512 }),
      ClientRequestToken,
      Description,
      KmsKeyId,
      SecretBinary,
      SecretString,
      Tags,
      AddReplicaRegions,
      ForceOverwriteReplicaSecret,
      Type: str({ min: 0, max: 256 }),
    },
    ["Name"],
  ),
  async run(sm, call, input) {
    const name = input.Name!;
    if (!NAME.test(name)) {
      throw new ServiceError(
        "InvalidParameterException",
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
      );
    }
    if (input.Type !== undefined && input.Type !== "") {
      throw new ServiceError("InvalidParameterException", "Secrets of a managed Type are not supported by this keyhold server.");
    }
    const value = valueOf(input);
    const tags = mergeTags([], checkTags(input.Tags ?? []));
    const conditions = {
      keys: { "secretsmanager:name": name, "secretsmanager:kmskeyid": input.KmsKeyId, "secretsmanager:description": input.Description },
      requestTags: tags,
    };
    const existing = await sm.load(call.accountId, call.region, name);
    if (existing) {
      sm.trailResource(call, existing.body.arn);
      await sm.authorize(call, "secretsmanager:CreateSecret", existing, undefined, conditions);
      if (existing.body.deletionDate !== undefined) {
        throw new ServiceError(
          "InvalidRequestException",
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      // A retry (same ClientRequestToken) of the request that made this secret succeeds again, if it carries the same value.
      const version =
        input.ClientRequestToken === undefined ? undefined : existing.body.versions.find((v) => v.id === input.ClientRequestToken);
      if (version && value) {
        const stored = await sm.openVersion(call, existing.body, version);
        try {
          if (sameValue(stored, version.binary, value)) return { ARN: existing.body.arn, Name: name, VersionId: version.id };
        } finally {
          stored.fill(0);
        }
        throw new ServiceError("ResourceExistsException", "You can't modify an existing version, you can only create a new version.");
      }
      throw new ServiceError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
    }
    const arn = sm.newArn(call, name);
    // Replica regions are checked before anything is written.
    const replicas =
      input.AddReplicaRegions === undefined ? undefined : checkReplicaRegions(sm, { region: call.region }, input.AddReplicaRegions);
    const placeholder = { accountId: call.accountId, body: { arn, tags: [] as SecretBody["tags"] } as SecretBody };
    await sm.authorize(call, "secretsmanager:CreateSecret", placeholder, undefined, conditions);
    if (tags.length > 0) await sm.authorize(call, "secretsmanager:TagResource", placeholder, undefined, conditions);
    const now = sm.clock.now();
    const body: SecretBody = {
      arn,
      name,
      region: call.region,
      description: input.Description,
      kmsKeyId: input.KmsKeyId === "" ? undefined : input.KmsKeyId,
      tags,
      createdAt: now,
      lastChangedAt: now,
      versions: [],
    };
    const versionId = input.ClientRequestToken ?? sm.newVersionId();
    if (value) {
      try {
        body.versions.push(await sm.sealVersion(call, body, versionId, value.bytes, value.binary, [CURRENT]));
      } finally {
        value.bytes.fill(0);
      }
    }
    if (!(await sm.create(call, body))) {
      throw new ServiceError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
    }
    sm.trailResource(call, arn);
    if (replicas) {
      await sm.authorize(call, "secretsmanager:ReplicateSecretToRegions", placeholder, undefined, conditions);
      const created = (await sm.load(call.accountId, call.region, name))!;
      const status = await addReplicas(sm, created, replicas, input.ForceOverwriteReplicaSecret === true);
      return { ARN: arn, Name: name, VersionId: value ? versionId : undefined, ReplicationStatus: status };
    }
    return { ARN: arn, Name: name, VersionId: value ? versionId : undefined };
  },
});
