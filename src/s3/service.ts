/**
 * The S3 layer shared by the operations: buckets and object metadata (documents: buckets in one
 * global namespace, objects per bucket), authorization with bucket policies, and server-side
 * encryption — each object under its own data key, wrapped by keyhold's rotating SSE-S3 service
 * key, by a KMS key through KMS's own code path and authorization on the caller's behalf (SSE-KMS),
 * or by the customer's key (SSE-C). docs/object-format.md.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { Readable } from "node:stream";
import type { CallContext } from "../call.js";
import type { Clock } from "../clock.js";
import { ServiceError, type ErrorCode } from "../errors.js";
import { accessDenied, type Authorizer } from "../iam/authorizer.js";
import { ContextValues } from "../iam/conditions.js";
import { compilePolicy, type CompiledPolicy } from "../iam/policy.js";
import { keyArn } from "../kms/arns.js";
import { defaultKeyPolicy } from "../kms/policy.js";
import type { KmsService } from "../kms/service.js";
import type { Repository } from "../store/repository.js";
import type { DocumentRecord, KeyRecord } from "../store/records.js";
import type { ObjectStore } from "./object-store.js";
import { CHUNK_BYTES, ChunkSealer, chunkCount, chunkSpan, openChunk } from "../crypto/object-cipher.js";
import { open as openSealed, seal } from "../crypto/aes-gcm.js";
import { consoleLogger, type Logger } from "../log.js";
import type { ServiceAction } from "../audit/record.js";
import { Lru } from "../lru.js";

export interface BucketEncryption {
  /** The default for requests that name none: AES256 or aws:kms. */
  algorithm: "AES256" | "aws:kms";
  kmsKeyId?: string;
  bucketKeyEnabled?: boolean;
  /** Encryption types refused on writes: SSE-C is blocked on new buckets (S3 since April 2026). */
  blocked: string[];
}

export interface BucketBody {
  owner: string;
  region: string;
  createdAt: number;
  encryption: BucketEncryption;
  policy?: string;
}

export type SseAlgorithm = "AES256" | "aws:kms" | "SSE-C";

export interface ObjectSse {
  algorithm: SseAlgorithm;
  /**
   * The data key, base64: wrapped by the key store (SSE-S3), a KMS ciphertext blob (SSE-KMS), or
   * sealed under the customer's key (SSE-C). Never the plaintext key.
   */
  wrappedKey: string;
  kmsKeyArn?: string;
  /** SSE-KMS: the encryption context the data key is bound to. */
  context?: Record<string, string>;
  /**
   * SSE-KMS with an S3 Bucket Key: the bucket-level key as a KMS ciphertext blob (base64); the
   * object's data key is then sealed under it (`wrappedKey`), and `context` names the bucket.
   */
  bucketKey?: string;
  /** SSE-C: the customer key's MD5 (which S3 returns) and a salted HMAC of it, to tell a wrong key from the right one. */
  customerKeyMd5?: string;
  customerKeySalt?: string;
  customerKeyHmac?: string;
}

/** One stored file of an object: a PutObject has one, a multipart upload one per part. */
export interface StoredPart {
  id: string;
  size: number;
}

export interface ObjectBody {
  size: number;
  etag: string;
  lastModified: number;
  contentType: string;
  /** Content-Disposition, Cache-Control, …: returned as stored. */
  headers: Record<string, string>;
  metadata: Record<string, string>;
  /** The whole object's CRC32 (base64), for a single-part object. */
  checksumCrc32?: string;
  parts: StoredPart[];
  sse: ObjectSse;
}

export interface S3Dependencies {
  repo: Repository;
  kms: KmsService;
  authorizer: Authorizer;
  clock: Clock;
  objects: ObjectStore;
  /** Whether new buckets accept SSE-C writes (S3's default since April 2026: they do not). */
  allowSseCOnNewBuckets?: boolean;
  /** How often the SSE-S3 service key rotates (default 365 days). */
  sseS3RotationDays?: number;
  /** Where integrity failures are logged (default: stderr). */
  log?: Logger;
  /** Records an event of the service's own in the audit trail (an integrity failure). */
  recordServiceEvent?: (action: ServiceAction) => Promise<void>;
}

/** The object a read is for, and the call reading it: what an integrity failure names. */
export interface ObjectRead {
  call: CallContext;
  bucket: string;
  key: string;
}

/** The event an integrity failure adds to the trail (docs/s3.md). */
export const INTEGRITY_FAILURE_EVENT = "ObjectIntegrityFailure";

