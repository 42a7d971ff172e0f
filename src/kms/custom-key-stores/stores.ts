/**
 * Custom key stores (CustomKeyStoreType AWS_CLOUDHSM): a KMS-side record naming an HSM cluster
 * (src/hsm/clusters.ts) and holding the token user's PIN, and, per process, the open session on
 * the cluster's tokens. Keys in a store are generated in the tokens and used there; keyhold keeps
 * only their copy wrapped under the cluster's wrapping key, which only a token can open.
 *
 * Connection state: what the operator asked for (Connect/Disconnect) is stored; whether this
 * process has its tokens open is its own. A store asked to be connected is CONNECTED once a
 * session is open, FAILED (with its ConnectionErrorCode, kept) when opening failed, and its keys
 * are Unavailable whenever it is not CONNECTED, as AWS's are.
 */
import { randomBytes } from "node:crypto";
import type { CustomKeyStoresListEntry } from "@aws-sdk/client-kms";
import type { Clock } from "../../clock.js";
import { ServiceError } from "../../errors.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { Repository } from "../../store/repository.js";
import type { DocumentRecord, KeyRecord, KeyVersionRecord } from "../../store/records.js";
import { ClusterSession, ClusterUnavailable, type ConnectionErrorCode, type TokenOpener } from "../../hsm/cluster-session.js";
import { getCluster, kmsKeyLabel, type ClusterRecord } from "../../hsm/clusters.js";
import { uuidToBytes } from "../../crypto/ciphertext-blob.js";

export const STORE_KIND = "kms-custom-key-store";

export interface CustomKeyStoreRecord {
  customKeyStoreId: string;
  accountId: string;
  region: string;
  name: string;
  clusterId: string;
  trustAnchor: string;
  /** The token user's PIN (KeyStorePassword), wrapped by keyhold's key store: never stored in plaintext. */
  wrappedPassword: string;
  creationDate: number;
  /** What the operator asked for last. */
  desired: "CONNECTED" | "DISCONNECTED";
  /** Set when connecting failed: the store is FAILED until it is disconnected. */
  failure?: ConnectionErrorCode;
  /** Moves on each connect: a process's session of an older connect is closed and reopened. */
  generation: number;
  /** Labels of deleted keys not yet destroyed in every token (a token was away at the end of the window). */
  pendingDestroy?: string[];
}

export type ConnectionState = "CONNECTED" | "CONNECTING" | "DISCONNECTED" | "DISCONNECTING" | "FAILED";

/** AWS's format: `cks-` and 17 hexadecimal digits. */
export function newCustomKeyStoreId(): string {
  return `cks-${randomBytes(9).toString("hex").slice(0, 17)}`;
}

export function passwordContext(customKeyStoreId: string): string {
  return `keyhold:custom-key-store-password:v1:${customKeyStoreId}`;
}

interface Open {
  generation: number;
  session?: ClusterSession;
  opening?: Promise<void>;
}

/** AWS's quota: custom key stores per account and Region. */
export const MAX_STORES_PER_REGION = 10;

