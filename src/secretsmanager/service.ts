/**
 * The Secrets Manager layer shared by the operations: secrets (documents, one per name in an
 * account and region), their versions and staging labels, authorization with Secrets Manager's
 * actions and condition keys and the secret's resource policy, and the envelope encryption of
 * every version under the secret's KMS key, asked of KMS on the caller's behalf
 * (kms:ViaService secretsmanager.<region>.amazonaws.com) as S3 asks it for SSE-KMS.
 * docs/secretsmanager.md.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import { DAY_MS, type Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import { accessDenied, type Authorizer } from "../iam/authorizer.js";
import { ContextValues, type ConditionValue } from "../iam/conditions.js";
import { compilePolicy, type CompiledPolicy } from "../iam/policy.js";
import { keyArn } from "../kms/arns.js";
import type { KmsService } from "../kms/service.js";
import type { Repository } from "../store/repository.js";
import type { DocumentRecord, KeyRecord } from "../store/records.js";
import { open as openSealed, seal } from "../crypto/aes-gcm.js";
import type { RotationRules } from "./rotation/schedule.js";
import type { RotationRunner } from "./rotation/runner.js";
import type { Replicator } from "./replication.js";
import { AWS_REGIONS } from "../regions.js";

export const SECRET_RESOURCE_TYPE = "AWS::SecretsManager::Secret";
export const MANAGED_KEY_ALIAS = "alias/aws/secretsmanager";
const KIND = "secretsmanager-secret";
/** The ref of a secret scheduled for deletion: the scheduler finds them by it. */
export const DELETION_REF = "secretsmanager-deletion";
/** The ref of a secret with rotation turned on: the scheduler finds those due by it. */
export const ROTATION_REF = "secretsmanager-rotation";

/** What may be done to a replica: reading it, and promoting it. */
const REPLICA_ACTIONS: ReadonlySet<string> = new Set([
  "secretsmanager:GetSecretValue",
  "secretsmanager:DescribeSecret",
  "secretsmanager:ListSecretVersionIds",
  "secretsmanager:GetResourcePolicy",
  "secretsmanager:StopReplicationToReplica",
]);

export const CURRENT = "AWSCURRENT";
export const PREVIOUS = "AWSPREVIOUS";
export const PENDING = "AWSPENDING";
/** Secrets Manager keeps about 100 versions; versions without a label beyond that are removed once a day old. */
export const MAX_VERSIONS = 100;
/** Staging labels per version (the model's VersionStages max) and tags per secret (the quota). */
export const MAX_LABELS_PER_VERSION = 20;
export const MAX_TAGS = 50;

export interface StoredVersion {
  id: string;
  stages: string[];
  createdAt: number;
  lastAccessedAt?: number;
  binary: boolean;
  /** The KMS key the version's data key is encrypted under. */
  kmsKeyArn: string;
  /** The version's data key: a KMS ciphertext blob (base64) bound to {SecretARN, SecretVersionId}. */
  wrappedKey: string;
  /** The value sealed with AES-256-GCM under the data key (base64: IV, ciphertext, tag); AAD the ARN and version id. */
  sealed: string;
}

export interface SecretBody {
  arn: string;
  name: string;
  region: string;
  description?: string;
  /** The KMS key as the caller named it; none: the account's aws/secretsmanager key. */
  kmsKeyId?: string;
  tags: { Key: string; Value: string }[];
  createdAt: number;
  lastChangedAt: number;
  lastAccessedAt?: number;
  /** When DeleteSecret was called, and when the secret is purged. */
  deletedAt?: number;
  deletionDate?: number;
  policy?: string;
  versions: StoredVersion[];
  rotation?: RotationState;
  /** On a primary: its replicas in other regions. */
  replicas?: ReplicaState[];
  /** On a replica: the primary's region (the replica is read-only until StopReplicationToReplica). */
  primaryRegion?: string;
}

/** One replica of a primary, as ReplicationStatus reports it. */
export interface ReplicaState {
  region: string;
  /** The key as the caller named it for that region; none: that region's aws/secretsmanager. */
  kmsKeyId?: string;
  status: "InSync" | "Failed" | "InProgress";
  statusMessage?: string;
}

