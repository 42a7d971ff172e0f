/**
 * CloudTrail's delivery: on an interval, each logging trail's new records go to its S3 bucket as
 * log files, and a signed digest file covering them goes beside them, chained to the previous
 * digest, in the object key layout and formats `aws cloudtrail validate-logs` reads (docs/audit.md):
 *
 *   [<prefix>/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz
 *   [<prefix>/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz
 *
 * Files are written through the S3 service as CloudTrail writes them on AWS: as the service
 * principal cloudtrail.amazonaws.com, allowed by the bucket's policy (and, for SSE-KMS, the key's).
 * A trail's cursor (per audit chain, the last sequence number handed over) and its digest head
 * (per region) live in the trail's document and move only once the files are written, so a
 * restart neither skips nor repeats a record (a crash between the write and the save repeats
 * the records of that one pass in a later file; the digest chain skips the orphan digest).
 */
import { createHash, createSign, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { ServiceError } from "../errors.js";
import { etagOf, type ObjectBody, type SseChoice } from "../s3/service.js";
import {
  TRAIL_KIND,
  TRAIL_REF,
  deliveryConditions,
  trailEncryptionContext,
  type CloudTrailService,
  type DigestHead,
  type TrailBody,
} from "./service.js";

/** At most this many records are read per pass (the rest wait for the next pass), and per log file. */
const MAX_RECORDS_PER_PASS = 50_000;
const MAX_RECORDS_PER_FILE = 5_000;
/** A region whose digest chain saw no log file gets an empty digest hourly, as CloudTrail's digests are hourly. */
const EMPTY_DIGEST_MS = 3_600_000;
const HASH_ALGORITHM = "SHA-256";
const SIGNATURE_ALGORITHM = "SHA256withRSA";

export interface DeliveryReport {
  logFiles: string[];
  digestFiles: string[];
  errors: string[];
}

interface Entry {
  time: number;
  text: string;
}

/** A trail a pass delivers for: its document as listed, where it will have read to, and the records it logs by region. */
interface Due {
  /** The trail document's name (`<home region>/<trail name>`). */
  docName: string;
  trail: TrailBody;
  cursor: Record<string, number>;
  byRegion: Map<string, Entry[]>;
}

interface DeliveredFile {
  bucket: string;
  key: string;
  hash: string;
  newest: number;
  oldest: number;
}

/** 2015-08-17T14:01:31Z: CloudTrail's digest times, to the second. */
function isoSeconds(time: number): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function compact(time: number, seconds: boolean): string {
  const s = isoSeconds(time).replace(/[-:]/g, "");
  return seconds ? s : `${s.slice(0, 13)}Z`;
}

function ymd(time: number): string {
  return new Date(time).toISOString().slice(0, 10).replace(/-/g, "/");
}

function uniqueSuffix(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join("");
}

function prefixed(trail: TrailBody, key: string): string {
  return trail.s3KeyPrefix ? `${trail.s3KeyPrefix}/${key}` : key;
}

export function logFileKey(trail: TrailBody, region: string, now: number): string {
  const a = trail.accountId;
  return prefixed(
    trail,
    `AWSLogs/${a}/CloudTrail/${region}/${ymd(now)}/${a}_CloudTrail_${region}_${compact(now, false)}_${uniqueSuffix()}.json.gz`,
  );
}

export function digestFileKey(trail: TrailBody, region: string, end: number): string {
  const a = trail.accountId;
  return prefixed(
    trail,
    `AWSLogs/${a}/CloudTrail-Digest/${region}/${ymd(end)}/${a}_CloudTrail-Digest_${region}_${trail.name}_${trail.homeRegion}_${compact(end, true)}.json.gz`,
  );
}

/** The fields of a stored record delivery reads to choose the records of a trail. */
interface RecordFields {
  /** keyhold's chain fields: the record's sequence number in its audit chain. */
  additionalEventData: { keyholdSequence: number };
  eventTime: string;
  eventSource: string;
  awsRegion?: string | null;
  recipientAccountId?: string | null;
  readOnly?: boolean;
  managementEvent?: boolean;
}

const GLOBAL_SOURCES = new Set(["iam.amazonaws.com", "sts.amazonaws.com", "organizations.amazonaws.com"]);

/** Whether the trail logs the record: its account, its region(s), the window it logs, and its event selectors. */
export function trailLogs(trail: TrailBody, r: RecordFields, time: number): boolean {
  if (r.recipientAccountId !== trail.accountId) return false;
  if (!trail.isMultiRegionTrail && r.awsRegion !== trail.homeRegion) return false;
  if (!trail.includeGlobalServiceEvents && GLOBAL_SOURCES.has(r.eventSource)) return false;
  // Record times are to the second: an event in the second logging started is the trail's.
  if (trail.startLoggingTime === undefined || time < Math.floor(trail.startLoggingTime / 1000) * 1000) return false;
  if (r.managementEvent === false) return false;
  return trail.eventSelectors.some(
    (s) =>
      s.IncludeManagementEvents &&
      (s.ReadWriteType === "All" || (s.ReadWriteType === "ReadOnly") === (r.readOnly === true)) &&
      !s.ExcludeManagementEventSources.includes(r.eventSource),
  );
}

export class TrailDelivery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<DeliveryReport> | undefined;

  constructor(
    private readonly ct: CloudTrailService,
    private readonly log: (message: string) => void = () => {},
  ) {}

  start(intervalMs: number): void {
    const run = () => {
      this.tick().catch((error: unknown) => this.log(`trail delivery failed: ${(error as Error).stack ?? String(error)}`));
    };
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One delivery pass over every trail; overlapping calls share the pass in progress. Tests call it directly. */
  tick(): Promise<DeliveryReport> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<DeliveryReport> {
    const report: DeliveryReport = { logFiles: [], digestFiles: [], errors: [] };
    // Several nodes on one database: only the scheduler's lease holder delivers, so no file is written twice.
    if (!(await this.ct.repo.schedulerLease())) return report;
    // Digest files are named to the second and each must end after the one before it.
    const now = Math.floor(this.ct.clock.now() / 1000) * 1000;
    const due: Due[] = [];
    let after: string | undefined;
    do {
      const page = await this.ct.repo.listDocumentsByRef(TRAIL_KIND, TRAIL_REF, after, 100);
      for (const doc of page.items) {
        const trail = JSON.parse(doc.body) as TrailBody;
        if (!trail.isLogging || Object.values(trail.digests).some((d) => d.endTime >= now)) continue;
        due.push({ docName: doc.name, trail, cursor: { ...trail.cursor }, byRegion: new Map() });
      }
      after = page.next;
    } while (after !== undefined);
    if (due.length === 0) return report;
    await this.gather(due);
    for (const one of due) await this.deliverTrail(one, now, report);
    return report;
  }

  /**
   * Reads each audit chain's new records once, from the smallest cursor of the trails due, and
   * hands each record to every trail that logs it; a trail's cursor moves over every record read
   * past it. So a pass costs one read of the new records however many trails there are.
   */
  private async gather(due: Due[]): Promise<void> {
    const byAccount = new Map<string, Due[]>();
    for (const one of due) {
      let list = byAccount.get(one.trail.accountId);
      if (!list) byAccount.set(one.trail.accountId, (list = []));
      list.push(one);
    }
    let read = 0;
    for (const chain of await this.ct.audit.chains()) {
      if (read >= MAX_RECORDS_PER_PASS) break;
      const from = Math.min(...due.map((one) => one.cursor[chain] ?? 0));
      let last = from;
      for await (const row of this.ct.audit.records(chain, from + 1)) {
        const fields = JSON.parse(row.record) as RecordFields;
        const seq = fields.additionalEventData.keyholdSequence;
        last = seq;
        for (const one of byAccount.get(fields.recipientAccountId ?? "") ?? []) {
          if (seq <= (one.cursor[chain] ?? 0) || !trailLogs(one.trail, fields, row.time)) continue;
          const region = fields.awsRegion ?? one.trail.homeRegion;
          let list = one.byRegion.get(region);
          if (!list) one.byRegion.set(region, (list = []));
          list.push({ time: row.time, text: row.record });
        }
        if (++read >= MAX_RECORDS_PER_PASS) break;
      }
      this.ct.noteEnd(chain, last);
      for (const one of due) if (last > (one.cursor[chain] ?? 0)) one.cursor[chain] = last;
    }
  }

  private async deliverTrail(due: Due, now: number, report: DeliveryReport): Promise<void> {
    const { docName, trail, cursor, byRegion } = due;
    const state = {
      startLoggingTime: trail.startLoggingTime,
      cursor,
      digests: { ...trail.digests },
      delivered: false,
      digested: false,
      error: undefined as string | undefined,
    };
    const files = new Map<string, DeliveredFile[]>();
    try {
      for (const [region, entries] of byRegion) {
        const list: DeliveredFile[] = [];
        for (let i = 0; i < entries.length; i += MAX_RECORDS_PER_FILE) {
          const batch = entries.slice(i, i + MAX_RECORDS_PER_FILE);
          const text = `{"Records":[${batch.map((e) => e.text).join(",")}]}`;
          const key = logFileKey(trail, region, now);
          await this.put(trail, key, gzipSync(text), {});
          report.logFiles.push(`s3://${trail.s3BucketName}/${key}`);
          list.push({
            bucket: trail.s3BucketName,
            key,
            hash: createHash("sha256").update(text).digest("hex"),
            newest: Math.max(...batch.map((e) => e.time)),
            oldest: Math.min(...batch.map((e) => e.time)),
          });
        }
        files.set(region, list);
        state.delivered = true;
      }
      if (trail.logFileValidationEnabled) {
        const regions = new Set([...files.keys()]);
        for (const [region, head] of Object.entries(state.digests)) if (now - head.endTime >= EMPTY_DIGEST_MS) regions.add(region);
        if (state.digests[trail.homeRegion] === undefined) regions.add(trail.homeRegion);
        for (const region of regions) {
          const head = await this.deliverDigest(trail, region, state.digests[region], files.get(region) ?? [], now);
          state.digests[region] = head;
          report.digestFiles.push(`s3://${head.bucket}/${head.key}`);
          state.digested = true;
        }
      } else {
        // With validation off the digest chain ends; turned on again, a new chain starts (as on AWS).
        state.digests = {};
      }
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      state.error = error.code;
      report.errors.push(`${trail.arn}: ${error.code}: ${error.message}`);
      this.log(`CloudTrail delivery for ${trail.arn} failed: ${error.code}: ${error.message}`);
    }
    // A pass that found nothing to write for the trail and moved nothing is no delivery attempt:
    // the document stays as it is, so an idle pass costs no write per trail.
    const unchanged =
      !state.delivered &&
      !state.digested &&
      state.error === undefined &&
      trail.latestDeliveryError === undefined &&
      JSON.stringify(state.cursor) === JSON.stringify(trail.cursor) &&
      JSON.stringify(state.digests) === JSON.stringify(trail.digests);
    if (!unchanged) await this.record(trail.accountId, docName, now, state);
  }

  /** Saves where the delivery got to, onto the trail as it is now (a trail changed meanwhile keeps its change). */
  private async record(
    accountId: string,
    name: string,
    now: number,
    state: {
      startLoggingTime?: number;
      cursor: Record<string, number>;
      digests: Record<string, DigestHead>;
      delivered: boolean;
      digested: boolean;
      error?: string;
    },
  ): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const doc = await this.ct.repo.getDocument(TRAIL_KIND, accountId, name);
      if (!doc) return;
      const trail = JSON.parse(doc.body) as TrailBody;
      trail.latestDeliveryAttemptTime = now;
      if (state.error) {
        trail.latestDeliveryError = state.error;
        if (trail.logFileValidationEnabled) trail.latestDigestDeliveryError = state.error;
      } else {
        // The records read move the cursor only when every file they went to was written; a
        // StartLogging meanwhile set the cursor to the chains' end, which a stale one must not undo.
        if (trail.startLoggingTime === state.startLoggingTime) trail.cursor = state.cursor;
        trail.digests = state.digests;
        trail.latestDeliveryError = undefined;
        trail.latestDigestDeliveryError = undefined;
        if (state.delivered) trail.latestDeliveryTime = now;
        if (state.digested) trail.latestDigestDeliveryTime = now;
      }
      if (await this.ct.save(doc, trail)) return;
    }
  }

  private async deliverDigest(
    trail: TrailBody,
    region: string,
    head: DigestHead | undefined,
    files: DeliveredFile[],
    now: number,
  ): Promise<DigestHead> {
    const key = await this.ct.signingKey();
    const bucket = trail.s3BucketName;
    const objectKey = digestFileKey(trail, region, now);
    const start = head?.endTime ?? trail.startLoggingTime ?? now;
    const times = files.flatMap((f) => [f.newest, f.oldest]);
    const digest = {
      awsAccountId: trail.accountId,
      digestStartTime: isoSeconds(start),
      digestEndTime: isoSeconds(now),
      digestS3Bucket: bucket,
      digestS3Object: objectKey,
      digestPublicKeyFingerprint: key.fingerprint,
      digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
      newestEventTime: times.length > 0 ? isoSeconds(Math.max(...times)) : null,
      oldestEventTime: times.length > 0 ? isoSeconds(Math.min(...times)) : null,
      previousDigestS3Bucket: head?.bucket ?? null,
      previousDigestS3Object: head?.key ?? null,
      previousDigestHashValue: head?.hash ?? null,
      previousDigestHashAlgorithm: head ? HASH_ALGORITHM : null,
      previousDigestSignature: head?.signature ?? null,
      logFiles: files.map((f) => ({
        s3Bucket: f.bucket,
        s3Object: f.key,
        hashValue: f.hash,
        hashAlgorithm: HASH_ALGORITHM,
        newestEventTime: isoSeconds(f.newest),
        oldestEventTime: isoSeconds(f.oldest),
      })),
    };
    const text = JSON.stringify(digest);
    const hash = createHash("sha256").update(text).digest("hex");
    // CloudTrail's string to sign (the validator's _create_string_to_sign): the first digest's previous signature is "null".
    const toSign = `${digest.digestEndTime}\n${bucket}/${objectKey}\n${hash}\n${head?.signature ?? "null"}`;
    const signature = createSign("sha256").update(toSign).sign(key.privateKey).toString("hex");
    await this.put(trail, objectKey, gzipSync(text), { signature, "signature-algorithm": SIGNATURE_ALGORITHM });
    return { endTime: now, bucket, key: objectKey, signature, hash };
  }

  /**
   * Puts a file as CloudTrail does: authorized as the service principal by the bucket's policy
   * (with aws:SourceArn, aws:SourceAccount and the bucket-owner-full-control ACL CloudTrail
   * sends), encrypted with the trail's KMS key (SSE-KMS) or else the bucket's default.
   */
  private async put(trail: TrailBody, key: string, body: Buffer, metadata: Record<string, string>): Promise<void> {
    if (this.ct.remote) return this.ct.remote.put(trail.s3BucketName, key, body, metadata, trail.kmsKeyId);
    const s3 = this.ct.s3;
    const bucket = await s3.requireBucket(trail.s3BucketName);
    const call = this.ct.serviceCall(trail, bucket.body.owner, "s3:PutObject");
    const defaults = bucket.body.encryption;
    const choice: SseChoice = trail.kmsKeyId
      ? {
          algorithm: "aws:kms",
          kmsKeyId: trail.kmsKeyId,
          bucketKey: defaults.bucketKeyEnabled === true,
          context: trailEncryptionContext(trail),
        }
      : defaults.algorithm === "aws:kms"
        ? { algorithm: "aws:kms", kmsKeyId: defaults.kmsKeyId, bucketKey: defaults.bucketKeyEnabled === true }
        : { algorithm: "AES256" };
    const conditions = { ...this.ct.sourceConditions(trail), ...deliveryConditions(trail.kmsKeyId) };
    await s3.authorize(call, "s3:PutObject", trail.s3BucketName, bucket.body, key, conditions);
    const { dataKey, sse } = await s3.newDataKey(call, trail.s3BucketName, key, choice);
    let stored;
    try {
      stored = await s3.storeEncrypted(dataKey, Readable.from([body]), () => undefined);
    } finally {
      dataKey.fill(0);
    }
    const object: ObjectBody = {
      size: stored.part.size,
      etag: etagOf(choice.algorithm === "AES256" ? createHash("md5").update(body).digest("hex") : undefined),
      lastModified: this.ct.clock.now(),
      contentType: "application/json",
      headers: {},
      metadata,
      parts: [stored.part],
      sse,
    };
    try {
      await s3.commitObject(trail.s3BucketName, key, object);
    } catch (error) {
      await s3.deleteFiles(object.parts);
      throw error;
    }
  }
}
