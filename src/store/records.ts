/**
 * Plain records the repository stores. They carry data only: the rules about what a key state
 * allows, or what an alias may be called, live in the service modules that use them.
 * Times are milliseconds since the epoch.
 */
export interface AccountRecord {
  accountId: string;
  createdAt: number;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  accountId: string;
  /** The secret access key, wrapped by the key store. */
  wrappedSecret: Buffer;
  status: "Active" | "Inactive";
  createdAt: number;
  /** The IAM user the key belongs to; undefined for the account's root user. */
  userName?: string;
  /** Temporary credentials: of an assumed-role session (STS), or of an IAM user's console session (userName names the user). */
  session?: SessionRecord;
}

export type SessionRecord = RoleSessionRecord | UserSessionRecord;

interface SessionBase {
  /** SHA-256 of the session token, hex: the token itself is given to the caller only. */
  tokenHash: string;
  issuedAt: number;
  expiresAt: number;
  /** Session policies (inline and managed), as documents. */
  policies?: string[];
}

export interface RoleSessionRecord extends SessionBase {
  roleName: string;
  roleId: string;
  sessionName: string;
}

/**
 * An IAM user's session from a console sign-in: it acts as the user (the record's userName), and
 * only while that very user exists (its id, not a new user of the same name).
 */
export interface UserSessionRecord extends SessionBase {
  userId: string;
}

export function isRoleSession(s: SessionRecord): s is RoleSessionRecord {
  return (s as Partial<RoleSessionRecord>).roleName !== undefined;
}

/**
 * A JSON document with a revision: how IAM users, groups, roles and managed policies, and KMS
 * grants, are stored. `name` is unique per kind and account; `ref` is a second lookup key.
 * Updates name the revision they read, so concurrent writers never overwrite each other.
 */
export interface DocumentRecord {
  kind: DocumentKind;
  accountId: string;
  name: string;
  ref?: string;
  body: string;
  revision: number;
  createdAt: number;
}

export type DocumentKind =
  | "iam-user"
  | "iam-group"
  | "iam-role"
  | "iam-policy"
  | "iam-login-profile"
  | "iam-password-policy"
  | "kms-grant"
  | "org-account"
  | "org-create-status"
  | "s3-bucket"
  | "s3-object"
  | "s3-upload"
  | "cloudtrail-trail"
  | "secretsmanager-secret"
  | "secretsmanager-rotation-function"
  | "kms-custom-key-store"
  | "hsm-cluster"
  | "acmpca-authority"
  | "acmpca-certificate"
  | "acm-certificate"
  | "acm-account";

export interface KeyRecord {
  keyId: string;
  accountId: string;
  region: string;
  description: string;
  keyState: string;
  keySpec: string;
  keyUsage: string;
  origin: string;
  keyManager: string;
  policy: string;
  creationDate: number;
  deletionDate?: number;
  pendingWindowInDays?: number;
  rotationEnabled: boolean;
  rotationPeriodInDays?: number;
  nextRotationDate?: number;
  onDemandRotations: number;
  /** 0 while an EXTERNAL key has no material. */
  currentVersion: number;
  /** Imported material: KEY_MATERIAL_EXPIRES or KEY_MATERIAL_DOES_NOT_EXPIRE, and when it expires. */
  expirationModel?: string;
  validTo?: number;
  /** A keyed fingerprint of imported material, so only the same material can be imported again. */
  materialFingerprint?: Buffer;
  /** The custom key store (cks-…) whose HSM cluster holds the material (Origin AWS_CLOUDHSM). */
  customKeyStoreId?: string;
}

export interface ImportTokenRecord {
  token: string;
  keyId: string;
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** The RSA wrapping key's private key (PKCS#8), wrapped by the key store. */
  wrappedPrivateKey: Buffer;
  validTo: number;
}

export interface KeyVersionRecord {
  keyId: string;
  version: number;
  /** 64 hex characters, AWS's KeyMaterialId. */
  materialId: string;
  /** The key material, wrapped by the key store. */
  wrappedMaterial: Buffer;
  createdAt: number;
  rotationType?: "AUTOMATIC" | "ON_DEMAND";
}

export interface AliasRecord {
  accountId: string;
  region: string;
  aliasName: string;
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface Page<T> {
  items: T[];
  /** The sort key of the last item, when more items follow. */
  next?: string;
}