/** A secret's rotation: its function and schedule, and a rotation begun but not finished. */
export interface RotationState {
  lambdaArn: string;
  rules?: RotationRules;
  enabled: boolean;
  lastRotatedAt?: number;
  nextRotationAt?: number;
  pending?: PendingRotation;
  /**
   * Alternating users: the master secret the caller of RotateSecret was allowed to read. The
   * rotator uses no other, so a writer of the secret's value cannot point it at a secret they cannot read.
   */
  masterArn?: string;
}

export interface PendingRotation {
  /** The new version's id (the rotation's ClientRequestToken). */
  token: string;
  startedAt: number;
  attempts: number;
  /** A node running the rotation holds it until then; another node takes it over only after. */
  claimedUntil?: number;
  /** The step that failed last, why, and when the scheduler tries again. */
  failedStep?: string;
  failure?: string;
  retryAt?: number;
}

export interface Secret {
  accountId: string;
  doc: DocumentRecord;
  body: SecretBody;
}

export interface SecretsManagerDependencies {
  repo: Repository;
  kms: KmsService;
  authorizer: Authorizer;
  clock: Clock;
}

const ARN = /^arn:aws:secretsmanager:([a-z0-9-]{1,32}):(\d{12}):secret:(.{1,512})$/;
/** The characters a secret name may hold (AWS: ASCII letters, digits and /_+=.@-). */
export const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export class SecretsManagerService {
  readonly repo: Repository;
  readonly kms: KmsService;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  /** Runs rotations; set by the server once the services it needs (IAM, the audit) exist. */
  rotation: RotationRunner | undefined;
  /** Keeps replicas in step with their primary; set by the server. */
  replicator: Replicator | undefined;
  /** The regions a replica may be made in (the server's). */
  regions: ReadonlySet<string> = AWS_REGIONS;

  constructor(deps: SecretsManagerDependencies) {
    this.repo = deps.repo;
    this.kms = deps.kms;
    this.authorizer = deps.authorizer;
    this.clock = deps.clock;
  }

  // ---- secrets ------------------------------------------------------------------------------

  /** A new secret's ARN: its name and a random 6-character suffix, so a re-created name is a new ARN. */
  newArn(call: CallContext, name: string): string {
    const bytes = randomBytes(6);
    let suffix = "";
    for (const b of bytes) suffix += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length];
    return `arn:aws:secretsmanager:${call.region}:${call.accountId}:secret:${name}-${suffix}`;
  }

  private static docName(region: string, name: string): string {
    return `${region}/${name}`;
  }

  async load(accountId: string, region: string, name: string): Promise<Secret | undefined> {
    const doc = await this.repo.getDocument(KIND, accountId, SecretsManagerService.docName(region, name));
    return doc && { accountId, doc, body: parsedBody(doc) };
  }

  /**
   * The secret a SecretId names: its name in the caller's account, or its ARN (full, or partial
   * without the random suffix), which may name another account's secret (its resource policy
   * then decides). Another region's ARN names nothing here.
   */
  async find(call: CallContext, secretId: string): Promise<Secret | undefined> {
    const m = ARN.exec(secretId);
    if (!m) return this.load(call.accountId, call.region, secretId);
    const [, region, account, rest] = m as unknown as [string, string, string, string];
    if (region !== call.region) return undefined;
    // A full ARN names one secret exactly: a re-created secret of the same name has another suffix.
    if (/-[A-Za-z0-9]{6}$/.test(rest)) {
      const full = await this.load(account, region, rest.slice(0, -7));
      if (full && full.body.arn === secretId) return full;
    }
    return this.load(account, region, rest);
  }

  /**
   * The secret the caller names, once the caller may perform `action` on it. A secret that does
   * not exist is ResourceNotFoundException only for a caller allowed the action on a secret of
   * that name; anyone else is refused as if it existed, so refusals tell nothing about existence.
   */
  async require(call: CallContext, secretId: string, action: string, conditions: Conditions = {}): Promise<Secret> {
    const secret = await this.find(call, secretId);
    if (!secret) {
      const m = ARN.exec(secretId);
      const account = m ? m[2]! : call.accountId;
      const name = m ? m[3]! : secretId;
      const pattern = `arn:aws:secretsmanager:${call.region}:${account}:secret:${name}-??????`;
      const decision = await this.authorizer.check(call, {
        action,
        resource: pattern,
        resourceAccount: account,
        context: () => this.context(call, undefined, secretId, conditions),
      });
      if (!decision.allowed) throw accessDenied(call, action, pattern, decision.reason);
      throw new ServiceError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    }
    this.trailResource(call, secret.body.arn);
    await this.authorize(call, action, secret, secretId, conditions);
    if (secret.body.primaryRegion !== undefined && !REPLICA_ACTIONS.has(action)) {
      // A replica is read-only: every change is made on the primary and replicated.
      throw new ServiceError(
        "InvalidRequestException",
        `Operation is not permitted on a replica secret. Perform it on the primary secret in ${secret.body.primaryRegion}.`,
      );
    }
    return secret;
  }

  trailResource(call: CallContext, arn: string): void {
    if (!call.trail.resources.some((r) => r.arn === arn)) call.trail.resources.push({ arn, type: SECRET_RESOURCE_TYPE });
  }

  /** The caller's identity policies and the secret's resource policy decide, as for any AWS resource. */
  async authorize(
    call: CallContext,
    action: string,
    secret: Pick<Secret, "accountId" | "body">,
    secretId: string | undefined,
    conditions: Conditions = {},
  ): Promise<void> {
    const decision = await this.authorizer.check(call, {
      action,
      resource: secret.body.arn,
      resourceAccount: secret.accountId,
      resourcePolicy: resourcePolicyOf(secret.body),
      context: () => this.context(call, secret.body, secretId, conditions),
    });
    if (!decision.allowed) throw accessDenied(call, action, secret.body.arn, decision.reason);
  }

  /**
   * Secrets Manager's condition keys (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html),
   * lower-case: the secret's tags (secretsmanager:ResourceTag/ and aws:ResourceTag/), the SecretId
   * as the request gave it, and what the operation adds (VersionStage, VersionId, Name, …).
   */
  private context(call: CallContext, body: SecretBody | undefined, secretId: string | undefined, conditions: Conditions): ContextValues {
    return new ContextValues((name) => {
      for (const prefix of ["secretsmanager:resourcetag/", "aws:resourcetag/"]) {
        if (name.startsWith(prefix)) {
          const wanted = name.slice(prefix.length);
          return body?.tags.find((t) => t.Key.toLowerCase() === wanted)?.Value;
        }
      }
      if (name.startsWith("aws:requesttag/")) {
        const wanted = name.slice("aws:requesttag/".length);
        return conditions.requestTags?.find((t) => t.Key.toLowerCase() === wanted)?.Value;
      }
      switch (name) {
        case "secretsmanager:secretid":
          return secretId;
        case "aws:tagkeys":
          return conditions.tagKeys ?? conditions.requestTags?.map((t) => t.Key);
        case "secretsmanager:requestedregion":
          return call.region;
        default:
          return conditions.keys?.[name];
      }
    });
  }

  /**
   * Writes the secret at the revision it was read; a concurrent change is refused, never lost.
   * A primary's replicas follow every write (new versions, label moves, metadata).
   */
  async save(secret: Secret, body: SecretBody = secret.body): Promise<void> {
    await this.write(secret, body);
    if (body.replicas?.length && this.replicator) await this.replicator.sync(secret);
  }

  /** save without the replicas following: for the replicator's own status updates. */
  async write(secret: Secret, body: SecretBody = secret.body): Promise<void> {
    const doc: DocumentRecord = {
      ...secret.doc,
      body: JSON.stringify(body),
      ref: body.deletionDate !== undefined ? DELETION_REF : body.rotation?.enabled ? ROTATION_REF : undefined,
      revision: secret.doc.revision + 1,
    };
    if (!(await this.repo.putDocument(doc, secret.doc.revision))) {
      throw new ServiceError("InvalidRequestException", "The secret was changed by another request at the same time; try again.");
    }
    secret.doc = doc;
    secret.body = body;
  }

  /**
   * Records the day a version was last read (Secrets Manager keeps LastAccessedDate to the day):
   * one write a day at most, and a read never fails for want of it.
   */
  async touch(secret: Secret, versionId: string): Promise<void> {
    const day = Math.floor(this.clock.now() / DAY_MS) * DAY_MS;
    const version = secret.body.versions.find((v) => v.id === versionId);
    if (secret.body.lastAccessedAt === day && version?.lastAccessedAt === day) return;
    const body: SecretBody = structuredClone(secret.body);
    body.lastAccessedAt = day;
    const v = body.versions.find((x) => x.id === versionId);
    if (v) v.lastAccessedAt = day;
    try {
      await this.write(secret, body);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
    }
  }

  /** Stores a new secret; false when its name is taken (by a live secret or one scheduled for deletion). */
  async create(call: Pick<CallContext, "accountId" | "region">, body: SecretBody): Promise<boolean> {
    return this.repo.putDocument(
      {
        kind: KIND,
        accountId: call.accountId,
        name: SecretsManagerService.docName(call.region, body.name),
        body: JSON.stringify(body),
        revision: 1,
        createdAt: body.createdAt,
      },
      "new",
    );
  }

  /** Removes a secret document at once (a replica RemoveRegionsFromReplication takes away). */
  async remove(accountId: string, region: string, name: string): Promise<boolean> {
    return this.repo.deleteDocument(KIND, accountId, SecretsManagerService.docName(region, name));
  }

  /** Stores a replica's body over whatever the region holds under its name (revision-checked when one exists). */
  async writeDocument(accountId: string, region: string, body: SecretBody, existing: Secret | undefined): Promise<boolean> {
    if (!existing) return this.create({ accountId, region }, body);
    return this.repo.putDocument(
      { ...existing.doc, body: JSON.stringify(body), ref: undefined, revision: existing.doc.revision + 1 },
      existing.doc.revision,
    );
  }

  async purge(secret: Secret): Promise<boolean> {
    return this.repo.deleteDocument(KIND, secret.accountId, secret.doc.name, secret.doc.revision);
  }

  /** Every secret of an account and region, in name order. */
  async list(accountId: string, region: string): Promise<SecretBody[]> {
    const out: SecretBody[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocuments(KIND, accountId, `${region}/`, after, 1000);
      for (const doc of page.items) out.push(JSON.parse(doc.body) as SecretBody);
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** Secrets with rotation turned on, for the scheduler. */
  async withRotation(): Promise<Secret[]> {
    const out: Secret[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocumentsByRef(KIND, ROTATION_REF, after, 1000);
      for (const doc of page.items) out.push({ accountId: doc.accountId, doc, body: JSON.parse(doc.body) as SecretBody });
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** Secrets whose recovery window has ended, for the scheduler. */
  async dueForDeletion(now: number): Promise<Secret[]> {
    const out: Secret[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocumentsByRef(KIND, DELETION_REF, after, 1000);
      for (const doc of page.items) {
        const body = JSON.parse(doc.body) as SecretBody;
        if (body.deletionDate !== undefined && body.deletionDate <= now) out.push({ accountId: doc.accountId, doc, body });
      }
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** Secrets Manager refuses every use of a secret scheduled for deletion but DescribeSecret, RestoreSecret and DeleteSecret. */
  requireNotDeleted(secret: Secret): void {
    if (secret.body.deletionDate !== undefined) {
      throw new ServiceError(
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
  }

  // ---- versions and staging labels -----------------------------------------------------------

  /**
   * Attaches `stages` to `version`, taking each from the version that held it. When AWSCURRENT
   * moves, the version it leaves gets AWSPREVIOUS (taken from wherever it was), as PutSecretValue,
   * UpdateSecret and UpdateSecretVersionStage do.
   */
  moveStages(body: SecretBody, version: StoredVersion, stages: readonly string[]): void {
    for (const stage of stages) {
      const holder = body.versions.find((v) => v.stages.includes(stage));
      if (holder === version) continue;
      if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
      version.stages.push(stage);
      if (stage === CURRENT && holder) {
        for (const v of body.versions) v.stages = v.stages.filter((s) => s !== PREVIOUS);
        holder.stages.push(PREVIOUS);
      }
    }
    for (const v of body.versions) {
      if (v.stages.length > MAX_LABELS_PER_VERSION) {
        throw new ServiceError("LimitExceededException", `A version can have at most ${MAX_LABELS_PER_VERSION} staging labels.`);
      }
    }
  }

  /**
   * Versions without a staging label are deprecated; beyond MAX_VERSIONS the oldest of them that
   * are more than a day old are removed. Versions made faster than that exceed the quota.
   */
  pruneVersions(body: SecretBody, now: number): void {
    if (body.versions.length <= MAX_VERSIONS) return;
    const removable = body.versions
      .filter((v) => v.stages.length === 0 && now - v.createdAt > DAY_MS)
      .sort((a, b) => a.createdAt - b.createdAt);
    const drop = new Set(removable.slice(0, body.versions.length - MAX_VERSIONS).map((v) => v.id));
    body.versions = body.versions.filter((v) => !drop.has(v.id));
    if (body.versions.length > MAX_VERSIONS) {
      throw new ServiceError(
        "LimitExceededException",
        `The secret would have more than ${MAX_VERSIONS} versions: versions without a staging label are removed only once they are a day old.`,
      );
    }
  }

  /** The version a request names by VersionId and/or VersionStage (default AWSCURRENT). */
  version(body: SecretBody, versionId: string | undefined, stage: string | undefined): StoredVersion {
    if (versionId !== undefined) {
      const v = body.versions.find((x) => x.id === versionId);
      if (!v)
        throw new ServiceError(
          "ResourceNotFoundException",
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
        );
      if (stage !== undefined && !v.stages.includes(stage)) {
        throw new ServiceError(
          "ResourceNotFoundException",
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId} and staging label: ${stage}`,
        );
      }
      return v;
    }
    const wanted = stage ?? CURRENT;
    const v = body.versions.find((x) => x.stages.includes(wanted));
    if (!v)
      throw new ServiceError(
        "ResourceNotFoundException",
        `Secrets Manager can't find the specified secret value for staging label: ${wanted}`,
      );
    return v;
  }

  versionIdsToStages(body: SecretBody): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of body.versions) if (v.stages.length > 0) out[v.id] = [...v.stages];
    return out;
  }

  newVersionId(): string {
    return randomUUID();
  }

  // ---- encryption ----------------------------------------------------------------------------

  /**
   * A KMS call Secrets Manager makes on the caller's behalf: the caller's identity, kms:ViaService,
   * KMS's own authorization. Built member by member (every member of CallContext): a spread of the
   * caller's context was a measurable part of each GetSecretValue.
   */
  private kmsCall(call: CallContext, action: string, input: Record<string, unknown>): CallContext {
    return {
      accountId: call.accountId,
      region: call.region,
      accessKeyId: call.accessKeyId,
      principal: call.principal,
      sessionPolicies: call.sessionPolicies,
      time: call.time,
      sourceIp: call.sourceIp,
      secureTransport: call.secureTransport,
      viaService: "secretsmanager",
      source: call.source,
      requestId: call.requestId,
      action,
      trail: { input, resources: [] },
    };
  }

  /** Puts a KMS call into the trail as a KMS event of its own (invokedBy secretsmanager.amazonaws.com). */
  private recordKms(call: CallContext, kms: CallContext, error?: ServiceError): void {
    const related = {
      service: "kms",
      operation: kms.action.slice("kms:".length),
      invokedBy: "secretsmanager.amazonaws.com",
      trail: kms.trail,
    };
    (call.trail.related ??= []).push(error ? { ...related, error: { code: error.code, message: error.message } } : related);
  }

  /**
   * A KMS refusal as Secrets Manager reports it: a caller KMS denies gets "Access to KMS is not
   * allowed"; a key that cannot be used (disabled, pending deletion, not found, wrong kind) is
   * EncryptionFailure on writes and DecryptionFailure on reads, naming KMS's reason.
   */
  private kmsFailure(call: CallContext, kms: CallContext, error: unknown, failure: "EncryptionFailure" | "DecryptionFailure"): never {
    if (!(error instanceof ServiceError)) throw error;
    this.recordKms(call, kms, error);
    if (error.code === "AccessDeniedException") throw new ServiceError("AccessDeniedException", "Access to KMS is not allowed");
    throw new ServiceError(failure, `${ERROR_PREFIX[failure]}: ${error.message}`);
  }

  /** Encrypts a version's value under the secret's KMS key: a fresh data key from KMS per version. */
  async sealVersion(
    call: CallContext,
    body: SecretBody,
    versionId: string,
    value: Buffer,
    binary: boolean,
    stages: string[],
  ): Promise<StoredVersion> {
    const named = body.kmsKeyId ?? (await this.managedKey(call));
    const context = encryptionContext(body.arn, versionId);
    const kmsCall = this.kmsCall(call, "kms:GenerateDataKey", { KeyId: named, KeySpec: "AES_256", EncryptionContext: context });
    let key: KeyRecord;
    try {
      key = await this.kms.resolveKey(kmsCall, named, { aliases: true, state: "cryptographic", crossAccount: true });
    } catch (error) {
      this.kmsFailure(call, kmsCall, error, "EncryptionFailure");
    }
    const arn = keyArn(key.region, key.accountId, key.keyId);
    if (this.kms.isAsymmetric(key) || key.keyUsage !== "ENCRYPT_DECRYPT") {
      throw new ServiceError("EncryptionFailure", `${arn} is not a symmetric encryption key; Secrets Manager needs one.`);
    }
    const dataKey = randomBytes(32);
    try {
      const { blob, materialId } = await this.kms.encrypt(key, dataKey, context);
      kmsCall.trail.input = { KeyId: arn, KeySpec: "AES_256", EncryptionContext: context };
      kmsCall.trail.additional = { ...kmsCall.trail.additional, keyMaterialId: materialId };
      this.recordKms(call, kmsCall);
      const sealed = seal(dataKey, value, versionAad(body.arn, versionId));
      return {
        id: versionId,
        stages,
        createdAt: this.clock.now(),
        binary,
        kmsKeyArn: arn,
        wrappedKey: blob.toString("base64"),
        sealed: sealed.toString("base64"),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Decrypts a version for the caller, through KMS's Decrypt on the caller's behalf. The plaintext is the caller's to zero. */
  async openVersion(call: CallContext, body: SecretBody, version: StoredVersion): Promise<Buffer> {
    const context = versionContext(body.arn, version);
    const kmsCall = this.kmsCall(call, "kms:Decrypt", { KeyId: version.kmsKeyArn, EncryptionContext: context });
    kmsCall.trail.defaults = { encryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    let dataKey: Buffer;
    try {
      const opened = await this.kms.decrypt(kmsCall, Buffer.from(version.wrappedKey, "base64"), context, version.kmsKeyArn);
      dataKey = opened.plaintext;
      kmsCall.trail.additional = { ...kmsCall.trail.additional, keyMaterialId: opened.materialId };
    } catch (error) {
      this.kmsFailure(call, kmsCall, error, "DecryptionFailure");
    }
    this.recordKms(call, kmsCall);
    try {
      const value = openSealed(dataKey, Buffer.from(version.sealed, "base64"), storedVersionAad(body.arn, version));
      if (!value) throw new ServiceError("DecryptionFailure", "The stored secret value failed its integrity check.");
      return value;
    } finally {
      dataKey.fill(0);
    }
  }

  /** The account's aws/secretsmanager key, made on first use as Secrets Manager does, with AWS's policy for it. */
  private managedKey(call: CallContext): Promise<string> {
    return this.kms.awsManagedKey(call, {
      alias: MANAGED_KEY_ALIAS,
      description: "Default key that protects my Secrets Manager data when no other key is defined",
      policy: managedKeyPolicy(call.accountId, call.region),
    });
  }
}

/** What an operation adds to the condition keys: lower-case names, or the tags a request carries. */
export interface Conditions {
  keys?: Record<string, ConditionValue | undefined>;
  requestTags?: readonly { Key: string; Value: string }[];
  tagKeys?: readonly string[];
}

const ERROR_PREFIX = {
  EncryptionFailure: "Secrets Manager can't encrypt the protected secret text using the provided KMS key",
  DecryptionFailure: "Secrets Manager can't decrypt the protected secret text using the provided KMS key",
} as const;

/** The encryption context Secrets Manager binds each version's data key to. */
export function encryptionContext(arn: string, versionId: string): Record<string, string> {
  // Without a prototype, as the decoder makes maps: the trail records its keys as written.
  return Object.assign(Object.create(null) as Record<string, string>, { SecretARN: arn, SecretVersionId: versionId });
}

/**
 * A stored version's encryption context, made once per version read (a version of a parsed body
 * is shared by the reads of that body, parsedBody) and frozen: KMS and the trail only read it.
 */
const versionContexts = new WeakMap<StoredVersion, { arn: string; context: Readonly<Record<string, string>> }>();

function versionContext(arn: string, version: StoredVersion): Record<string, string> {
  const known = versionContexts.get(version);
  if (known !== undefined && known.arn === arn) return known.context;
  const context = Object.freeze(encryptionContext(arn, version.id));
  versionContexts.set(version, { arn, context });
  return context;
}

/**
 * A secret document's body, parsed once per stored revision: the repository's cache hands every
 * read of a secret the same record until it changes, and GetSecretValue parsed the whole body
 * (every version, tags, policy) on each. The body is deep-frozen, as every reader must leave it:
 * a change is made on a copy (structuredClone, or a spread with new members) and saved, so a
 * write that fails leaves nothing half-changed for the next read, and a change made in place by
 * mistake throws instead of reaching other requests.
 */
const parsedBodies = new WeakMap<DocumentRecord, SecretBody>();

function parsedBody(doc: DocumentRecord): SecretBody {
  let body = parsedBodies.get(doc);
  if (body === undefined) {
    body = deepFreeze(JSON.parse(doc.body) as SecretBody);
    parsedBodies.set(doc, body);
  }
  return body;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * A secret's resource policy, compiled: once per stored revision (a frozen body, see parsedBody),
 * where compilePolicy's own cache would join and hash the policy's whole text on every request.
 */
const resourcePolicies = new WeakMap<SecretBody, CompiledPolicy>();

function resourcePolicyOf(body: SecretBody): CompiledPolicy | undefined {
  if (!body.policy) return undefined;
  let compiled = resourcePolicies.get(body);
  if (compiled === undefined) {
    compiled = compilePolicy(body.policy, "resource");
    if (Object.isFrozen(body)) resourcePolicies.set(body, compiled);
  }
  return compiled;
}

/** A stored version's AAD (its secret's ARN and its id), encoded once per version read. */
const versionAads = new WeakMap<StoredVersion, { arn: string; aad: Buffer }>();

function storedVersionAad(arn: string, version: StoredVersion): Buffer {
  const known = versionAads.get(version);
  if (known !== undefined && known.arn === arn) return known.aad;
  const aad = versionAad(arn, version.id);
  if (Object.isFrozen(version)) versionAads.set(version, { arn, aad });
  return aad;
}

function versionAad(arn: string, versionId: string): Buffer {
  return Buffer.from(`keyhold-secret-v1\n${arn}\n${versionId}`, "utf8");
}

/**
 * AWS's policy of the aws/secretsmanager key: any principal of the account may use it through
 * Secrets Manager (so Secrets Manager permissions suffice for secrets under the default key),
 * and the account may read its metadata; no one may use it directly.
 */
export function managedKeyPolicy(accountId: string, region: string): string {
  const sid = "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager";
  return JSON.stringify(
    {
      Version: "2012-10-17",
      Id: "auto-secretsmanager-2",
      Statement: [
        {
          Sid: sid,
          Effect: "Allow",
          Principal: { AWS: "*" },
          Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey"],
          Resource: "*",
          Condition: { StringEquals: { "kms:CallerAccount": accountId, "kms:ViaService": `secretsmanager.${region}.amazonaws.com` } },
        },
        {
          Sid: `${sid} (data keys)`,
          Effect: "Allow",
          Principal: { AWS: "*" },
          Action: "kms:GenerateDataKey*",
          Resource: "*",
          Condition: {
            StringEquals: { "kms:CallerAccount": accountId },
            StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" },
          },
        },
        {
          Sid: "Allow direct access to key metadata to the account",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
          Resource: "*",
        },
      ],
    },
    null,
    2,
  );
}

/** Tags as the API carries them, checked: keys unique, at most MAX_TAGS, aws: reserved. */
export function checkTags(tags: readonly { Key?: string; Value?: string }[]): { Key: string; Value: string }[] {
  const out: { Key: string; Value: string }[] = [];
  for (const t of tags) {
    if (t.Key === undefined) throw new ServiceError("InvalidParameterException", "A tag needs a Key.");
    if (t.Key.toLowerCase().startsWith("aws:"))
      throw new ServiceError("InvalidParameterException", "Tag keys starting with aws: are reserved.");
    out.push({ Key: t.Key, Value: t.Value ?? "" });
  }
  return out;
}

/** Tags merged: a new value replaces an old one of the same key. */
export function mergeTags(existing: readonly { Key: string; Value: string }[], added: readonly { Key: string; Value: string }[]) {
  const byKey = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const t of added) byKey.set(t.Key, t.Value);
  if (byKey.size > MAX_TAGS) throw new ServiceError("LimitExceededException", `A secret can have at most ${MAX_TAGS} tags.`);
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}
