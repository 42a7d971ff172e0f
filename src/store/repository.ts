/**
 * The storage seam. SQLite implements it today; a PostgreSQL implementation fills the same
 * interface. Every method is one atomic change: it either happens whole or not at all, and once
 * its promise resolves the change is durable.
 */
import type { SealStorage } from "../keystore/keystore.js";
import type {
  AccessKeyRecord,
  AccountRecord,
  AliasRecord,
  DocumentKind,
  DocumentRecord,
  ImportTokenRecord,
  KeyRecord,
  KeyVersionRecord,
  Page,
  Tag,
} from "./records.js";

/** One write of putDocuments: what putDocument takes. */
export interface DocumentWrite {
  doc: DocumentRecord;
  expectedRevision: number | "new";
}

export type KeyPatch = Partial<Omit<KeyRecord, "keyId" | "accountId" | "region" | "creationDate">>;

export interface Repository extends SealStorage {
  readonly kind: string;

  /**
   * A number that changes whenever another connection (another process or node) has committed a
   * change since the last call: the signal for caches to drop what they hold.
   */
  changeToken(): number;

  /**
   * Where reads are cached: a number that moves whenever a document this process may have read
   * could have changed (a write here, or a change by another process). What is derived from
   * documents may be kept while it stays the same. Absent where reads are not cached.
   */
  documentsVersion?(): number;

  /**
   * Whether this node is the one that runs background work (deletions, rotations, expiry) now.
   * One node holds the lease at a time; when it dies, another takes it over.
   */
  schedulerLease(): Promise<boolean>;

  createAccount(account: AccountRecord): Promise<void>;
  getAccount(accountId: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  /** Creates the access key, or updates its status. */
  putAccessKey(key: AccessKeyRecord): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  /** The long-term access keys of one IAM user (undefined: of the root user). */
  listAccessKeys(accountId: string, userName: string | undefined): Promise<AccessKeyRecord[]>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  getDocument(kind: DocumentKind, accountId: string, name: string): Promise<DocumentRecord | undefined>;
  /** Documents of one kind and account whose name starts with `prefix`, in name order after `after`. */
  listDocuments(
    kind: DocumentKind,
    accountId: string,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<Page<DocumentRecord>>;
  listDocumentsByRef(kind: DocumentKind, ref: string, after: string | undefined, limit: number): Promise<Page<DocumentRecord>>;
  /**
   * Creates the document (`expectedRevision` "new": false when the name is taken) or replaces it
   * (false when its stored revision is no longer `expectedRevision`).
   */
  putDocument(doc: DocumentRecord, expectedRevision: number | "new"): Promise<boolean>;
  /**
   * Several putDocument as one atomic change, one commit (one sync to disk for them all, where a
   * busy writer would pay one each): each one's result in order, as putDocument's. When the change
   * fails none of them is made.
   */
  putDocuments(writes: readonly DocumentWrite[]): Promise<boolean[]>;
  /** Deletes the document (only at `expectedRevision`, when given); whether it did. */
  deleteDocument(kind: DocumentKind, accountId: string, name: string, expectedRevision?: number): Promise<boolean>;

  /** Creates the key, its first version (none for a key awaiting imported material) and its tags together. */
  createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, tags: Tag[]): Promise<void>;
  getKey(keyId: string): Promise<KeyRecord | undefined>;
  /** Keys of one account and region in key-id order, after `after`. */
  listKeys(accountId: string, region: string, after: string | undefined, limit: number): Promise<Page<KeyRecord>>;
  /**
   * Applies `patch` only while the key still has `expectedState` (when given); returns false when
   * the key is gone or its state moved, so a concurrent change is never overwritten.
   */
  updateKey(keyId: string, patch: KeyPatch, expectedState?: string): Promise<boolean>;
  /** Adds the next version and makes it current, unless the current version is no longer `fromVersion`. */
  addKeyVersion(version: KeyVersionRecord, fromVersion: number, patch: KeyPatch): Promise<boolean>;
  getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined>;
  listKeyVersions(keyId: string): Promise<KeyVersionRecord[]>;
  /** Destroys the key: versions (its material), aliases, tags and the key row. */
  deleteKey(keyId: string): Promise<void>;
  keysDueForDeletion(now: number): Promise<KeyRecord[]>;
  keysDueForRotation(now: number): Promise<KeyRecord[]>;

  /** Returns false when an alias of that name already exists. */
  createAlias(alias: AliasRecord): Promise<boolean>;
  getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined>;
  updateAlias(accountId: string, region: string, aliasName: string, targetKeyId: string, now: number): Promise<boolean>;
  deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean>;
  listAliases(
    accountId: string,
    region: string,
    keyId: string | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<Page<AliasRecord>>;

  /** Sets tags (replacing values of existing keys) unless the key would then have more than `maxTags`. */
  putTags(keyId: string, tags: Tag[], maxTags: number): Promise<boolean>;
  removeTags(keyId: string, tagKeys: string[]): Promise<void>;
  listTags(keyId: string, after: string | undefined, limit: number): Promise<Page<Tag>>;

  putImportToken(token: ImportTokenRecord): Promise<void>;
  getImportToken(token: string): Promise<ImportTokenRecord | undefined>;
  /** Stores imported material as the key's only version (replacing any) and applies `patch`, in one transaction. */
  importKeyMaterial(version: KeyVersionRecord, patch: KeyPatch): Promise<void>;
  /** Deletes a key's material (every version) and applies `patch`, in one transaction. */
  deleteKeyMaterial(keyId: string, patch: KeyPatch): Promise<void>;
  keysWithExpiredMaterial(now: number): Promise<KeyRecord[]>;

  close(): Promise<void>;
}
