/**
 * The KMS management layer shared by the operations: finding keys the caller names, enforcing
 * key states, and the symmetric cryptography on key versions (material unwrapped by the key
 * store, cached as KeyObjects, never written anywhere unwrapped).
 */
import { createSecretKey, randomBytes, randomUUID, type KeyObject } from "node:crypto";
import type { KeyMetadata } from "@aws-sdk/client-kms";
import type { CallContext } from "../call.js";
import { DAY_MS, type Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { AesKey } from "../crypto/aes-gcm.js";
import { blobHeaderAndAad, blobSealedPart, openBlob, parseBlobHeader, sealBlob } from "../crypto/ciphertext-blob.js";
import { encodeEncryptionContext, type EncryptionContext } from "../crypto/encryption-context.js";
import type { KeyStore } from "../keystore/keystore.js";
import { takeKey } from "../keystore/software.js";
import { oaepDecrypt, oaepEncrypt, oaepMaxPlaintext, takePrivateKey } from "../crypto/asymmetric.js";
import type { Repository } from "../store/repository.js";
import { cacheGeneration, readKeyVersion } from "../store/cached.js";
import type { CacheStats } from "../lru.js";
import { MaterialCache } from "./material-cache.js";
import type { KeyRecord, KeyVersionRecord } from "../store/records.js";
import { aliasArn, keyArn, parseKeyReference } from "./arns.js";
import { algorithmsOf, KEY_SPECS } from "./key-specs.js";
import { keyMetadata } from "./metadata.js";
import { requireState, type StateRule } from "./key-states.js";
import { accessDenied, type Authorizer } from "../iam/authorizer.js";
import { noResourcePolicyAllows } from "../iam/authorize.js";
import { compilePolicy, type CompiledPolicy } from "../iam/policy.js";
import type { ContextValues } from "../iam/conditions.js";
import { contextOf, kmsConditions, readsCostlyKeys } from "./conditions.js";
import { Grants, parseGrantToken, type GrantConstraints } from "./grants.js";
import type { CustomKeyStores } from "./custom-key-stores/stores.js";

/** Where GetKeyLastUsage reads from: the audit trail. */
export interface KeyUsageLog {
  /** The newest successful cryptographic call on the key. */
  lastUse(arn: string): Promise<{ eventId: string; eventName: string; eventTime: number; requestId: string } | undefined>;
  trackingStart(): Promise<number | undefined>;
}

export interface KmsDependencies {
  repo: Repository;
  keystore: KeyStore;
  clock: Clock;
  authorizer: Authorizer;
  usage?: KeyUsageLog;
  /** Unwrapped key versions kept, the least recently used aging out past it (default KEY_CACHE_SIZE). */
  keyCacheSize?: number;
  /** Custom key stores: keys whose material is in an HSM cluster (issue 20). */
  customKeyStores?: CustomKeyStores;
}

export interface ResolveOptions {
  /** Whether this operation accepts alias names and alias ARNs (cryptographic operations and DescribeKey do). */
  aliases: boolean;
  state: StateRule;
  /** The action to authorize, when not the call's own (ReEncrypt is kms:ReEncryptFrom and kms:ReEncryptTo). */
  action?: string;
  /**
   * Whether the operation may act on another account's key, named by its ARN ("Cross-account use:
   * Yes" in the API reference: the cryptographic operations, DescribeKey, GetPublicKey,
   * GetKeyRotationStatus and the grant operations). The others refuse another account's key,
   * whatever its key policy allows, as AWS documents.
   */
  crossAccount?: boolean;
}

/** Unwrapped key versions kept by default (KEYHOLD_KEY_CACHE_SIZE). */
export const KEY_CACHE_SIZE = 100_000;
export const KEY_RESOURCE_TYPE = "AWS::KMS::Key";

export class KmsService {
  readonly repo: Repository;
  readonly keystore: KeyStore;
  readonly clock: Clock;
  readonly usage: KeyUsageLog | undefined;
  readonly authorizer: Authorizer;
  readonly grants: Grants;
  readonly customKeyStores: CustomKeyStores | undefined;
  /**
   * Unwrapped key versions (src/kms/material-cache.ts): AES-256 material in the cache's own slab,
   * zeroed when it ages out, lent to synchronous code only (withMaterial); other material as
   * KeyObjects. A version's material never changes, so the cache cannot go stale.
   */
  private readonly materials: MaterialCache;

  constructor(deps: KmsDependencies) {
    this.repo = deps.repo;
    this.keystore = deps.keystore;
    this.clock = deps.clock;
    this.usage = deps.usage;
    this.authorizer = deps.authorizer;
    this.grants = new Grants(deps.repo);
    this.customKeyStores = deps.customKeyStores;
    this.materials = new MaterialCache(deps.keyCacheSize ?? KEY_CACHE_SIZE);
  }

  /** Hits, misses and evictions of the unwrapped-material cache. */
  materialCacheStats(): CacheStats {
    return this.materials.stats();
  }

  arnOf(key: KeyRecord): string {
    return keyArn(key.region, key.accountId, key.keyId);
  }

  /**
   * Finds the key the caller names and checks that the caller may perform the action on it and
   * that its state allows it. Key ids and alias names are looked up in the caller's account and
   * region; a key ARN or alias ARN may name another account's key where the operation allows
   * cross-account use (`options.crossAccount`), never another region's. For the other
   * operations another account's key is refused (AccessDeniedException) whatever its policy says.
   */
  async resolveKey(call: CallContext, identifier: string, options: ResolveOptions): Promise<KeyRecord> {
    const ref = parseKeyReference(identifier);
    const owner = ref.accountId ?? call.accountId;
    if (ref.region !== undefined && ref.region !== call.region) {
      throw new ServiceError("NotFoundException", `${ref.kind === "key" ? "Key" : "Alias"} '${identifier}' does not exist`);
    }
    let keyId: string;
    if (ref.kind === "alias") {
      if (!options.aliases) {
        throw new ServiceError("NotFoundException", `Invalid keyId ${identifier}: this operation takes a key ID or key ARN, not an alias.`);
      }
      const alias = await this.repo.getAlias(owner, call.region, ref.aliasName);
      if (!alias) throw new ServiceError("NotFoundException", `Alias ${aliasArn(call.region, owner, ref.aliasName)} is not found.`);
      keyId = alias.targetKeyId;
    } else {
      keyId = ref.keyId;
    }
    const key = await this.repo.getKey(keyId);
    if (!key || key.accountId !== owner || key.region !== call.region) {
      throw new ServiceError("NotFoundException", `Key '${keyArn(call.region, owner, keyId)}' does not exist`);
    }
    const arn = this.arnOf(key);
    if (!call.trail.resources.some((r) => r.arn === arn)) call.trail.resources.push({ arn, type: KEY_RESOURCE_TYPE });
    const action = options.action ?? call.action;
    // Another account's key serves only the operations AWS lets cross accounts: for the others no
    // policy of the key's account has any effect, so the denial reads as if none allowed it.
    if (key.accountId !== call.accountId && options.crossAccount !== true) {
      throw accessDenied(call, action, arn, noResourcePolicyAllows(action));
    }
    // Permission before state: a caller without access learns nothing about the key's state.
    await this.authorize(call, key, action);
    if (key.customKeyStoreId !== undefined) {
      // CloudTrail names the custom key store of the key a call used (additionalEventData).
      call.trail.additional = { ...call.trail.additional, customKeyStoreId: key.customKeyStoreId };
      requireState(options.state, await this.keyState(key), arn);
    } else {
      requireState(options.state, key.keyState, arn);
    }
    return key;
  }

  // ---- custom key stores (issue 20): keys whose material is in an HSM cluster -----------------

  /**
   * The key's state as AWS shows it: a key in a custom key store that is not connected is
   * Unavailable (unless it is pending deletion), and its cryptographic operations are refused.
   */
  async keyState(key: KeyRecord): Promise<string> {
    if (key.customKeyStoreId === undefined || key.keyState === "PendingDeletion") return key.keyState;
    const connected = (await this.customKeyStores?.isConnected(key.accountId, key.customKeyStoreId)) ?? false;
    return connected ? key.keyState : "Unavailable";
  }

  /**
   * The key policy, the caller's identity policies and the key's grants decide, as AWS decides:
   * an explicit Deny anywhere wins; otherwise the key policy must allow the caller, directly or
   * by delegating to the account's IAM policies; otherwise a grant may.
   */
  async authorize(call: CallContext, key: KeyRecord, action: string, policy: CompiledPolicy | undefined = keyPolicy(key)): Promise<void> {
    const tokens = (call.trail.input as { GrantTokens?: string[] } | undefined)?.GrantTokens;
    for (const token of tokens ?? []) parseGrantToken(token);
    const resource = this.arnOf(key);
    const decision = await this.authorizer.check(call, {
      action,
      resource,
      resourceAccount: key.accountId,
      resourcePolicy: policy,
      resourcePolicyRequired: true,
      context: () => kmsConditions(call, action, key),
      enrich: (policies, into) => this.enrich(key, policies, into),
    });
    if (decision.allowed) return;
    const input = (call.trail.input ?? {}) as Record<string, unknown>;
    if (
      !decision.explicit &&
      (await this.grants.allows(call, key, action, contextOf(input, action), {
        operations: input.Operations as string[] | undefined,
        constraints: input.Constraints as GrantConstraints | undefined,
      }))
    )
      return;
    throw accessDenied(call, action, resource, decision.reason);
  }

  /**
   * Actions on no key (CreateKey, ListKeys, …): the caller's identity policies decide, on "*" or
   * on the resource the action names (ListRetirableGrants: the retiring principal, which must be
   * of the caller's account); `action` when it is not the call's own (CreateKey's Tags need
   * kms:TagResource).
   */
  async authorizeAccount(
    call: CallContext,
    { resource = "*", resourceAccount, action = call.action }: { resource?: string; resourceAccount?: string; action?: string } = {},
  ): Promise<void> {
    await this.authorizer.require(call, {
      action,
      resource,
      resourceAccount,
      context: () => kmsConditions(call, action, undefined),
    });
  }

  /**
   * The alias half of CreateAlias, UpdateAlias and DeleteAlias: the caller's identity policies
   * must allow the action on the alias's ARN (an alias has no policy of its own); the key half is
   * the key policy's, checked on each key the call affects. CloudTrail lists the alias among the
   * event's resources, typed AWS::KMS::Key.
   */
  async authorizeAlias(call: CallContext, aliasName: string): Promise<void> {
    const arn = aliasArn(call.region, call.accountId, aliasName);
    call.trail.resources.push({ arn, type: KEY_RESOURCE_TYPE });
    await this.authorizeAccount(call, { resource: arn, resourceAccount: call.accountId });
  }

  /** Adds the key's tags and aliases when a policy in play reads them; nothing to wait for otherwise. */
  private enrich(key: KeyRecord, policies: readonly CompiledPolicy[], into: ContextValues): Promise<void> | undefined {
    const costly = readsCostlyKeys(policies);
    return costly.tags || costly.aliases ? this.addCostlyKeys(key, costly, into) : undefined;
  }

  private async addCostlyKeys(key: KeyRecord, costly: { tags: boolean; aliases: boolean }, into: ContextValues): Promise<void> {
    if (costly.tags) {
      const tags = await this.repo.listTags(key.keyId, undefined, 1000);
      for (const t of tags.items) into.set(`aws:ResourceTag/${t.TagKey}`, t.TagValue);
    }
    if (costly.aliases) {
      const aliases = await this.repo.listAliases(key.accountId, key.region, key.keyId, undefined, 1000);
      into.set(
        "kms:ResourceAliases",
        aliases.items.map((a) => a.aliasName),
      );
    }
  }

  // ---- key material -------------------------------------------------------------------------

  /** Fresh random material for a new key version, wrapped for storage. */
  newVersion(keyId: string, keySpec: string, version: number, rotationType?: KeyVersionRecord["rotationType"]): KeyVersionRecord {
    const spec = KEY_SPECS[keySpec];
    if (!spec) throw new Error(`no material generator for ${keySpec}`);
    const material = spec.generate();
    try {
      return {
        keyId,
        version,
        materialId: randomBytes(32).toString("hex"),
        wrappedMaterial: this.keystore.wrap(material, materialContext(keyId, version)),
        createdAt: this.clock.now(),
        rotationType,
      };
    } finally {
      material.fill(0);
    }
  }

  /**
   * Lends the key version's material to `use` with the version's materialId: a view of its raw
   * bytes (AES-256) or its KeyObject (key pairs, HMAC keys). `use` runs synchronously and must not
   * keep a raw view: the cache zeroes and reuses the slot once it ages out, which may happen at the
   * next await. Undefined when the version does not exist.
   *
   * A cached entry is served without reading the version record while no record this process
   * caches has changed since it was loaded (the repository's cache generation): its version can
   * only have been deleted or replaced by a change that moved it. Otherwise the version is read
   * again, and an entry whose version is gone, or holds other material, is dropped.
   */
  async withMaterial<T>(keyId: string, version: number, use: (key: AesKey | KeyObject, materialId: string) => T): Promise<T | undefined> {
    const generation = cacheGeneration(this.repo) ?? -1;
    const hit = this.materials.find(keyId, version);
    if (hit >= 0 && generation !== -1 && this.materials.generation(hit) === generation) {
      return use(this.materials.lend(hit), this.materials.materialId(hit));
    }
    // A version about to be unwrapped is read past the repository's cache (readKeyVersion): the
    // material cache keeps its materialId. One whose entry is only checked again is read through it.
    const record = hit >= 0 ? await this.repo.getKeyVersion(keyId, version) : await readKeyVersion(this.repo, keyId, version);
    // The slot may have aged out or been replaced during the read: look again.
    let slot = this.materials.peek(keyId, version);
    if (!record) {
      if (slot >= 0) this.materials.remove(slot);
      return undefined;
    }
    if (slot >= 0 && this.materials.materialId(slot) === record.materialId) {
      this.materials.setGeneration(slot, generation);
      return use(this.materials.lend(slot), record.materialId);
    }
    const owner = await this.repo.getKey(keyId);
    const bytes = this.keystore.unwrap(record.wrappedMaterial, materialContext(keyId, version));
    // Symmetric, HMAC and ML-DSA material is raw bytes (ML-DSA's is the seed); key pairs are PKCS#8.
    // AES-256 material goes to the cache's slab; the rest is held as KeyObjects.
    const kind = KEY_SPECS[owner?.keySpec ?? ""]?.kind;
    try {
      const material =
        kind === "aes" && bytes.length === 32
          ? bytes
          : kind === "aes" || kind === "hmac" || kind === "mldsa"
            ? takeKey(bytes)
            : takePrivateKey(bytes);
      // The caller's key id string (its key record's) is the index's key: no copy per entry.
      slot = this.materials.put(keyId, version, record.materialId, generation, material);
    } finally {
      bytes.fill(0);
    }
    return use(this.materials.lend(slot), record.materialId);
  }

  forgetMaterial(keyId: string): void {
    this.materials.forget(keyId);
  }

  /** Encrypts under the key's current version. */
  async encrypt(key: KeyRecord, plaintext: Buffer, context: EncryptionContext | undefined): Promise<{ blob: Buffer; materialId: string }> {
    if (key.customKeyStoreId !== undefined) return this.encryptInCluster(key, plaintext, context);
    const aad = encodeEncryptionContext(context);
    const sealed = await this.withMaterial(key.keyId, key.currentVersion, (material, materialId) => ({
      blob: sealBlob(material, { keyId: key.keyId, keyVersion: key.currentVersion }, plaintext, aad),
      materialId,
    }));
    if (!sealed) throw new Error(`key ${key.keyId} has no version ${key.currentVersion}`);
    return sealed;
  }

  /**
   * Decrypts a ciphertext blob for the caller. `expectedKeyId` is the KeyId the caller named, if
   * any: naming another key than the one in the blob is IncorrectKeyException. Every failure of
   * the ciphertext itself is the one InvalidCiphertextException.
   */
  async decrypt(
    call: CallContext,
    blob: Buffer,
    context: EncryptionContext | undefined,
    expectedKeyId: string | undefined,
    dryRun = false,
    action = call.action,
  ): Promise<{ key: KeyRecord; plaintext: Buffer; materialId: string }> {
    const header = parseBlobHeader(blob);
    let key: KeyRecord;
    if (expectedKeyId !== undefined) {
      const named = await this.resolveKey(call, expectedKeyId, { aliases: true, state: "any", action, crossAccount: true });
      if (named.keyId !== header.keyId) throw new ServiceError("IncorrectKeyException");
      key = named;
    } else {
      const found = await this.repo.getKey(header.keyId);
      // The blob names its key, which may be another account's (cross-account Decrypt); the key policy decides.
      if (!found || found.region !== call.region) throw new ServiceError("InvalidCiphertextException");
      key = found;
      call.trail.resources.push({ arn: this.arnOf(key), type: KEY_RESOURCE_TYPE });
      await this.authorize(call, key, action);
    }
    if (key.customKeyStoreId !== undefined) call.trail.additional = { ...call.trail.additional, customKeyStoreId: key.customKeyStoreId };
    requireState("cryptographic", key.customKeyStoreId === undefined ? key.keyState : await this.keyState(key), this.arnOf(key));
    if (key.keyUsage !== "ENCRYPT_DECRYPT") throw this.wrongUsage(key, action === "kms:Decrypt" ? "Decrypt" : "ReEncrypt");
    if (dryRun) throw new ServiceError("DryRunOperationException");
    if (key.customKeyStoreId !== undefined) return this.decryptInCluster(key, blob, header.keyVersion, context);
    const aad = encodeEncryptionContext(context);
    const opened = await this.withMaterial(key.keyId, header.keyVersion, (material, materialId) => ({
      key,
      plaintext: openBlob(material, blob, aad),
      materialId,
    }));
    if (!opened) throw new ServiceError("InvalidCiphertextException");
    return opened;
  }

  /** The same blob format, sealed by the key in the cluster's tokens (docs/hsm.md). */
  private async encryptInCluster(key: KeyRecord, plaintext: Buffer, context: EncryptionContext | undefined) {
    const version = await this.repo.getKeyVersion(key.keyId, key.currentVersion);
    if (!version) throw new Error(`key ${key.keyId} has no version ${key.currentVersion}`);
    const { head, aad } = blobHeaderAndAad({ keyId: key.keyId, keyVersion: key.currentVersion }, encodeEncryptionContext(context));
    const sealed = await this.customKeyStores!.encrypt(key, plaintext, aad);
    return { blob: Buffer.concat([head, sealed]), materialId: version.materialId };
  }

  private async decryptInCluster(key: KeyRecord, blob: Buffer, keyVersion: number, context: EncryptionContext | undefined) {
    const version = await this.repo.getKeyVersion(key.keyId, keyVersion);
    if (!version) throw new ServiceError("InvalidCiphertextException");
    const { sealed, aad } = blobSealedPart(blob, encodeEncryptionContext(context));
    const plaintext = await this.customKeyStores!.decrypt(key, sealed, aad);
    if (!plaintext) throw new ServiceError("InvalidCiphertextException");
    return { key, plaintext, materialId: version.materialId };
  }

  /**
   * Decrypts a blob of one of keyhold's own service keys (the SSE-S3 key), for the service that
   * owns it: no caller to authorize, but the key must belong to `owner`. Undefined when the blob
   * is not such a key's, or does not open with this context.
   */
  async decryptForService(owner: string, blob: Buffer, context: EncryptionContext): Promise<Buffer | undefined> {
    let header;
    try {
      header = parseBlobHeader(blob);
    } catch {
      return undefined;
    }
    const key = await this.repo.getKey(header.keyId);
    if (!key || key.accountId !== owner) return undefined;
    const aad = encodeEncryptionContext(context);
    return this.withMaterial(key.keyId, header.keyVersion, (material) => {
      try {
        return openBlob(material, blob, aad);
      } catch {
        return undefined;
      }
    });
  }

  /**
   * A key used for what its usage does not allow: InvalidKeyUsageException in AWS's words
   * ("<key ARN> key usage is SIGN_VERIFY which is not valid for Encrypt."), which tools match on.
   */
  wrongUsage(key: KeyRecord, operation: string): ServiceError {
    return new ServiceError(
      "InvalidKeyUsageException",
      `${this.arnOf(key)} key usage is ${key.keyUsage} which is not valid for ${operation}.`,
    );
  }

  /** The named algorithm, when the key's spec and usage support it; InvalidKeyUsageException otherwise. */
  requireAlgorithm(key: KeyRecord, usage: string, algorithm: string, what: string, operation: string): string {
    if (key.keyUsage !== usage) throw this.wrongUsage(key, operation);
    if (!algorithmsOf(key.keySpec, usage).includes(algorithm)) {
      throw new ServiceError(
        "InvalidKeyUsageException",
        `${this.arnOf(key)} (${key.keySpec}, ${key.keyUsage}) does not support ${what} ${algorithm}.`,
      );
    }
    return algorithm;
  }

  requireEncryptionAlgorithm(key: KeyRecord, algorithm: string | undefined, operation: string): string {
    if (key.keyUsage !== "ENCRYPT_DECRYPT") throw this.wrongUsage(key, operation);
    const allowed = algorithmsOf(key.keySpec, key.keyUsage);
    const chosen = algorithm ?? "SYMMETRIC_DEFAULT";
    if (!allowed.includes(chosen)) {
      throw new ServiceError("InvalidKeyUsageException", `${this.arnOf(key)} does not support encryption algorithm ${chosen}.`);
    }
    return chosen;
  }

  /**
   * RSA-OAEP under an asymmetric ENCRYPT_DECRYPT key. KMS takes no encryption context with
   * asymmetric keys and bounds the plaintext by the key size.
   */
  async encryptAsymmetric(key: KeyRecord, algorithm: string, plaintext: Buffer, context: EncryptionContext | undefined): Promise<Buffer> {
    if (context !== undefined && Object.keys(context).length > 0) {
      throw new ServiceError("ValidationException", "EncryptionContext is not supported with asymmetric KMS keys.");
    }
    const bits = Number(key.keySpec.slice("RSA_".length));
    const max = oaepMaxPlaintext(algorithm, bits);
    if (plaintext.length > max) {
      throw new ServiceError("ValidationException", `With ${key.keySpec} and ${algorithm} the plaintext can be at most ${max} bytes.`);
    }
    return oaepEncrypt(algorithm, await this.singleKey(key), plaintext);
  }

  async decryptAsymmetric(
    key: KeyRecord,
    algorithm: string | undefined,
    blob: Buffer,
    context: EncryptionContext | undefined,
  ): Promise<Buffer> {
    requireState("cryptographic", key.keyState, this.arnOf(key));
    if (algorithm === undefined || algorithm === "SYMMETRIC_DEFAULT") {
      throw new ServiceError(
        "InvalidKeyUsageException",
        `${this.arnOf(key)} is asymmetric: name the EncryptionAlgorithm it was encrypted with.`,
      );
    }
    this.requireEncryptionAlgorithm(key, algorithm, "Decrypt");
    if (context !== undefined && Object.keys(context).length > 0) {
      throw new ServiceError("ValidationException", "EncryptionContext is not supported with asymmetric KMS keys.");
    }
    const plaintext = oaepDecrypt(algorithm, await this.singleKey(key), blob);
    if (!plaintext) throw new ServiceError("InvalidCiphertextException");
    return plaintext;
  }

  /**
   * Asymmetric ciphertext carries no header: the caller names the key and the algorithm (as in
   * AWS). When `keyId` names an asymmetric key, decrypts with it; otherwise returns undefined and
   * the blob's own header names its key.
   */
  async decryptWithNamedKey(
    call: CallContext,
    keyId: string | undefined,
    algorithm: string | undefined,
    blob: Buffer,
    context: EncryptionContext | undefined,
    action = call.action,
  ): Promise<{ key: KeyRecord; plaintext: Buffer } | undefined> {
    if (keyId === undefined) return undefined;
    const named = await this.resolveKey(call, keyId, { aliases: true, state: "any", action, crossAccount: true });
    if (!this.isAsymmetric(named)) return undefined;
    return { key: named, plaintext: await this.decryptAsymmetric(named, algorithm, blob, context) };
  }

  isAsymmetric(key: KeyRecord): boolean {
    const kind = KEY_SPECS[key.keySpec]?.kind;
    return kind === "rsa" || kind === "ec" || kind === "ed25519" || kind === "mldsa";
  }

  /** The private key (or secret key) of a key that has a single version: asymmetric and HMAC keys. */
  async singleKey(key: KeyRecord): Promise<KeyObject> {
    // A raw (AES) key lent by the cache is copied into a KeyObject of its own: the caller may keep it.
    const m = await this.withMaterial(key.keyId, key.currentVersion, (material) =>
      Buffer.isBuffer(material) ? createSecretKey(material) : material,
    );
    if (!m) throw new Error(`key ${key.keyId} has no version ${key.currentVersion}`);
    return m;
  }

  async describe(key: KeyRecord): Promise<KeyMetadata> {
    const current = await this.repo.getKeyVersion(key.keyId, key.currentVersion);
    const metadata = keyMetadata(key, current?.materialId);
    if (key.customKeyStoreId === undefined) return metadata;
    // A key in a custom key store names the store and its cluster; Unavailable while it is not connected.
    const store = await this.customKeyStores?.getDoc(key.accountId, key.customKeyStoreId);
    const keyState = await this.keyState(key);
    return {
      ...metadata,
      KeyState: keyState as KeyMetadata["KeyState"],
      CustomKeyStoreId: key.customKeyStoreId,
      CloudHsmClusterId: store?.store.clusterId,
    };
  }

  newKeyId(): string {
    return randomUUID();
  }

  /**
   * An AWS managed key (`alias/aws/s3`, `alias/aws/secretsmanager`, …) of the caller's account and
   * region, made on first use as the AWS service that owns it does: symmetric, KeyManager AWS,
   * rotated yearly. When two requests race to make it, the alias decides: the loser's key stays
   * unused (a spare) and both use the winner's.
   */
  async awsManagedKey(call: CallContext, managed: { alias: string; description: string; policy: string }): Promise<string> {
    const alias = await this.repo.getAlias(call.accountId, call.region, managed.alias);
    if (alias) return alias.targetKeyId;
    const keyId = this.newKeyId();
    const now = this.clock.now();
    const record: KeyRecord = {
      keyId,
      accountId: call.accountId,
      region: call.region,
      description: managed.description,
      keyState: "Enabled",
      keySpec: "SYMMETRIC_DEFAULT",
      keyUsage: "ENCRYPT_DECRYPT",
      origin: "AWS_KMS",
      keyManager: "AWS",
      policy: managed.policy,
      creationDate: now,
      rotationEnabled: true,
      rotationPeriodInDays: 365,
      nextRotationDate: now + 365 * DAY_MS,
      onDemandRotations: 0,
      currentVersion: 1,
    };
    await this.repo.createKey(record, this.newVersion(keyId, "SYMMETRIC_DEFAULT", 1), []);
    const created = await this.repo.createAlias({
      accountId: call.accountId,
      region: call.region,
      aliasName: managed.alias,
      targetKeyId: keyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    if (!created) return (await this.repo.getAlias(call.accountId, call.region, managed.alias))!.targetKeyId;
    return keyId;
  }
}

/** Binds wrapped material to its key and version: a wrapped value moved to another row won't open. */
export function materialContext(keyId: string, version: number): string {
  return `keyhold:key-material:v1:${keyId}:${version}`;
}

const compiledOf = new WeakMap<KeyRecord, CompiledPolicy | null>();

/**
 * The key's policy, compiled. Cached per record (records are cached and frozen, so this is one
 * lookup per request) and by text. A stored policy that no longer compiles allows nothing.
 */
export function keyPolicy(key: KeyRecord): CompiledPolicy | undefined {
  let compiled = compiledOf.get(key);
  if (compiled === undefined) {
    try {
      compiled = compilePolicy(key.policy, "resource");
    } catch {
      compiled = null;
    }
    compiledOf.set(key, compiled);
  }
  return compiled ?? undefined;
}