/** How far a GET reads ahead of the client, and how many sealed chunks one file read fetches. */
const READ_AHEAD_BYTES = 1024 * 1024;
const CHUNKS_PER_READ = 16;

/** How long a bucket key is used (writes) and kept unwrapped (reads), and how many are kept. */
const BUCKET_KEY_MS = 5 * 60 * 1000;
const BUCKET_KEY_CACHE = 10_000;

/**
 * Zeroes a bucket key a cache let go of. Not at once: a request that took the buffer from the
 * cache in this turn of the event loop may still be about to seal or open with it (its use is
 * synchronous, after at most a few promise resolutions, all of which run before setImmediate).
 */
function zeroBucketKey(entry: { plain: Buffer }): void {
  setImmediate(() => entry.plain.fill(0));
}

/** Where keyhold keeps its own SSE-S3 keys: an account no caller can be, and the alias of each region's key. */
export const SERVICE_ACCOUNT = "s3.amazonaws.com";
const SERVICE_KEY_ALIAS = "alias/keyhold/sse-s3";

/** Buckets share one namespace across accounts, as in S3. */
const BUCKETS = "global";
const KMS_CODES: Partial<Record<ErrorCode, ErrorCode>> = {
  DisabledException: "KMS.DisabledException",
  KMSInvalidStateException: "KMS.KMSInvalidStateException",
  NotFoundException: "KMS.NotFoundException",
};

export class S3Service {
  readonly repo: Repository;
  readonly kms: KmsService;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  readonly objects: ObjectStore;
  readonly allowSseCOnNewBuckets: boolean;
  readonly sseS3RotationDays: number;
  /**
   * Bucket keys made for writes, and bucket keys unwrapped for reads, each for BUCKET_KEY_MS; the
   * least recently used age out past BUCKET_KEY_CACHE. Each cache owns its plaintext buffers and
   * zeroes one it drops (zeroBucketKey).
   */
  private readonly bucketKeys = new Lru<string, { plain: Buffer; blob: string; expires: number }>(BUCKET_KEY_CACHE, zeroBucketKey);
  private readonly openedBucketKeys = new Lru<string, { plain: Buffer; expires: number }>(BUCKET_KEY_CACHE, zeroBucketKey);
  private readonly log: Logger;
  private readonly recordServiceEvent?: (action: ServiceAction) => Promise<void>;
  /** Stored objects or data keys that failed authentication on a read since the server started. */
  integrityFailures = 0;

  constructor(deps: S3Dependencies) {
    this.log = deps.log ?? consoleLogger();
    this.recordServiceEvent = deps.recordServiceEvent;
    this.sseS3RotationDays = deps.sseS3RotationDays ?? 365;
    this.allowSseCOnNewBuckets = deps.allowSseCOnNewBuckets ?? false;
    this.repo = deps.repo;
    this.kms = deps.kms;
    this.authorizer = deps.authorizer;
    this.clock = deps.clock;
    this.objects = deps.objects;
  }

  // ---- buckets ------------------------------------------------------------------------------

  async bucket(name: string): Promise<{ doc: DocumentRecord; body: BucketBody } | undefined> {
    const doc = await this.repo.getDocument("s3-bucket", BUCKETS, name);
    return doc && { doc, body: JSON.parse(doc.body) as BucketBody };
  }

  async requireBucket(name: string): Promise<{ doc: DocumentRecord; body: BucketBody }> {
    const b = await this.bucket(name);
    if (!b) throw new ServiceError("NoSuchBucket", `The specified bucket does not exist: ${name}`);
    return b;
  }

  async createBucket(name: string, body: BucketBody): Promise<boolean> {
    return this.repo.putDocument(
      { kind: "s3-bucket", accountId: BUCKETS, name, body: JSON.stringify(body), revision: 1, createdAt: body.createdAt },
      "new",
    );
  }

