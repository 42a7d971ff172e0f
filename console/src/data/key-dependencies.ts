/**
 * What depends on a KMS key: what would become unreadable if it were disabled or deleted. No AWS
 * console has this view; it is built from the same APIs any client calls, so the caller sees only
 * what its own permissions let it list, and each part that is refused says so with AWS's message
 * instead of hiding the rest.
 *
 * - buckets whose default encryption names the key (ListBuckets, GetBucketEncryption);
 * - objects encrypted under it (ListObjectsV2, HeadObject's SSEKMSKeyId), bounded: after
 *   `maxObjects` objects the count is "at least N";
 * - secret versions encrypted under it (ListSecrets, ListSecretVersionIds' KmsKeyIds);
 * - its grants and aliases (ListGrants, ListAliases);
 * - its use over the last days from the audit trail (see key-usage.ts).
 *
 * S3 and Secrets Manager keep the key reference as written (id, ARN, alias name or alias ARN) and
 * use their AWS managed key (aws/s3, aws/secretsmanager) when none is named: key-names.ts matches
 * every form.
 */
import {
  DescribeKeyCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  type AliasListEntry,
  type GrantListEntry,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { GetBucketEncryptionCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ListSecretsCommand, ListSecretVersionIdsCommand } from "@aws-sdk/client-secrets-manager";
import { failureOf, mapLimited, section, type AwsFailure, type DataClients, type Section } from "./clients.js";
import { keyNames, namesKey, usesKey, type KeyNames } from "./key-names.js";
import { keyUsage, type KeyUsage, type UsageOptions } from "./key-usage.js";

export interface DependencyOptions {
  /** At most this many buckets are examined (default 1,000). */
  maxBuckets?: number;
  /** At most this many objects are examined with HeadObject, across all buckets (default 1,000). */
  maxObjects?: number;
  /** At most this many secrets are examined (default 500). */
  maxSecrets?: number;
  /** At most this many grants and aliases are listed (default 1,000 each). */
  maxGrants?: number;
  /** Calls in flight at once (default 6). */
  concurrency?: number;
  usage?: UsageOptions;
}

export interface BucketDependency {
  bucket: string;
  /** aws:kms (or aws:kms:dsse). */
  algorithm: string;
  /** The key as the bucket names it (undefined: S3's AWS managed key, aws/s3). */
  keyRef?: string;
  bucketKeyEnabled: boolean;
}

export interface BucketsResult {
  buckets: BucketDependency[];
  examined: number;
  /** Buckets whose encryption could not be read (the caller may lack s3:GetEncryptionConfiguration). */
  refused: { bucket: string; error: AwsFailure }[];
  truncated: boolean;
}

export interface ObjectsResult {
  /** Objects found encrypted under the key. */
  count: number;
  /** True when not every object could be examined: `count` is then a lower bound ("at least N"). */
  atLeast: boolean;
  examined: number;
  perBucket: { bucket: string; count: number }[];
  /** The first objects found, to show a few (at most 50). */
  samples: { bucket: string; key: string }[];
  /** Objects HeadObject refused (SSE-C objects need their key; a policy may deny). */
  unreadable: number;
  /** Buckets whose objects could not be listed. */
  refused: { bucket: string; error: AwsFailure }[];
}

export interface SecretDependency {
  arn: string;
  name: string;
  /** The key reference new versions are encrypted under (undefined: aws/secretsmanager). */
  kmsKeyId?: string;
  /** Whether new versions of the secret are encrypted under this key. */
  configured: boolean;
  /** The versions encrypted under this key, with their staging labels. */
  versions: { versionId: string; stages: string[] }[];
  deletedDate?: Date;
}

export interface SecretsResult {
  secrets: SecretDependency[];
  versionCount: number;
  examined: number;
  refused: { secret: string; error: AwsFailure }[];
  truncated: boolean;
}

export interface KeyDependencies {
  key: KeyMetadata;
  names: KeyNames;
  buckets: Section<BucketsResult>;
  objects: Section<ObjectsResult>;
  secrets: Section<SecretsResult>;
  grants: Section<{ grants: GrantListEntry[]; truncated: boolean }>;
  aliases: Section<AliasListEntry[]>;
  usage: Section<KeyUsage>;
}

const SAMPLES = 50;

export async function keyDependencies(clients: DataClients, keyId: string, options: DependencyOptions = {}): Promise<KeyDependencies> {
  const concurrency = options.concurrency ?? 6;
  const described = await clients.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  const key = described.KeyMetadata!;
  const aliases = await section(() => listAliases(clients, key.Arn!, options.maxGrants ?? 1000));
  const names = keyNames(key.Arn!, aliases.ok ? aliases.value.map((a) => a.AliasName!) : []);

  const bucketsAndObjects = section(() => bucketEncryption(clients, names, options.maxBuckets ?? 1000, concurrency));
  const [buckets, secrets, grants, usage] = await Promise.all([
    bucketsAndObjects,
    section(() => secretVersions(clients, names, options.maxSecrets ?? 500, concurrency)),
    section(() => listGrants(clients, key.Arn!, options.maxGrants ?? 1000)),
    section(() => keyUsage(clients, key.Arn!, options.usage)),
  ]);
  // Objects come after the buckets: the buckets that name the key are searched first, so a
  // bounded search finds what the default encryption put there before anything else.
  const objects: Section<ObjectsResult> = buckets.ok
    ? await section(() => objectsUnder(clients, names, buckets.value, options.maxObjects ?? 1000, concurrency))
    : { ok: false, error: buckets.error };
  return {
    key,
    names,
    buckets: buckets.ok ? { ok: true, value: buckets.value.result } : buckets,
    objects,
    secrets,
    grants,
    aliases,
    usage,
  };
}

async function listAliases(clients: DataClients, keyArn: string, max: number): Promise<AliasListEntry[]> {
  const out: AliasListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await clients.kms.send(new ListAliasesCommand({ KeyId: keyArn, Limit: 100, Marker: marker }));
    out.push(...(page.Aliases ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker && out.length < max);
  return out.slice(0, max);
}

async function listGrants(clients: DataClients, keyArn: string, max: number): Promise<{ grants: GrantListEntry[]; truncated: boolean }> {
  const grants: GrantListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await clients.kms.send(new ListGrantsCommand({ KeyId: keyArn, Limit: 100, Marker: marker }));
    grants.push(...(page.Grants ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker && grants.length < max);
  return { grants: grants.slice(0, max), truncated: marker !== undefined || grants.length > max };
}

interface BucketScan {
  result: BucketsResult;
  /** Every bucket examined, the ones that name the key first. */
  order: string[];
}

async function bucketEncryption(clients: DataClients, key: KeyNames, max: number, concurrency: number): Promise<BucketScan> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await clients.s3.send(new ListBucketsCommand({ ContinuationToken: token }));
    for (const b of page.Buckets ?? []) if (b.Name) names.push(b.Name);
    token = page.ContinuationToken;
  } while (token && names.length < max);
  const examined = names.slice(0, max);
  const refused: BucketsResult["refused"] = [];
  const found = await mapLimited(examined, concurrency, async (bucket): Promise<BucketDependency | undefined> => {
    try {
      const answer = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      for (const rule of answer.ServerSideEncryptionConfiguration?.Rules ?? []) {
        const byDefault = rule.ApplyServerSideEncryptionByDefault;
        const algorithm = byDefault?.SSEAlgorithm;
        if (algorithm === undefined || !algorithm.startsWith("aws:kms")) continue;
        if (usesKey(byDefault?.KMSMasterKeyID, key, "alias/aws/s3"))
          return { bucket, algorithm, keyRef: byDefault?.KMSMasterKeyID || undefined, bucketKeyEnabled: rule.BucketKeyEnabled === true };
      }
    } catch (error) {
      // A bucket with no encryption configuration (older S3 behaviour) depends on no key.
      if ((error as Error).name !== "ServerSideEncryptionConfigurationNotFoundError") refused.push({ bucket, error: failureOf(error) });
    }
    return undefined;
  });
  const buckets = found.filter((b): b is BucketDependency => b !== undefined);
  const naming = new Set(buckets.map((b) => b.bucket));
  return {
    result: { buckets, examined: examined.length, refused, truncated: names.length > max || token !== undefined },
    order: [...examined.filter((b) => naming.has(b)), ...examined.filter((b) => !naming.has(b))],
  };
}

async function objectsUnder(
  clients: DataClients,
  key: KeyNames,
  scan: BucketScan,
  max: number,
  concurrency: number,
): Promise<ObjectsResult> {
  const result: ObjectsResult = {
    count: 0,
    atLeast: scan.result.truncated || scan.result.refused.length > 0,
    examined: 0,
    perBucket: [],
    samples: [],
    unreadable: 0,
    refused: [],
  };
  for (const bucket of scan.order) {
    let count = 0;
    let token: string | undefined;
    try {
      do {
        if (result.examined >= max) {
          result.atLeast = true;
          break;
        }
        const page = await clients.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: Math.min(1000, max - result.examined) }),
        );
        const keys = (page.Contents ?? []).map((o) => o.Key!).filter((k) => k !== undefined);
        result.examined += keys.length;
        const under = await mapLimited(keys, concurrency, async (objectKey) => {
          try {
            const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
            return head.ServerSideEncryption?.startsWith("aws:kms") === true && usesKey(head.SSEKMSKeyId, key, "alias/aws/s3");
          } catch {
            result.unreadable++;
            return false;
          }
        });
        keys.forEach((objectKey, i) => {
          if (!under[i]) return;
          count++;
          if (result.samples.length < SAMPLES) result.samples.push({ bucket, key: objectKey });
        });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (token && result.examined >= max) result.atLeast = true;
      } while (token && result.examined < max);
    } catch (error) {
      result.refused.push({ bucket, error: failureOf(error) });
      result.atLeast = true;
    }
    if (count > 0) result.perBucket.push({ bucket, count });
    result.count += count;
    if (result.examined >= max) {
      // Buckets not reached are not counted.
      if (bucket !== scan.order[scan.order.length - 1]) result.atLeast = true;
      break;
    }
  }
  // An object HeadObject refused may be under the key: the count is a lower bound then too.
  if (result.unreadable > 0) result.atLeast = true;
  return result;
}

