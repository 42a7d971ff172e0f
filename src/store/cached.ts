/**
 * A read-through cache in front of a repository, for the records every request reads: the
 * access key, the key, the key version and the alias. Writes go to the repository first and then
 * drop what they changed from the cache, so this process never serves a stale record.
 *
 * Changes made by other writers (other worker processes on the same SQLite file) are seen
 * through the repository's change token, checked before cached reads (once per event-loop turn):
 * when it moved, the whole cache is dropped. So no process serves a record another process has changed.
 *
 * Cached records are frozen: callers share them and must not change them.
 */
import { Lru, type CacheStats } from "../lru.js";
import type { DocumentWrite, KeyPatch, Repository } from "./repository.js";
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

/** Records of each kind kept by default (KEYHOLD_RECORD_CACHE_SIZE). */
export const RECORD_CACHE_SIZE = 100_000;

/**
 * Key versions kept at most: fewer than the other records, because the requests that use a key's
 * material do not read its version record while the material is cached (KmsService keeps the
 * version's materialId beside it). Only a miss of that cache, DescribeKey and the like read it.
 */
export const VERSION_CACHE_SIZE = 10_000;

/**
 * A number that moves whenever a record this process may have cached was changed or dropped (by
 * this process or, seen through the change token, by another): a cache built on records read
 * before (KmsService's key material) trusts them while it stays the same. Undefined for a
 * repository without this cache, whose every read is fresh.
 */
export function cacheGeneration(repo: Repository): number | undefined {
  return repo instanceof CachedRepository ? repo.generation() : undefined;
}

/**
 * A key version read for its material, not kept in the cache of versions: KmsService keeps what it
 * needs of it (the materialId beside the unwrapped material), and at 100,000 keys every version
 * going through a cache of 10,000 lived long enough to be promoted to V8's old space, its wrapped
 * material's memory held until a full collection (bench/keys.ts, with the change below: old space
 * used before a full collection 160 -> 106 MB, malloc's main arena 55 -> 46 MB).
 */
export function readKeyVersion(repo: Repository, keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
  return repo instanceof CachedRepository ? repo.readKeyVersion(keyId, version) : repo.getKeyVersion(keyId, version);
}

/**
 * `ownKey`: the cache's key taken from the record itself when it is the same text (a key's own
 * keyId): the string the caller asked with (from a request's body) is then not kept, 60 bytes a key.
 */
async function through<T>(
  repo: CachedRepository,
  cache: Lru<string, T>,
  key: string,
  load: () => Promise<T | undefined>,
  ownKey?: (value: T) => string,
): Promise<T | undefined> {
  repo.dropIfChangedElsewhere();
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const value = await load();
  // Misses are not cached: a record created by another writer must be found at once.
  if (value !== undefined) {
    const own = ownKey?.(value);
    cache.set(own === key ? own : key, Object.freeze(value));
  }
  return value;
}

export class CachedRepository implements Repository {
  readonly kind: string;
  private readonly keys: Lru<string, KeyRecord>;
  private readonly versions: Lru<string, KeyVersionRecord>;
  private readonly accessKeys: Lru<string, AccessKeyRecord>;
  private readonly aliases: Lru<string, AliasRecord>;
  private readonly documents: Lru<string, DocumentRecord>;

  private token: number;
  private checkedThisTurn = false;
  private generationCount = 0;
  private documentsChanged = 0;

  /** `size`: records of each kind kept (key versions: at most VERSION_CACHE_SIZE), the least recently used aging out past it. */
  constructor(
    private readonly inner: Repository,
    size = RECORD_CACHE_SIZE,
  ) {
    this.kind = inner.kind;
    this.keys = new Lru(size);
    this.versions = new Lru(Math.min(size, VERSION_CACHE_SIZE));
    this.accessKeys = new Lru(size);
    this.aliases = new Lru(size);
    this.documents = new Lru(size);
    this.token = inner.changeToken();
  }

  changeToken(): number {
    return this.inner.changeToken();
  }

  /**
   * Asks the database once per turn of the event loop: the requests handled in one turn share
   * the answer, so a change by another process is seen by the next turn at the latest.
   */
  dropIfChangedElsewhere(): void {
    if (this.checkedThisTurn) return;
    this.checkedThisTurn = true;
    setImmediate(() => {
      this.checkedThisTurn = false;
    });
    const token = this.inner.changeToken();
    if (token !== this.token) {
      this.token = token;
      this.invalidationsReceived++;
      this.invalidateAll();
    }
  }

