/**
 * Every name a KMS key goes by. S3 (a bucket's KMSMasterKeyID) and Secrets Manager (a secret's
 * KmsKeyId) keep the key reference exactly as the user wrote it: a key id, a key ARN, an alias name
 * or an alias ARN. To find what depends on a key, each of those forms must be recognised.
 */

export interface KeyNames {
  keyId: string;
  arn: string;
  /** Alias names (alias/…) pointing at the key. */
  aliases: string[];
  /** The region and account from the key ARN, for alias ARNs. */
  region: string;
  accountId: string;
}

/** The key names from a key ARN (arn:partition:kms:region:account:key/id) and its alias names. */
export function keyNames(arn: string, aliases: readonly string[]): KeyNames {
  const m = /^arn:([^:]+):kms:([^:]*):([^:]*):key\/(.+)$/.exec(arn);
  if (!m) throw new Error(`Not a KMS key ARN: ${arn}`);
  return { keyId: m[4]!, arn, aliases: [...aliases], region: m[2]!, accountId: m[3]! };
}

/** Whether a key reference (id, key ARN, alias name, alias ARN) names this key. */
export function namesKey(ref: string | undefined, key: KeyNames): boolean {
  if (ref === undefined || ref === "") return false;
  if (ref === key.keyId || ref === key.arn) return true;
  if (ref.startsWith("alias/")) return key.aliases.includes(ref);
  const alias = /^arn:[^:]+:kms:([^:]*):([^:]*):(alias\/.+)$/.exec(ref);
  return alias !== null && alias[1] === key.region && alias[2] === key.accountId && key.aliases.includes(alias[3]!);
}

/**
 * The key a service uses when the caller names none: S3 uses aws/s3, Secrets Manager
 * aws/secretsmanager. An unnamed key is this key only when it is that AWS managed key.
 */
export function usesKey(ref: string | undefined, key: KeyNames, managedAlias: string): boolean {
  return ref === undefined || ref === "" ? key.aliases.includes(managedAlias) : namesKey(ref, key);
}
