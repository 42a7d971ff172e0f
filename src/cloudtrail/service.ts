/**
 * CloudTrail's trails: what a trail is (kept as a repository document, so every worker and node
 * sees the same trails and a restart keeps them), how a trail is named (name or ARN), and the
 * checks CloudTrail makes before it accepts a bucket or a KMS key: CloudTrail itself must be
 * allowed to write there, by the bucket's policy and the key's policy, as on AWS.
 */
import { randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { AuditStore } from "../audit/store.js";
import type { AuditSigningKey } from "../audit/signing-key.js";
import { sequenceOf } from "../audit/segments.js";
import type { KeyStore } from "../keystore/keystore.js";
import type { Principal } from "../iam/principal.js";
import type { S3Service } from "../s3/service.js";
import type { RemoteS3 } from "./remote-s3.js";
import type { Repository } from "../store/repository.js";
import type { DocumentRecord } from "../store/records.js";

export const TRAIL_KIND = "cloudtrail-trail";
/** Every trail document carries this ref, so the delivery pass lists all trails of all accounts in one query. */
export const TRAIL_REF = "trail";
/** CloudTrail's service principal, which bucket and key policies name to let it deliver. */
export const CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com";
/** CloudTrail's quota: five trails per region per account. */
export const MAX_TRAILS_PER_REGION = 5;
/**
 * keyhold's own cap on an account's trails over all regions. Any region-shaped name is accepted,
 * so the per-region quota alone bounds nothing; each trail costs every delivery pass some work.
 */
export const MAX_TRAILS_PER_ACCOUNT = 50;

export interface EventSelector {
  ReadWriteType: "ReadOnly" | "WriteOnly" | "All";
  IncludeManagementEvents: boolean;
  ExcludeManagementEventSources: string[];
}

/** Where a region's digest chain stands: the last digest delivered, which the next names. */
export interface DigestHead {
  endTime: number;
  bucket: string;
  key: string;
  signature: string;
  hash: string;
}

export interface TrailBody {
  name: string;
  accountId: string;
  homeRegion: string;
  arn: string;
  s3BucketName: string;
  s3KeyPrefix?: string;
  includeGlobalServiceEvents: boolean;
  isMultiRegionTrail: boolean;
  logFileValidationEnabled: boolean;
  kmsKeyId?: string;
  eventSelectors: EventSelector[];
  hasCustomEventSelectors: boolean;
  isLogging: boolean;
  startLoggingTime?: number;
  stopLoggingTime?: number;
  /** Per audit chain, the last sequence number delivered (or passed over): where the next delivery starts. */
  cursor: Record<string, number>;
  /** Per region, the newest digest of the trail's digest chain in that region. */
  digests: Record<string, DigestHead>;
  latestDeliveryTime?: number;
  latestDigestDeliveryTime?: number;
  latestDeliveryAttemptTime?: number;
  latestDeliveryError?: string;
  latestDigestDeliveryError?: string;
}

export interface CloudTrailDependencies {
  audit: AuditStore;
  repo: Repository;
  s3: S3Service;
  keystore: KeyStore;
  clock: Clock;
  /** Set when trails deliver to another S3-compatible endpoint than keyhold's own. */
  remote?: RemoteS3;
}

export const DEFAULT_SELECTORS: readonly EventSelector[] = [
  { ReadWriteType: "All", IncludeManagementEvents: true, ExcludeManagementEventSources: [] },
];

const TRAIL_ARN = /^arn:aws:cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

/**
 * CloudTrail's trail-name rules: 3–128 characters of letters, digits, period, underscore and
 * dash; a letter or digit first and last; no adjacent punctuation such as "..", "_-", "-_" or
 * "--"; not an IP address.
 */
export function checkTrailName(name: string): void {
  const ok =
    name.length >= 3 &&
    name.length <= 128 &&
    /^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$/.test(name) &&
    !/[._-][._-]/.test(name) &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name);
  if (!ok) {
    throw new ServiceError(
      "InvalidTrailNameException",
      `Trail name ${name} is not valid: use 3-128 letters, digits, periods, underscores or dashes, starting and ending with a letter or digit, without adjacent punctuation.`,
    );
  }
}

export function trailArn(region: string, accountId: string, name: string): string {
  return `arn:aws:cloudtrail:${region}:${accountId}:trail/${name}`;
}