  /** Times another process's change (or a lost change feed) emptied these caches. */
  invalidationsReceived = 0;

  documentsVersion(): number {
    this.dropIfChangedElsewhere();
    return this.documentsChanged;
  }

  /** See cacheGeneration. */
  generation(): number {
    this.dropIfChangedElsewhere();
    return this.generationCount;
  }

  private versionsChanged(keyId: string): void {
    this.generationCount++;
    this.versions.deleteWhere((k) => k.startsWith(keyId + "/"));
  }

  invalidateAll(): void {
    this.generationCount++;
    this.documentsChanged++;
    this.keys.clear();
    this.versions.clear();
    this.accessKeys.clear();
    this.aliases.clear();
    this.documents.clear();
  }

  /** Hits, misses and evictions of each kind of record since this process started. */
  cacheStats(): Record<"keys" | "versions" | "accessKeys" | "aliases" | "documents", CacheStats> {
    return {
      keys: this.keys.stats(),
      versions: this.versions.stats(),
      accessKeys: this.accessKeys.stats(),
      aliases: this.aliases.stats(),
      documents: this.documents.stats(),
    };
  }

  schedulerLease(): Promise<boolean> {
    return this.inner.schedulerLease();
  }

  readSeal(): Promise<Buffer | undefined> {
    return this.inner.readSeal();
  }
  writeSeal(sealed: Buffer): Promise<boolean> {
    return this.inner.writeSeal(sealed);
  }
  replaceSeal(current: Buffer, next: Buffer): Promise<boolean> {
    return this.inner.replaceSeal(current, next);
  }