async function secretVersions(clients: DataClients, key: KeyNames, max: number, concurrency: number): Promise<SecretsResult> {
  const listed: { arn: string; name: string; kmsKeyId?: string; deletedDate?: Date }[] = [];
  let token: string | undefined;
  do {
    const page = await clients.secretsManager.send(
      new ListSecretsCommand({ IncludePlannedDeletion: true, MaxResults: 100, NextToken: token }),
    );
    for (const s of page.SecretList ?? []) listed.push({ arn: s.ARN!, name: s.Name!, kmsKeyId: s.KmsKeyId, deletedDate: s.DeletedDate });
    token = page.NextToken;
  } while (token && listed.length < max);
  const examined = listed.slice(0, max);
  const refused: SecretsResult["refused"] = [];
  const found = await mapLimited(examined, concurrency, async (s): Promise<SecretDependency | undefined> => {
    const versions: SecretDependency["versions"] = [];
    try {
      let next: string | undefined;
      do {
        const page = await clients.secretsManager.send(
          new ListSecretVersionIdsCommand({ SecretId: s.arn, IncludeDeprecated: true, MaxResults: 100, NextToken: next }),
        );
        for (const v of page.Versions ?? [])
          if ((v.KmsKeyIds ?? []).some((ref) => namesKey(ref, key)))
            versions.push({ versionId: v.VersionId!, stages: v.VersionStages ?? [] });
        next = page.NextToken;
      } while (next);
    } catch (error) {
      refused.push({ secret: s.name, error: failureOf(error) });
    }
    const configured = usesKey(s.kmsKeyId, key, "alias/aws/secretsmanager");
    if (!configured && versions.length === 0) return undefined;
    return { arn: s.arn, name: s.name, kmsKeyId: s.kmsKeyId, configured, versions, deletedDate: s.deletedDate };
  });
  const secrets = found.filter((s): s is SecretDependency => s !== undefined);
  return {
    secrets,
    versionCount: secrets.reduce((n, s) => n + s.versions.length, 0),
    examined: examined.length,
    refused,
    truncated: listed.length > max || token !== undefined,
  };
}