/**
 * The resource a CloudTrail call is authorized on, as IAM sees it: the trail's ARN for the
 * operations on one trail (named by Name or TrailName, as a name in the caller's region or an ARN),
 * "*" for the others (DescribeTrails, ListTrails, ListPublicKeys, LookupEvents). So an identity
 * policy scoped to `arn:aws:cloudtrail:<region>:<account>:trail/<name>` allows exactly that trail.
 */
export function trailResource(call: { region: string; accountId: string }, raw: unknown): string {
  if (typeof raw !== "object" || raw === null) return "*";
  const input = raw as Record<string, unknown>;
  const name = typeof input.Name === "string" ? input.Name : typeof input.TrailName === "string" ? input.TrailName : undefined;
  if (name === undefined || name === "") return "*";
  // An ARN that is not a trail's is refused by the operation (CloudTrailARNInvalidException) once the caller may act.
  if (name.startsWith("arn:")) return TRAIL_ARN.test(name) ? name : "*";
  return trailArn(call.region, call.accountId, name);
}

export class CloudTrailService {
  readonly audit: AuditStore;
  readonly repo: Repository;
  readonly s3: S3Service;
  readonly keystore: KeyStore;
  readonly clock: Clock;
  readonly remote: RemoteS3 | undefined;
  private key: AuditSigningKey | undefined;
  /** Per audit chain, the last sequence number this process has seen: where the next look for the chain's end starts. */
  private readonly seenEnds = new Map<string, number>();

  constructor(deps: CloudTrailDependencies) {
    this.audit = deps.audit;
    this.repo = deps.repo;
    this.s3 = deps.s3;
    this.keystore = deps.keystore;
    this.clock = deps.clock;
    this.remote = deps.remote;
  }

  /** The digest-signing key: the audit trail's own RSA-2048 key, kept wrapped by the key store. */
  async signingKey(): Promise<AuditSigningKey> {
    this.key ??= await this.audit.signingKey(this.keystore, this.clock.now());
    return this.key;
  }

  /**
   * Each audit chain's last sequence number now: a trail that starts logging reads from there, so
   * it delivers the events from when it started, not the retained history (as on AWS). The look
   * starts at the end this process saw last, so only the first look of a process reads a chain whole.
   */
  async chainEnds(): Promise<Record<string, number>> {
    const ends: Record<string, number> = {};
    for (const chain of await this.audit.chains()) {
      let last = this.seenEnds.get(chain) ?? 0;
      for await (const row of this.audit.records(chain, last + 1)) last = sequenceOf(row.record);
      this.noteEnd(chain, last);
      ends[chain] = last;
    }
    return ends;
  }

  /** Remembers that a chain reaches at least `seq` (the delivery tells what it read). */
  noteEnd(chain: string, seq: number): void {
    if (seq > (this.seenEnds.get(chain) ?? 0)) this.seenEnds.set(chain, seq);
  }

  /**
   * The trail a Name names: a trail name in the caller's region, or a trail ARN of the caller's
   * account (whose region may be another: a multi-region trail's shadow is read from anywhere).
   */
  async find(call: CallContext, nameOrArn: string): Promise<{ doc: DocumentRecord; body: TrailBody }> {
    let region = call.region;
    let name = nameOrArn;
    if (nameOrArn.startsWith("arn:")) {
      const m = TRAIL_ARN.exec(nameOrArn);
      if (!m)
        throw new ServiceError(
          "CloudTrailARNInvalidException",
          `${nameOrArn} is not a trail ARN (arn:aws:cloudtrail:<region>:<account>:trail/<name>).`,
        );
      if (m[2] !== call.accountId)
        throw new ServiceError("TrailNotFoundException", `Unknown trail: ${nameOrArn} for the user: ${call.accountId}`);
      region = m[1]!;
      name = m[3]!;
    }
    checkTrailName(name);
    const doc = await this.repo.getDocument(TRAIL_KIND, call.accountId, `${region}/${name}`);
    if (!doc)
      throw new ServiceError(
        "TrailNotFoundException",
        `Unknown trail: ${trailArn(region, call.accountId, name)} for the user: ${call.accountId}`,
      );
    return { doc, body: JSON.parse(doc.body) as TrailBody };
  }

