/** A secret's metadata as DescribeSecret and ListSecrets answer it. */
import { replicationStatus } from "./replicas.js";
import type { SecretBody } from "./service.js";

/** The members DescribeSecret and ListSecrets share; each adds the version map under its own name. */
export function secretMetadata(body: SecretBody) {
  const rotation = body.rotation;
  return {
    ARN: body.arn,
    Name: body.name,
    Description: body.description,
    KmsKeyId: body.kmsKeyId,
    RotationEnabled: rotation?.enabled ?? false,
    RotationLambdaARN: rotation?.lambdaArn,
    RotationRules: rotation?.rules,
    LastRotatedDate: rotation?.lastRotatedAt === undefined ? undefined : new Date(rotation.lastRotatedAt),
    NextRotationDate: rotation?.enabled && rotation.nextRotationAt !== undefined ? new Date(rotation.nextRotationAt) : undefined,
    LastChangedDate: new Date(body.lastChangedAt),
    LastAccessedDate: body.lastAccessedAt === undefined ? undefined : new Date(body.lastAccessedAt),
    DeletedDate: body.deletedAt === undefined ? undefined : new Date(body.deletedAt),
    Tags: body.tags.length > 0 ? body.tags : undefined,
    CreatedDate: new Date(body.createdAt),
    // AWS names the primary's region on a replicated secret and on its replicas.
    PrimaryRegion: body.primaryRegion ?? (body.replicas?.length ? body.region : undefined),
    ReplicationStatus: body.replicas?.length ? replicationStatus(body.replicas) : undefined,
  };
}