export class CustomKeyStores {
  private readonly open = new Map<string, Open>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly keystore: KeyStore,
    readonly clock: Clock,
    private readonly log: (message: string) => void = () => {},
    private readonly opener?: TokenOpener,
  ) {}

  // ---- records -------------------------------------------------------------------------------

  async getDoc(accountId: string, id: string): Promise<{ doc: DocumentRecord; store: CustomKeyStoreRecord } | undefined> {
    const doc = await this.repo.getDocument(STORE_KIND, accountId, id);
    return doc && { doc, store: JSON.parse(doc.body) as CustomKeyStoreRecord };
  }

  /** The caller's store, or CustomKeyStoreNotFoundException (another Region's is not found either). */
  async require(accountId: string, region: string, id: string): Promise<{ doc: DocumentRecord; store: CustomKeyStoreRecord }> {
    const found = await this.getDoc(accountId, id);
    if (!found || found.store.region !== region) {
      throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${id} does not exist in this account and Region.`);
    }
    return found;
  }

  /** Every store of the account (all Regions), in id order. */
  async listAll(accountId: string): Promise<CustomKeyStoreRecord[]> {
    const out: CustomKeyStoreRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listDocuments(STORE_KIND, accountId, "cks-", after, 100);
      for (const d of page.items) out.push(JSON.parse(d.body) as CustomKeyStoreRecord);
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  async list(accountId: string, region: string): Promise<CustomKeyStoreRecord[]> {
    return (await this.listAll(accountId)).filter((s) => s.region === region);
  }

  async insert(store: CustomKeyStoreRecord): Promise<boolean> {
    return this.repo.putDocument(this.docOf(store, 1), "new");
  }

  /** Replaces the record unless another request changed it since `doc` was read (ConflictException). */
  async save(doc: DocumentRecord, store: CustomKeyStoreRecord): Promise<void> {
    if (!(await this.repo.putDocument(this.docOf(store, doc.revision + 1, doc.createdAt), doc.revision))) {
      throw new ServiceError("ConflictException", `Custom key store ${store.customKeyStoreId} was changed by another request; try again.`);
    }
  }

  async remove(doc: DocumentRecord): Promise<boolean> {
    return this.repo.deleteDocument(STORE_KIND, doc.accountId, doc.name, doc.revision);
  }

  private docOf(store: CustomKeyStoreRecord, revision: number, createdAt = store.creationDate): DocumentRecord {
    return {
      kind: STORE_KIND,
      accountId: store.accountId,
      name: store.customKeyStoreId,
      ref: store.clusterId,
      body: JSON.stringify(store),
      revision,
      createdAt,
    };
  }

  wrapPassword(customKeyStoreId: string, password: string): string {
    const bytes = Buffer.from(password, "utf8");
    try {
      return this.keystore.wrap(bytes, passwordContext(customKeyStoreId)).toString("base64");
    } finally {
      bytes.fill(0);
    }
  }

  // ---- connection ----------------------------------------------------------------------------

  /**
   * The state DescribeCustomKeyStores shows, and its error code. A store asked to be connected
   * whose tokens this process has not opened yet (a restart, another node's Connect) is opened
   * here. CONNECTED with fewer reachable tokens than the cluster has carries
   * INSUFFICIENT_CLOUDHSM_HSMS: keyhold's way of saying the cluster runs on one token (docs/hsm.md).
   */
  async connection(store: CustomKeyStoreRecord): Promise<{ state: ConnectionState; errorCode?: ConnectionErrorCode }> {
    if (store.desired === "DISCONNECTED") {
      await this.closeSession(store.customKeyStoreId);
      return { state: "DISCONNECTED" };
    }
    if (store.failure) return { state: "FAILED", errorCode: store.failure };
    const session = await this.sessionOf(store);
    if (!session) {
      const fresh = await this.getDoc(store.accountId, store.customKeyStoreId);
      return { state: "FAILED", errorCode: fresh?.store.failure ?? "INTERNAL_ERROR" };
    }
    if (session.reachable() < session.total()) return { state: "CONNECTED", errorCode: "INSUFFICIENT_CLOUDHSM_HSMS" };
    return { state: "CONNECTED" };
  }

  /** The open session of a store asked to be connected: opened now if this process has none. */
  private async sessionOf(store: CustomKeyStoreRecord): Promise<ClusterSession | undefined> {
    let entry = this.open.get(store.customKeyStoreId);
    if (entry && entry.generation !== store.generation) {
      await this.closeSession(store.customKeyStoreId);
      entry = undefined;
    }
    if (!entry) {
      entry = { generation: store.generation };
      this.open.set(store.customKeyStoreId, entry);
      const created = entry;
      entry.opening = this.openSession(store, created).finally(() => {
        created.opening = undefined;
      });
    }
    if (entry.opening) await entry.opening;
    return entry.session;
  }

  private async openSession(store: CustomKeyStoreRecord, entry: Open): Promise<void> {
    let failure: ConnectionErrorCode;
    const cluster = await getCluster(this.repo, store.accountId, store.clusterId);
    if (!cluster) {
      failure = "CLUSTER_NOT_FOUND";
    } else {
      const pin = this.keystore.unwrap(Buffer.from(store.wrappedPassword, "base64"), passwordContext(store.customKeyStoreId));
      try {
        entry.session = await ClusterSession.open(cluster, pin.toString("utf8"), this.opener);
        await this.resync(store, entry.session);
        this.log(`custom key store ${store.customKeyStoreId} connected to ${cluster.clusterId}: ${entry.session.describeMembers()}`);
        return;
      } catch (error) {
        failure = error instanceof ClusterUnavailable ? error.code : "INTERNAL_ERROR";
        if (!(error instanceof ClusterUnavailable))
          this.log(`custom key store ${store.customKeyStoreId}: ${(error as Error).stack ?? String(error)}`);
      } finally {
        pin.fill(0);
      }
    }
    // FAILED until the operator disconnects it, as in AWS; recorded so every node shows it.
    this.open.delete(store.customKeyStoreId);
    const current = await this.getDoc(store.accountId, store.customKeyStoreId);
    if (current && current.store.desired === "CONNECTED" && current.store.generation === store.generation && !current.store.failure) {
      await this.save(current.doc, { ...current.store, failure }).catch(() => {});
    }
    this.log(`custom key store ${store.customKeyStoreId} failed to connect: ${failure}`);
  }

  private async closeSession(id: string): Promise<void> {
    const entry = this.open.get(id);
    if (!entry) return;
    this.open.delete(id);
    if (entry.opening) await entry.opening;
    await entry.session?.close();
  }

  /** ConnectCustomKeyStore: asks for the connection and opens the tokens (the outcome shows in the state). */
  async connect(doc: DocumentRecord, store: CustomKeyStoreRecord): Promise<void> {
    if (store.failure) {
      throw new ServiceError(
        "CustomKeyStoreInvalidStateException",
        `Custom key store ${store.customKeyStoreId} is FAILED: disconnect it (DisconnectCustomKeyStore), then connect it again.`,
      );
    }
    if (store.desired === "CONNECTED") return; // already connected (or connecting): nothing to do
    const next: CustomKeyStoreRecord = { ...store, desired: "CONNECTED", generation: store.generation + 1 };
    await this.save(doc, next);
    await this.sessionOf(next);
  }

  async disconnect(doc: DocumentRecord, store: CustomKeyStoreRecord): Promise<void> {
    if (store.desired === "DISCONNECTED") {
      throw new ServiceError("CustomKeyStoreInvalidStateException", `Custom key store ${store.customKeyStoreId} is already DISCONNECTED.`);
    }
    await this.save(doc, { ...store, desired: "DISCONNECTED", failure: undefined });
    await this.closeSession(store.customKeyStoreId);
  }

  /** The session of a CONNECTED store; `refusal` when it is not (the caller's error). */
  async connected(
    accountId: string,
    id: string,
    refusal: () => ServiceError,
  ): Promise<{ store: CustomKeyStoreRecord; session: ClusterSession }> {
    const found = await this.getDoc(accountId, id);
    if (!found || found.store.desired !== "CONNECTED" || found.store.failure) throw refusal();
    const session = await this.sessionOf(found.store);
    if (!session || session.reachable() === 0) throw refusal();
    return { store: found.store, session };
  }

  /** Whether the store's keys can be used now: Unavailable otherwise. */
  async isConnected(accountId: string, id: string): Promise<boolean> {
    const found = await this.getDoc(accountId, id);
    return found !== undefined && found.store.desired === "CONNECTED" && !found.store.failure;
  }

  async entry(store: CustomKeyStoreRecord): Promise<CustomKeyStoresListEntry> {
    const { state, errorCode } = await this.connection(store);
    return {
      CustomKeyStoreId: store.customKeyStoreId,
      CustomKeyStoreName: store.name,
      CloudHsmClusterId: store.clusterId,
      TrustAnchorCertificate: store.trustAnchor,
      ConnectionState: state,
      ConnectionErrorCode: errorCode,
      CreationDate: new Date(store.creationDate),
      CustomKeyStoreType: "AWS_CLOUDHSM",
    };
  }

  // ---- keys ------------------------------------------------------------------------------------

  private keyRefusal(key: KeyRecord): () => ServiceError {
    return () =>
      new ServiceError(
        "KMSInvalidStateException",
        `${key.keyId} is unavailable: its custom key store ${key.customKeyStoreId} is not connected.`,
      );
  }

  /**
   * A new key's material, generated in the cluster's tokens: the version record keeps its copy
   * wrapped under the cluster's wrapping key. The store must be CONNECTED.
   */
  async newKeyVersion(accountId: string, id: string, keyId: string): Promise<{ version: KeyVersionRecord; cluster: string }> {
    const { store, session } = await this.connected(
      accountId,
      id,
      () => new ServiceError("CustomKeyStoreInvalidStateException", `Custom key store ${id} is not CONNECTED.`),
    );
    let wrapped: Buffer;
    try {
      wrapped = await session.generateKey(kmsKeyLabel(keyId), uuidToBytes(keyId));
    } catch {
      // The tokens went away under us: the caller's answer, not a 500.
      throw new ServiceError("CustomKeyStoreInvalidStateException", `Custom key store ${id}: no token of its cluster could make the key.`);
    }
    return {
      version: { keyId, version: 1, materialId: randomBytes(32).toString("hex"), wrappedMaterial: wrapped, createdAt: this.clock.now() },
      cluster: store.clusterId,
    };
  }

  /** Undoes newKeyVersion when the key could not be stored: no orphan in the tokens. */
  async discardKey(accountId: string, id: string, keyId: string): Promise<void> {
    const found = await this.getDoc(accountId, id);
    const session = found && this.open.get(id)?.session;
    await session?.destroy(kmsKeyLabel(keyId));
  }

  async encrypt(key: KeyRecord, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    const { session } = await this.connected(key.accountId, key.customKeyStoreId!, this.keyRefusal(key));
    try {
      return await session.encrypt(kmsKeyLabel(key.keyId), plaintext, aad);
    } catch {
      // No token can use the key now (gone, or zeroized): the key is unavailable, never a 500.
      throw this.keyRefusal(key)();
    }
  }

  /** Undefined when the ciphertext does not open (the caller answers InvalidCiphertextException). */
  async decrypt(key: KeyRecord, sealed: Buffer, aad: Buffer): Promise<Buffer | undefined> {
    const { session } = await this.connected(key.accountId, key.customKeyStoreId!, this.keyRefusal(key));
    try {
      return await session.decrypt(kmsKeyLabel(key.keyId), sealed, aad);
    } catch (error) {
      if (error instanceof ClusterUnavailable) throw this.keyRefusal(key)();
      return undefined;
    }
  }

  async random(accountId: string, id: string, length: number): Promise<Buffer> {
    const { session } = await this.connected(
      accountId,
      id,
      () => new ServiceError("CustomKeyStoreInvalidStateException", `Custom key store ${id} is not CONNECTED.`),
    );
    try {
      return await session.random(length);
    } catch {
      throw new ServiceError("CustomKeyStoreInvalidStateException", `Custom key store ${id}: no token of its cluster answered.`);
    }
  }

  /**
   * A key deleted at the end of its window: its material destroyed in every token. A token that
   * cannot be reached now (or a store not connected) gets it destroyed when it is next opened.
   */
  async destroyKey(key: KeyRecord): Promise<void> {
    const found = await this.getDoc(key.accountId, key.customKeyStoreId!);
    if (!found) return;
    const label = kmsKeyLabel(key.keyId);
    let done = false;
    if (found.store.desired === "CONNECTED" && !found.store.failure) {
      const session = await this.sessionOf(found.store);
      done = session !== undefined && (await session.destroy(label));
    }
    if (done) return;
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.getDoc(key.accountId, key.customKeyStoreId!);
      if (!current) return;
      const pending = new Set(current.store.pendingDestroy ?? []);
      pending.add(label);
      try {
        await this.save(current.doc, { ...current.store, pendingDestroy: [...pending] });
        return;
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
      }
    }
  }

  /**
   * Brings the tokens in line with the repository: keys made while a token was away are copied
   * into it, keys deleted meanwhile are destroyed.
   */
  private async resync(store: CustomKeyStoreRecord, session: ClusterSession): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listKeys(store.accountId, store.region, after, 100);
      for (const key of page.items) {
        if (key.customKeyStoreId !== store.customKeyStoreId) continue;
        const version = await this.repo.getKeyVersion(key.keyId, 1);
        if (version) await session.ensure(kmsKeyLabel(key.keyId), uuidToBytes(key.keyId), version.wrappedMaterial);
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    if (store.pendingDestroy?.length) {
      const left: string[] = [];
      for (const label of store.pendingDestroy) if (!(await session.destroy(label))) left.push(label);
      const current = await this.getDoc(store.accountId, store.customKeyStoreId);
      if (current) await this.save(current.doc, { ...current.store, pendingDestroy: left.length ? left : undefined }).catch(() => {});
    }
  }

  /**
   * Tries again the tokens that were gone, in every open session, and copies into those that came
   * back what they missed. The timer calls it; tests call it directly.
   */
  async refresh(): Promise<void> {
    for (const [id, entry] of [...this.open]) {
      const session = entry.session;
      if (!session) continue;
      if ((await session.reopenAbsent()) === 0) continue;
      const found = await this.getDoc(session.cluster.accountId, id);
      if (found) await this.resync(found.store, session);
      this.log(`custom key store ${id}: ${session.describeMembers()}`);
    }
  }

  /** Reachable tokens of a cluster, as this process sees them (DescribeClusters). */
  tokensOf(cluster: ClusterRecord): { up: boolean }[] | undefined {
    for (const entry of this.open.values()) {
      if (entry.session?.cluster.clusterId === cluster.clusterId) return entry.session.status();
    }
    return undefined;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.log(`custom key stores: ${(e as Error).stack ?? String(e)}`));
    }, intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const id of [...this.open.keys()]) await this.closeSession(id);
  }
}