  /** As `find`, for a change: CloudTrail changes a trail only in its home region. */
  async findForChange(call: CallContext, nameOrArn: string): Promise<{ doc: DocumentRecord; body: TrailBody }> {
    const found = await this.find(call, nameOrArn);
    if (found.body.homeRegion !== call.region) {
      throw new ServiceError(
        "InvalidHomeRegionException",
        `This operation must be called from the trail's home region ${found.body.homeRegion}.`,
      );
    }
    return found;
  }

  /** The account's trails in a region: its own, and (shadow trails) the multi-region trails of other regions. */
  async list(accountId: string, region?: string): Promise<TrailBody[]> {
    const out: TrailBody[] = [];
    let after: string | undefined;
    do {
      const page = await this.repo.listDocuments(TRAIL_KIND, accountId, "", after, 100);
      for (const doc of page.items) {
        const body = JSON.parse(doc.body) as TrailBody;
        if (region === undefined || body.homeRegion === region || body.isMultiRegionTrail) out.push(body);
      }
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** Stores a changed trail at the revision it was read at; a concurrent change is ConflictException's business. */
  async save(doc: DocumentRecord, body: TrailBody): Promise<boolean> {
    return this.repo.putDocument({ ...doc, body: JSON.stringify(body), revision: doc.revision + 1 }, doc.revision);
  }

  /** Creates a trail document; false when the name is taken. */
  async create(body: TrailBody): Promise<boolean> {
    return this.repo.putDocument(
      {
        kind: TRAIL_KIND,
        accountId: body.accountId,
        name: `${body.homeRegion}/${body.name}`,
        ref: TRAIL_REF,
        body: JSON.stringify(body),
        revision: 1,
        createdAt: this.clock.now(),
      },
      "new",
    );
  }

  /**
   * CloudTrail's own call to S3 or KMS for a trail: the service principal, acting in the bucket's
   * account (a service principal has no account of its own; the resource's policy alone decides),
   * with aws:SourceArn and aws:SourceAccount naming the trail, as AWS sets them for a service.
   */
  serviceCall(trail: Pick<TrailBody, "arn" | "accountId" | "homeRegion">, resourceAccount: string, action: string): CallContext {
    const principal: Principal = {
      type: "AWSService",
      accountId: resourceAccount,
      // Policies keep a "Service" principal as "service:<name>"; matching the ARN to it lets only that element name CloudTrail.
      arn: `service:${CLOUDTRAIL_PRINCIPAL}`,
      principalId: CLOUDTRAIL_PRINCIPAL,
    };
    return {
      accountId: resourceAccount,
      region: trail.homeRegion,
      accessKeyId: "",
      principal,
      time: this.clock.now(),
      secureTransport: true,
      requestId: randomUUID(),
      action,
      trail: { resources: [] },
      // Every policy CloudTrail's request meets (the bucket's, the key's) sees which trail it is for.
      source: { arn: trail.arn, account: trail.accountId },
    };
  }

  /** The condition keys CloudTrail's S3 requests carry. */
  sourceConditions(trail: Pick<TrailBody, "arn" | "accountId">): Record<string, string> {
    return { "aws:sourcearn": trail.arn, "aws:sourceaccount": trail.accountId };
  }

  /**
   * CloudTrail checks at CreateTrail and UpdateTrail that it may deliver: the bucket exists, and its
   * policy lets the service principal read its ACL and put objects under the trail's prefix.
   */
  async checkBucket(
    trail: Pick<TrailBody, "arn" | "accountId" | "homeRegion" | "s3BucketName" | "s3KeyPrefix" | "kmsKeyId">,
  ): Promise<void> {
    // Elsewhere the remote's own policies decide; keyhold can only ask whether the bucket is there for its key.
    if (this.remote) return this.remote.checkBucket(trail.s3BucketName);
    const bucket = await this.s3.bucket(trail.s3BucketName);
    if (!bucket) throw new ServiceError("S3BucketDoesNotExistException", `S3 bucket ${trail.s3BucketName} does not exist.`);
    // The request deliveries will make, so a policy that insists on SSE-KMS (or anything CloudTrail sends) is judged as it will be.
    const conditions = { ...this.sourceConditions(trail), ...deliveryConditions(trail.kmsKeyId) };
    const probeKey = `${trail.s3KeyPrefix ? `${trail.s3KeyPrefix}/` : ""}AWSLogs/${trail.accountId}/`;
    try {
      const acl = this.serviceCall(trail, bucket.body.owner, "s3:GetBucketAcl");
      await this.s3.authorize(acl, "s3:GetBucketAcl", trail.s3BucketName, bucket.body, undefined, conditions);
      const put = this.serviceCall(trail, bucket.body.owner, "s3:PutObject");
      await this.s3.authorize(put, "s3:PutObject", trail.s3BucketName, bucket.body, probeKey, conditions);
    } catch (error) {
      if (error instanceof ServiceError && (error.code === "AccessDeniedException" || error.code === "AccessDenied")) {
        throw new ServiceError(
          "InsufficientS3BucketPolicyException",
          `Incorrect S3 bucket policy is detected for bucket: ${trail.s3BucketName}: it must allow ${CLOUDTRAIL_PRINCIPAL} s3:GetBucketAcl on the bucket and s3:PutObject on arn:aws:s3:::${trail.s3BucketName}/${probeKey}*.`,
        );
      }
      throw error;
    }
  }

  /**
   * A trail's KMS key must exist in the trail's region and let CloudTrail make data keys with it
   * (its key policy names the service principal); returns the key's ARN, which CloudTrail reports.
   */
  async checkKmsKey(trail: Pick<TrailBody, "arn" | "accountId" | "homeRegion">, kmsKeyId: string): Promise<string> {
    // A remote endpoint's KMS key is the remote's: it is named in each delivery, and the remote refuses it or not.
    if (this.remote) return kmsKeyId;
    const call = this.serviceCall(trail, trail.accountId, "kms:GenerateDataKey");
    // The request deliveries will make: the key policy AWS documents for CloudTrail names the trail
    // by aws:SourceArn and by the encryption context's aws:cloudtrail:arn.
    call.trail.input = { KeyId: kmsKeyId, EncryptionContext: trailEncryptionContext(trail) };
    try {
      const key = await this.s3.kms.resolveKey(call, kmsKeyId, { aliases: true, state: "cryptographic", crossAccount: true });
      if (this.s3.kms.isAsymmetric(key) || key.keyUsage !== "ENCRYPT_DECRYPT") {
        throw new ServiceError("KmsException", `${kmsKeyId} is not a symmetric encryption key.`);
      }
      return this.s3.kms.arnOf(key);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      if (error.code === "NotFoundException")
        throw new ServiceError("KmsKeyNotFoundException", `KMS key ${kmsKeyId} does not exist in ${trail.homeRegion}.`);
      if (error.code === "AccessDeniedException") {
        throw new ServiceError(
          "InsufficientEncryptionPolicyException",
          `The key policy of ${kmsKeyId} does not allow ${CLOUDTRAIL_PRINCIPAL} kms:GenerateDataKey.`,
        );
      }
      if (error.code === "KmsException") throw error;
      throw new ServiceError("KmsException", `KMS key ${kmsKeyId} cannot be used: ${error.message}`);
    }
  }
}

/** The encryption context CloudTrail gives a trail's SSE-KMS files (S3 adds aws:s3:arn): the trail's ARN. */
export function trailEncryptionContext(trail: Pick<TrailBody, "arn">): Record<string, string> {
  return { "aws:cloudtrail:arn": trail.arn };
}

/** The S3 condition keys of CloudTrail's PutObject: the ACL it sets, and SSE-KMS when the trail names a key. */
export function deliveryConditions(kmsKeyId: string | undefined): Record<string, string> {
  const out: Record<string, string> = { "s3:x-amz-acl": "bucket-owner-full-control" };
  if (kmsKeyId) {
    out["s3:x-amz-server-side-encryption"] = "aws:kms";
    out["s3:x-amz-server-side-encryption-aws-kms-key-id"] = kmsKeyId;
  }
  return out;
}

/** A trail as DescribeTrails and GetTrail show it. */
export function trailView(t: TrailBody) {
  return {
    Name: t.name,
    S3BucketName: t.s3BucketName,
    S3KeyPrefix: t.s3KeyPrefix,
    IncludeGlobalServiceEvents: t.includeGlobalServiceEvents,
    IsMultiRegionTrail: t.isMultiRegionTrail,
    HomeRegion: t.homeRegion,
    TrailARN: t.arn,
    LogFileValidationEnabled: t.logFileValidationEnabled,
    KmsKeyId: t.kmsKeyId,
    HasCustomEventSelectors: t.hasCustomEventSelectors,
    HasInsightSelectors: false,
    IsOrganizationTrail: false,
  };
}