  async updateBucket(name: string, change: (b: BucketBody) => void): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const { doc, body } = await this.requireBucket(name);
      change(body);
      if (await this.repo.putDocument({ ...doc, body: JSON.stringify(body), revision: doc.revision + 1 }, doc.revision)) return;
    }
    throw new ServiceError("InvalidRequest", "The bucket kept changing under this request; try again.");
  }

  async listBuckets(owner: string): Promise<{ name: string; body: BucketBody }[]> {
    const out: { name: string; body: BucketBody }[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocuments("s3-bucket", BUCKETS, "", after, 1000);
      for (const d of page.items) {
        const body = JSON.parse(d.body) as BucketBody;
        if (body.owner === owner) out.push({ name: d.name, body });
      }
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  // ---- objects ------------------------------------------------------------------------------

  async object(bucket: string, key: string): Promise<{ doc: DocumentRecord; body: ObjectBody } | undefined> {
    const doc = await this.repo.getDocument("s3-object", bucket, key);
    return doc && { doc, body: JSON.parse(doc.body) as ObjectBody };
  }

  async requireObject(bucket: string, key: string): Promise<ObjectBody> {
    const found = await this.object(bucket, key);
    if (!found) throw new ServiceError("NoSuchKey", "The specified key does not exist.");
    return found.body;
  }

  /** Stores the object's metadata, replacing any object of that key, then removes the replaced object's files. */
  async commitObject(bucket: string, key: string, body: ObjectBody, condition?: WriteCondition): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const existing = await this.object(bucket, key);
      // A conditional write is checked against the object it would replace, in the same step.
      condition?.(existing?.body);
      const record: DocumentRecord = {
        kind: "s3-object",
        accountId: bucket,
        name: key,
        body: JSON.stringify(body),
        revision: (existing?.doc.revision ?? 0) + 1,
        createdAt: body.lastModified,
      };
      if (await this.repo.putDocument(record, existing ? existing.doc.revision : "new")) {
        if (existing) await this.deleteFiles(existing.body.parts);
        return;
      }
    }
    throw new ServiceError("InvalidRequest", "The object kept changing under this request; try again.");
  }

  /**
   * Deletes the object, if any. A conditional delete (If-Match) is checked against the object it
   * removes, in the same step: the document goes only at the revision that was checked.
   */
  async deleteObject(bucket: string, key: string, condition?: WriteCondition): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const existing = await this.object(bucket, key);
      condition?.(existing?.body);
      if (!existing) return;
      if (await this.repo.deleteDocument("s3-object", bucket, key, existing.doc.revision)) {
        await this.deleteFiles(existing.body.parts);
        return;
      }
    }
    throw new ServiceError("InvalidRequest", "The object kept changing under this request; try again.");
  }

  async deleteFiles(parts: readonly StoredPart[]): Promise<void> {
    for (const p of parts) await this.objects.delete(p.id);
  }

  /**
   * Encrypts a stream into a new stored file under `dataKey`. `verify` runs once the stream has
   * ended; if it throws (a bad checksum), the file is removed and nothing refers to it.
   */
  async storeEncrypted<T>(dataKey: Buffer, source: Readable, verify: () => T): Promise<{ part: StoredPart; verified: T }> {
    const id = randomUUID();
    const sealer = new ChunkSealer(dataKey, Buffer.from(id, "utf8"));
    source.on("error", (e) => sealer.destroy(e));
    if (source.errored) sealer.destroy(source.errored);
    // The store reads the sealer only once its file is open: until then its failure is held for it.
    sealer.on("error", () => undefined);
    await this.objects.put(id, source.pipe(sealer));
    try {
      return { part: { id, size: sealer.plaintextBytes }, verified: verify() };
    } catch (error) {
      await this.objects.delete(id);
      throw error;
    }
  }

  /**
   * The plaintext bytes [start, end) of an object, decrypting only the chunks they touch. The
   * first chunk is opened before this returns, so a tampered object fails with an error reply; a
   * chunk failing later ends the response early, and unauthenticated bytes are never sent.
   */
  async readDecrypted(read: ObjectRead, dataKey: Buffer, parts: readonly StoredPart[], start: number, end: number): Promise<Readable> {
    const chunks = this.chunksOf(read, dataKey, parts, start, end);
    const first = await chunks.next();
    async function* rest(): AsyncGenerator<Buffer> {
      try {
        if (!first.done) yield first.value;
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await chunks.return(undefined);
        dataKey.fill(0);
      }
    }
    // Reads run ahead of the socket by up to 1 MiB, so disk, decryption and network overlap.
    return Readable.from(rest(), { objectMode: false, highWaterMark: READ_AHEAD_BYTES });
  }

  /** The plaintext of [start, end), chunk by chunk; reads up to 1 MiB of sealed chunks at a time, the next read under way while these are opened. */
  private async *chunksOf(
    read: ObjectRead,
    dataKey: Buffer,
    parts: readonly StoredPart[],
    start: number,
    end: number,
  ): AsyncGenerator<Buffer> {
    let partStart = 0;
    for (const [partIndex, part] of parts.entries()) {
      const partEnd = partStart + part.size;
      if (partEnd > start && partStart < end) {
        const file = await this.objects.open(part.id);
        const from = Math.max(start, partStart) - partStart;
        const to = Math.min(end, partEnd) - partStart;
        const last = chunkCount(part.size) - 1;
        const lastIndex = Math.min(last, Math.floor(Math.max(to - 1, 0) / CHUNK_BYTES));
        const id = Buffer.from(part.id, "utf8");
        const batch = (first: number): ChunkBatch => {
          const n = Math.min(CHUNKS_PER_READ, lastIndex - first + 1);
          const a = chunkSpan(part.size, first);
          const b = chunkSpan(part.size, first + n - 1);
          const bytes = file.read(a.offset, b.offset + b.length - a.offset);
          bytes.catch(() => undefined); // awaited below, or abandoned when the reader stops early
          return { first, n, bytes };
        };
        let next: ChunkBatch | undefined = batch(Math.floor(from / CHUNK_BYTES));
        try {
          while (next) {
            const current: ChunkBatch = next;
            const after = current.first + current.n;
            next = after <= lastIndex ? batch(after) : undefined;
            const sealed = await current.bytes;
            // The batch goes out as one piece: fewer, larger socket writes.
            const pieces: Buffer[] = [];
            let at = 0;
            for (let index = current.first; index < after; index++) {
              const span = chunkSpan(part.size, index);
              const plain = openChunk(dataKey, id, index, index === last, sealed.subarray(at, at + span.length));
              at += span.length;
              if (!plain) {
                this.integrityFailure(read, `chunk ${index} of part ${partIndex + 1} (file ${part.id}) failed authentication`);
                // What opened before the bad chunk still goes out; the failure then ends the response.
                if (pieces.length > 0) yield Buffer.concat(pieces);
                throw new ServiceError("InternalFailure", "The stored object failed its integrity check and was not returned.");
              }
              const base = index * CHUNK_BYTES;
              pieces.push(plain.subarray(Math.max(0, from - base), Math.min(plain.length, to - base)));
            }
            yield pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
          }
        } finally {
          // A read still under way finishes before its file closes.
          await next?.bytes.catch(() => undefined);
          await file.close();
        }
      }
      partStart = partEnd;
    }
  }

  /**
   * A stored object or its data key failed authentication: the disk, a backup or someone with
   * access to the data directory changed it. That is no ordinary error: it is logged as an
   * integrity failure naming the object (never its bytes), counted, and recorded in the trail as
   * an event of its own, besides the error the call's own event carries when the failure came
   * before the answer (a failure in the middle of a streamed body cuts the body short after the
   * call's event was written as a success).
   */
  private integrityFailure(read: ObjectRead, what: string): void {
    const n = ++this.integrityFailures;
    const { call, bucket, key } = read;
    this.log.error(
      `integrity failure (${n} since start): s3://${bucket}/${key} version null, request ${call.requestId}: ${what}; nothing of it was returned unauthenticated`,
    );
    this.recordServiceEvent?.({
      time: this.clock.now(),
      eventSource: "s3.amazonaws.com",
      eventName: INTEGRITY_FAILURE_EVENT,
      accountId: call.accountId,
      region: call.region,
      resource: { arn: `arn:aws:s3:::${bucket}/${key}`, type: "AWS::S3::Object" },
      details: { bucketName: bucket, key, versionId: "null", requestID: call.requestId, eventName: call.action.slice(3), failure: what },
    }).catch((error: unknown) =>
      this.log.error(`integrity failure of s3://${bucket}/${key} could not be recorded in the trail: ${String(error)}`),
    );
  }

  /**
   * Removes stored files no object or multipart upload refers to, older than `minAgeMs` (a crash
   * between a file's rename and its metadata commit leaves one; so does a delete that failed
   * half-way), and temporary files of writes that never finished. Young files are left: they
   * may belong to a write under way. Returns how many were removed.
   */
  async sweepOrphans(minAgeMs: number): Promise<number> {
    const cutoff = this.clock.now() - minAgeMs;
    const candidates = (await this.objects.list()).filter((e) => e.modifiedAt < cutoff);
    if (candidates.length === 0) return 0;
    const referenced = new Set<string>();
    let afterBucket: string | undefined;
    do {
      const buckets = await this.repo.listDocuments("s3-bucket", BUCKETS, "", afterBucket, 1000);
      for (const b of buckets.items) {
        for (const kind of ["s3-object", "s3-upload"] as const) {
          let after: string | undefined;
          do {
            const page = await this.repo.listDocuments(kind, b.name, "", after, 1000);
            for (const d of page.items) {
              const body = JSON.parse(d.body) as { parts?: StoredPart[]; id?: string };
              for (const p of body.parts ?? []) referenced.add(p.id);
              if (body.id) referenced.add(body.id);
            }
            after = page.next;
          } while (after !== undefined);
        }
      }
      afterBucket = buckets.next;
    } while (afterBucket !== undefined);
    let removed = 0;
    for (const entry of candidates) {
      if (!entry.partial && referenced.has(entry.name)) continue;
      await this.objects.remove(entry);
      removed++;
    }
    return removed;
  }

  // ---- authorization ------------------------------------------------------------------------

  /**
   * The caller may perform `action` on the bucket or object: its identity policies and the
   * bucket policy decide, as S3 decides (the bucket policy may allow on its own within the
   * account; across accounts both must allow). `conditions` are S3's condition keys, lower-case.
   */
  async authorize(
    call: CallContext,
    action: string,
    bucket: string,
    owner: BucketBody | undefined,
    key?: string,
    conditions: Record<string, string | undefined> = {},
  ): Promise<void> {
    const resource = key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
    const policy: CompiledPolicy | undefined = owner?.policy ? compilePolicy(owner.policy, "resource") : undefined;
    const decision = await this.authorizer.check(call, {
      action,
      resource,
      resourceAccount: owner?.owner,
      resourcePolicy: policy,
      resourcePolicyRequired: false,
      context: () => new ContextValues((name) => conditions[name]),
    });
    if (!decision.allowed) throw accessDenied(call, action, resource, decision.reason);
    // Checked once the caller may act: a mismatch tells only a caller with access whose the bucket is.
    for (const expected of this.expectedOwners.get(call) ?? []) {
      if (expected.bucket === bucket && owner !== undefined && owner.owner !== expected.account) {
        throw new ServiceError("AccessDeniedException", "Access Denied");
      }
    }
  }

  private readonly expectedOwners = new WeakMap<CallContext, readonly ExpectedOwner[]>();

  /**
   * The accounts a request says its buckets belong to (x-amz-expected-bucket-owner,
   * x-amz-source-expected-bucket-owner): S3 refuses with 403 when a bucket has another owner, so a
   * client that names the owner never writes to, or reads from, a bucket someone else holds.
   * Checked by `authorize` for every bucket the call acts on.
   */
  expectOwners(call: CallContext, expected: readonly ExpectedOwner[]): void {
    if (expected.length > 0) this.expectedOwners.set(call, expected);
  }

  // ---- server-side encryption ---------------------------------------------------------------

  /** A KMS call S3 makes on the caller's behalf: the caller's identity, kms:ViaService s3, KMS's own authorization. */
  private kmsCall(call: CallContext, action: string, input: Record<string, unknown>): CallContext {
    return { ...call, action, viaService: "s3", trail: { input, resources: [] } };
  }

  /** Puts a KMS call S3 made into the trail, as a KMS event of its own (invokedBy s3.amazonaws.com). */
  private recordKms(call: CallContext, kms: CallContext, error?: ServiceError): void {
    const related = { service: "kms", operation: kms.action.slice("kms:".length), invokedBy: "s3.amazonaws.com", trail: kms.trail };
    (call.trail.related ??= []).push(error ? { ...related, error: { code: error.code, message: error.message } } : related);
  }

  /**
   * Runs a step of a KMS call: a refusal is recorded as the KMS call's outcome and surfaced under
   * S3's name for it (KMS.DisabledException, …); a success is recorded when `recorded` (the step
   * that performs the KMS operation, not a check before it).
   */
  private async kmsStep<T>(call: CallContext, kms: CallContext, recorded: boolean, fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      this.recordKms(call, kms, error);
      const code = KMS_CODES[error.code];
      throw code ? new ServiceError(code, error.message) : error;
    }
    if (recorded) this.recordKms(call, kms);
    return result;
  }

  /** The account's aws/s3 key, made on first use as S3 does. */
  private managedKey(call: CallContext): Promise<string> {
    return this.kms.awsManagedKey(call, {
      alias: "alias/aws/s3",
      description: "Default key that protects my S3 objects when no other key is defined",
      policy: defaultKeyPolicy(call.accountId),
    });
  }

  /**
   * The region's SSE-S3 service key: a KMS key of keyhold's own (in the reserved account
   * "s3.amazonaws.com", which no caller has), made on first use and rotated by the scheduler every
   * `sseS3RotationDays`; objects wrapped under an older version stay readable.
   */
  private async serviceKey(region: string): Promise<KeyRecord> {
    const alias = await this.repo.getAlias(SERVICE_ACCOUNT, region, SERVICE_KEY_ALIAS);
    if (alias) return (await this.repo.getKey(alias.targetKeyId))!;
    const keyId = this.kms.newKeyId();
    const now = this.clock.now();
    const record: KeyRecord = {
      keyId,
      accountId: SERVICE_ACCOUNT,
      region,
      description: "keyhold's SSE-S3 service key: wraps the data keys of SSE-S3 objects",
      keyState: "Enabled",
      keySpec: "SYMMETRIC_DEFAULT",
      keyUsage: "ENCRYPT_DECRYPT",
      origin: "AWS_KMS",
      keyManager: "AWS",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
      creationDate: now,
      rotationEnabled: true,
      rotationPeriodInDays: this.sseS3RotationDays,
      nextRotationDate: now + this.sseS3RotationDays * 86_400_000,
      onDemandRotations: 0,
      currentVersion: 1,
    };
    await this.repo.createKey(record, this.kms.newVersion(keyId, "SYMMETRIC_DEFAULT", 1), []);
    const created = await this.repo.createAlias({
      accountId: SERVICE_ACCOUNT,
      region,
      aliasName: SERVICE_KEY_ALIAS,
      targetKeyId: keyId,
      creationDate: now,
      lastUpdatedDate: now,
    });
    if (created) return record;
    const winner = await this.repo.getAlias(SERVICE_ACCOUNT, region, SERVICE_KEY_ALIAS);
    return (await this.repo.getKey(winner!.targetKeyId))!;
  }

  /**
   * The bucket key for SSE-KMS objects of this bucket, KMS key and context: made with one KMS
   * encryption and reused for BUCKET_KEY_MS, so that many objects cost one KMS operation.
   */
  private async bucketKeyFor(
    kmsKey: KeyRecord,
    bucket: string,
    context: Record<string, string>,
  ): Promise<{ plain: Buffer; blob: string; fresh: boolean; materialId?: string }> {
    const id = `${kmsKey.keyId}\n${kmsKey.currentVersion}\n${bucket}\n${JSON.stringify(Object.entries(context).sort())}`;
    const now = this.clock.now();
    const cached = this.bucketKeys.get(id);
    if (cached && cached.expires > now) return { ...cached, fresh: false };
    const plain = randomBytes(32);
    const { blob, materialId } = await this.kms.encrypt(kmsKey, plain, context);
    const made = { plain, blob: blob.toString("base64"), expires: now + BUCKET_KEY_MS };
    this.bucketKeys.set(id, made);
    this.rememberBucketKey(made.blob, Buffer.from(plain));
    return { ...made, fresh: true, materialId };
  }

  /** A bucket key already unwrapped (for reads), while it is fresh. */
  private openBucketKey(blob: string): Buffer | undefined {
    const cached = this.openedBucketKeys.get(blob);
    return cached && cached.expires > this.clock.now() ? cached.plain : undefined;
  }

  private rememberBucketKey(blob: string, plain: Buffer): Buffer {
    this.openedBucketKeys.set(blob, { plain, expires: this.clock.now() + BUCKET_KEY_MS });
    return plain;
  }

  /** A fresh data key for an object, and how it is kept. The plaintext key is the caller's to zero. */
  async newDataKey(call: CallContext, bucket: string, key: string, choice: SseChoice): Promise<{ dataKey: Buffer; sse: ObjectSse }> {
    const dataKey = randomBytes(32);
    if (choice.algorithm === "AES256") {
      const { blob } = await this.kms.encrypt(await this.serviceKey(call.region), dataKey, objectContext(bucket, key));
      return { dataKey, sse: { algorithm: "AES256", wrappedKey: blob.toString("base64") } };
    }
    if (choice.algorithm === "SSE-C") {
      const customer = choice.customerKey!;
      const salt = randomBytes(16);
      return {
        dataKey,
        sse: {
          algorithm: "SSE-C",
          wrappedKey: seal(customer.key, dataKey, Buffer.from(sseCContext(bucket, key), "utf8")).toString("base64"),
          customerKeyMd5: customer.md5,
          customerKeySalt: salt.toString("base64"),
          customerKeyHmac: createHmac("sha256", salt).update(customer.key).digest("base64"),
        },
      };
    }
    // With a bucket key the context names the bucket (as on S3), else the object.
    const arn = choice.bucketKey ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
    const context = { ...(choice.context ?? {}), "aws:s3:arn": arn };
    const named = choice.kmsKeyId ?? (await this.managedKey(call));
    const kmsCall = this.kmsCall(call, "kms:GenerateDataKey", { KeyId: named, EncryptionContext: context });
    const kmsKey = await this.kmsStep(call, kmsCall, false, () =>
      this.kms.resolveKey(kmsCall, named, { aliases: true, state: "cryptographic", crossAccount: true }),
    );
    if (this.kms.isAsymmetric(kmsKey) || kmsKey.keyUsage !== "ENCRYPT_DECRYPT") {
      throw new ServiceError(
        "InvalidArgument",
        `${keyArn(kmsKey.region, kmsKey.accountId, kmsKey.keyId)} is not a symmetric encryption key.`,
      );
    }
    const kmsKeyArn = keyArn(kmsKey.region, kmsKey.accountId, kmsKey.keyId);
    // S3 names the key to KMS by its ARN, and asks for an AES_256 data key; so the KMS event says.
    kmsCall.trail.input = { KeyId: kmsKeyArn, KeySpec: "AES_256", EncryptionContext: context };
    if (choice.bucketKey) {
      const bucketKey = await this.bucketKeyFor(kmsKey, bucket, context);
      // Only a new bucket key is a KMS operation; a cached one saves it, as on S3.
      if (bucketKey.fresh) {
        kmsCall.trail.additional = { ...kmsCall.trail.additional, keyMaterialId: bucketKey.materialId! };
        this.recordKms(call, kmsCall);
      }
      const wrapped = seal(bucketKey.plain, dataKey, Buffer.from(bucketKeyContext(bucket, key), "utf8"));
      return {
        dataKey,
        sse: { algorithm: "aws:kms", wrappedKey: wrapped.toString("base64"), kmsKeyArn, context, bucketKey: bucketKey.blob },
      };
    }
    const { blob, materialId } = await this.kms.encrypt(kmsKey, dataKey, context);
    kmsCall.trail.additional = { ...kmsCall.trail.additional, keyMaterialId: materialId };
    this.recordKms(call, kmsCall);
    return { dataKey, sse: { algorithm: "aws:kms", wrappedKey: blob.toString("base64"), kmsKeyArn, context } };
  }

  /**
   * The object's data key, unwrapped for the caller: through KMS for SSE-KMS (a disabled key
   * makes the object unreadable), with the customer's key for SSE-C (a wrong key is AccessDenied).
   */
  /** A stored data key that does not open under its key: reported, and the error to throw. */
  private dataKeyFailure(read: ObjectRead, mode: string): ServiceError {
    this.integrityFailure(read, `the stored ${mode} data key failed authentication`);
    return new ServiceError("InternalFailure", "The stored data key failed its integrity check.");
  }

  /**
   * KMS unwrapping a data key keyhold stored: every input is keyhold's own (the blob, its
   * context, the key's ARN), so KMS finding the ciphertext invalid or under another key means the
   * stored metadata changed, an integrity failure. KMS's own event keeps KMS's error.
   */
  private async storedKey<T>(read: ObjectRead, mode: string, unwrap: () => Promise<T>): Promise<T> {
    try {
      return await unwrap();
    } catch (error) {
      if (error instanceof ServiceError && (error.code === "InvalidCiphertextException" || error.code === "IncorrectKeyException")) {
        throw this.dataKeyFailure(read, mode);
      }
      throw error;
    }
  }

  async dataKey(call: CallContext, bucket: string, key: string, sse: ObjectSse, customer: CustomerKey | undefined): Promise<Buffer> {
    if (sse.algorithm === "SSE-C") {
      if (!customer) {
        throw new ServiceError(
          "InvalidRequest",
          "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        );
      }
      const hmac = createHmac("sha256", Buffer.from(sse.customerKeySalt!, "base64")).update(customer.key).digest();
      const stored = Buffer.from(sse.customerKeyHmac!, "base64");
      if (hmac.length !== stored.length || !timingSafeEqual(hmac, stored)) {
        throw new ServiceError("AccessDenied", "The provided customer key does not match the key the object was encrypted with.");
      }
      const opened = openSealed(customer.key, Buffer.from(sse.wrappedKey, "base64"), Buffer.from(sseCContext(bucket, key), "utf8"));
      if (!opened) throw this.dataKeyFailure({ call, bucket, key }, "SSE-C");
      return opened;
    }
    if (customer) throw new ServiceError("InvalidRequest", "The encryption parameters are not applicable to this object.");
    if (sse.algorithm === "AES256") {
      const opened = await this.kms.decryptForService(SERVICE_ACCOUNT, Buffer.from(sse.wrappedKey, "base64"), objectContext(bucket, key));
      if (!opened) throw this.dataKeyFailure({ call, bucket, key }, "SSE-S3");
      return opened;
    }
    const kmsCall = this.kmsCall(call, "kms:Decrypt", { KeyId: sse.kmsKeyArn, EncryptionContext: sse.context });
    kmsCall.trail.defaults = { encryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    if (sse.bucketKey !== undefined) {
      // The caller's kms:Decrypt and the key's state are checked on every read; only the
      // unwrapping of the bucket key is saved while it is cached.
      await this.kmsStep(call, kmsCall, false, () =>
        this.kms.resolveKey(kmsCall, sse.kmsKeyArn!, { aliases: false, state: "cryptographic", crossAccount: true, action: "kms:Decrypt" }),
      );
      let plain = this.openBucketKey(sse.bucketKey);
      if (!plain) {
        const { plaintext, materialId } = await this.storedKey({ call, bucket, key }, "SSE-KMS bucket key", () =>
          this.kmsStep(call, kmsCall, true, () =>
            this.kms.decrypt(kmsCall, Buffer.from(sse.bucketKey!, "base64"), sse.context, sse.kmsKeyArn),
          ),
        );
        kmsCall.trail.additional = { ...kmsCall.trail.additional, keyMaterialId: materialId };
        plain = this.rememberBucketKey(sse.bucketKey, plaintext);
      }
      const opened = openSealed(plain, Buffer.from(sse.wrappedKey, "base64"), Buffer.from(bucketKeyContext(bucket, key), "utf8"));
      if (!opened) throw this.dataKeyFailure({ call, bucket, key }, "SSE-KMS bucket key");
      return opened;
    }
    const { plaintext, materialId } = await this.storedKey({ call, bucket, key }, "SSE-KMS", () =>
      this.kmsStep(call, kmsCall, true, () => this.kms.decrypt(kmsCall, Buffer.from(sse.wrappedKey, "base64"), sse.context, sse.kmsKeyArn)),
    );
    kmsCall.trail.additional = { ...kmsCall.trail.additional, keyMaterialId: materialId };
    return plaintext;
  }
}

interface ChunkBatch {
  first: number;
  n: number;
  bytes: Promise<Buffer>;
}

/** Throws (PreconditionFailed, NoSuchKey) when a conditional write may not replace this object. */
export type WriteCondition = (existing: ObjectBody | undefined) => void;

/** A bucket the request names, and the account the request says owns it. */
export interface ExpectedOwner {
  bucket: string;
  account: string;
}

/** An SSE-C key as the request gave it, checked. */
export interface CustomerKey {
  key: Buffer;
  md5: string;
}

/** How a new object is to be encrypted. */
export interface SseChoice {
  algorithm: SseAlgorithm;
  kmsKeyId?: string;
  context?: Record<string, string>;
  customerKey?: CustomerKey;
  /** SSE-KMS through an S3 Bucket Key. */
  bucketKey?: boolean;
}

/**
 * Whether an object's ETag is the MD5 of its bytes. S3 says so for unencrypted and SSE-S3
 * objects; for SSE-KMS and SSE-C the ETag is "not an MD5 digest of their object data", so keyhold
 * spends no time computing one for them.
 */
export function etagIsMd5(algorithm: SseAlgorithm): boolean {
  return algorithm === "AES256";
}

/** An object's (or part's) ETag: the MD5 when there is one, else 16 random bytes, as opaque as S3's. */
export function etagOf(md5Hex: string | undefined): string {
  return `"${md5Hex ?? randomBytes(16).toString("hex")}"`;
}

/**
 * The ETag of a copy, from the plaintext it is made of: hashed as it flows when the copy's
 * encryption calls for an MD5 ETag. Call the result once the plaintext has ended.
 */
export function copyEtag(plaintext: Readable, algorithm: SseAlgorithm): () => string {
  const md5 = etagIsMd5(algorithm) ? createHash("md5") : undefined;
  if (md5) plaintext.on("data", (c: Buffer) => md5.update(c));
  return () => etagOf(md5?.digest("hex"));
}

/** Binds an SSE-S3 data key to its object, as SSE-KMS does: a wrapped key moved to another object does not open. */
function objectContext(bucket: string, key: string): Record<string, string> {
  return { "aws:s3:arn": `arn:aws:s3:::${bucket}/${key}` };
}

function bucketKeyContext(bucket: string, key: string): string {
  return `keyhold:s3-bucket-key:v1:${bucket}/${key}`;
}

function sseCContext(bucket: string, key: string): string {
  return `keyhold:s3-sse-c:v1:${bucket}/${key}`;
}