  createAccount(account: AccountRecord): Promise<void> {
    return this.inner.createAccount(account);
  }
  getAccount(accountId: string): Promise<AccountRecord | undefined> {
    return this.inner.getAccount(accountId);
  }
  async putAccessKey(key: AccessKeyRecord): Promise<void> {
    await this.inner.putAccessKey(key);
    this.accessKeys.delete(key.accessKeyId);
  }
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    return through(this, this.accessKeys, accessKeyId, () => this.inner.getAccessKey(accessKeyId));
  }
  listAccounts(): Promise<AccountRecord[]> {
    return this.inner.listAccounts();
  }
  listAccessKeys(accountId: string, userName: string | undefined): Promise<AccessKeyRecord[]> {
    return this.inner.listAccessKeys(accountId, userName);
  }
  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    try {
      return await this.inner.deleteAccessKey(accessKeyId);
    } finally {
      this.accessKeys.delete(accessKeyId);
    }
  }

  getDocument(kind: DocumentKind, accountId: string, name: string): Promise<DocumentRecord | undefined> {
    return through(this, this.documents, `${kind}/${accountId}/${name}`, () => this.inner.getDocument(kind, accountId, name));
  }
  listDocuments(
    kind: DocumentKind,
    accountId: string,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<Page<DocumentRecord>> {
    return this.inner.listDocuments(kind, accountId, prefix, after, limit);
  }
  listDocumentsByRef(kind: DocumentKind, ref: string, after: string | undefined, limit: number): Promise<Page<DocumentRecord>> {
    return this.inner.listDocumentsByRef(kind, ref, after, limit);
  }
  async putDocument(doc: DocumentRecord, expectedRevision: number | "new"): Promise<boolean> {
    try {
      return await this.inner.putDocument(doc, expectedRevision);
    } finally {
      this.documents.delete(`${doc.kind}/${doc.accountId}/${doc.name}`);
      this.documentsChanged++;
    }
  }
  async putDocuments(writes: readonly DocumentWrite[]): Promise<boolean[]> {
    try {
      return await this.inner.putDocuments(writes);
    } finally {
      for (const { doc } of writes) this.documents.delete(`${doc.kind}/${doc.accountId}/${doc.name}`);
      this.documentsChanged++;
    }
  }
  async deleteDocument(kind: DocumentKind, accountId: string, name: string, expectedRevision?: number): Promise<boolean> {
    try {
      return await this.inner.deleteDocument(kind, accountId, name, expectedRevision);
    } finally {
      this.documents.delete(`${kind}/${accountId}/${name}`);
      this.documentsChanged++;
    }
  }

  createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, tags: Tag[]): Promise<void> {
    return this.inner.createKey(key, firstVersion, tags);
  }
  getKey(keyId: string): Promise<KeyRecord | undefined> {
    return through(
      this,
      this.keys,
      keyId,
      () => this.inner.getKey(keyId),
      (key) => key.keyId,
    );
  }
  listKeys(accountId: string, region: string, after: string | undefined, limit: number): Promise<Page<KeyRecord>> {
    return this.inner.listKeys(accountId, region, after, limit);
  }
  async updateKey(keyId: string, patch: KeyPatch, expectedState?: string): Promise<boolean> {
    try {
      return await this.inner.updateKey(keyId, patch, expectedState);
    } finally {
      this.keys.delete(keyId);
    }
  }
  async addKeyVersion(version: KeyVersionRecord, fromVersion: number, patch: KeyPatch): Promise<boolean> {
    try {
      return await this.inner.addKeyVersion(version, fromVersion, patch);
    } finally {
      this.keys.delete(version.keyId);
    }
  }
  /** Versions never change once written, so a cached one stays true until its key is deleted. */
  getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    return through(this, this.versions, `${keyId}/${version}`, () => this.inner.getKeyVersion(keyId, version));
  }
  /** See readKeyVersion: a fresh read from the repository, not added to the cache. */
  readKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    return this.inner.getKeyVersion(keyId, version);
  }
  listKeyVersions(keyId: string): Promise<KeyVersionRecord[]> {
    return this.inner.listKeyVersions(keyId);
  }
  async deleteKey(keyId: string): Promise<void> {
    try {
      await this.inner.deleteKey(keyId);
    } finally {
      this.keys.delete(keyId);
      this.versionsChanged(keyId);
      this.aliases.clear();
    }
  }
  keysDueForDeletion(now: number): Promise<KeyRecord[]> {
    return this.inner.keysDueForDeletion(now);
  }
  keysDueForRotation(now: number): Promise<KeyRecord[]> {
    return this.inner.keysDueForRotation(now);
  }

  private aliasKey(accountId: string, region: string, aliasName: string): string {
    return `${accountId}/${region}/${aliasName}`;
  }
  async createAlias(alias: AliasRecord): Promise<boolean> {
    try {
      return await this.inner.createAlias(alias);
    } finally {
      this.aliases.delete(this.aliasKey(alias.accountId, alias.region, alias.aliasName));
    }
  }
  getAlias(accountId: string, region: string, aliasName: string): Promise<AliasRecord | undefined> {
    return through(this, this.aliases, this.aliasKey(accountId, region, aliasName), () =>
      this.inner.getAlias(accountId, region, aliasName),
    );
  }
  async updateAlias(accountId: string, region: string, aliasName: string, targetKeyId: string, now: number): Promise<boolean> {
    try {
      return await this.inner.updateAlias(accountId, region, aliasName, targetKeyId, now);
    } finally {
      this.aliases.delete(this.aliasKey(accountId, region, aliasName));
    }
  }
  async deleteAlias(accountId: string, region: string, aliasName: string): Promise<boolean> {
    try {
      return await this.inner.deleteAlias(accountId, region, aliasName);
    } finally {
      this.aliases.delete(this.aliasKey(accountId, region, aliasName));
    }
  }
  listAliases(
    accountId: string,
    region: string,
    keyId: string | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<Page<AliasRecord>> {
    return this.inner.listAliases(accountId, region, keyId, after, limit);
  }

  putTags(keyId: string, tags: Tag[], maxTags: number): Promise<boolean> {
    return this.inner.putTags(keyId, tags, maxTags);
  }
  removeTags(keyId: string, tagKeys: string[]): Promise<void> {
    return this.inner.removeTags(keyId, tagKeys);
  }
  listTags(keyId: string, after: string | undefined, limit: number): Promise<Page<Tag>> {
    return this.inner.listTags(keyId, after, limit);
  }

  putImportToken(token: ImportTokenRecord): Promise<void> {
    return this.inner.putImportToken(token);
  }
  getImportToken(token: string): Promise<ImportTokenRecord | undefined> {
    return this.inner.getImportToken(token);
  }
  async importKeyMaterial(version: KeyVersionRecord, patch: KeyPatch): Promise<void> {
    try {
      await this.inner.importKeyMaterial(version, patch);
    } finally {
      this.keys.delete(version.keyId);
      this.versionsChanged(version.keyId);
    }
  }
  async deleteKeyMaterial(keyId: string, patch: KeyPatch): Promise<void> {
    try {
      await this.inner.deleteKeyMaterial(keyId, patch);
    } finally {
      this.keys.delete(keyId);
      this.versionsChanged(keyId);
    }
  }
  keysWithExpiredMaterial(now: number): Promise<KeyRecord[]> {
    return this.inner.keysWithExpiredMaterial(now);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
