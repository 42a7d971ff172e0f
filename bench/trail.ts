/**
 * A synthetic audit trail with the variety of a real one, built by the same code that records
 * calls (record.ts buildEvent) so its records are byte for byte what keyhold writes: several
 * accounts, root, IAM users and role sessions, mostly KMS cryptographic calls on many keys, some
 * management and IAM calls, a few refusals. Used by `npm run bench:scale` (bench/scale.ts) and the
 * index's tests.
 */
import type { CallerIdentity, CompletedCall } from "../src/call.js";
import { buildEvent, type AuditEvent } from "../src/audit/record.js";
import type { AuditSigningKey } from "../src/audit/signing-key.js";
import type { AuditStore } from "../src/audit/store.js";

export interface TrailShape {
  accounts: string[];
  /** IAM users per account (each with one access key); a third of them call through a role session. */
  users: number;
  /** KMS keys per account. */
  keys: number;
  /** The first event's time, and the mean time between events. */
  start: number;
  stepMs: number;
}

/** Operations and their weights: mostly data-plane KMS calls, as a service's trail is. */
const OPERATIONS: [service: string, operation: string, readOnly: boolean, weight: number][] = [
  ["kms", "Encrypt", true, 30],
  ["kms", "Decrypt", true, 30],
  ["kms", "GenerateDataKey", true, 20],
  ["kms", "DescribeKey", true, 6],
  ["kms", "ListAliases", true, 3],
  ["kms", "Sign", true, 3],
  ["s3", "PutObject", false, 3],
  ["s3", "GetObject", true, 3],
  ["kms", "CreateKey", false, 0.3],
  ["kms", "ScheduleKeyDeletion", false, 0.05],
  ["iam", "CreateAccessKey", false, 0.1],
  ["sts", "AssumeRole", true, 1],
  ["cloudtrail", "LookupEvents", true, 0.5],
];
const TOTAL = OPERATIONS.reduce((n, o) => n + o[3], 0);

function operationAt(r: number): (typeof OPERATIONS)[number] {
  let x = r * TOTAL;
  for (const o of OPERATIONS) if ((x -= o[3]) < 0) return o;
  return OPERATIONS[0]!;
}

function keyId(account: string, k: number): string {
  const hex = (k * 2654435761 + Number(account.slice(-6))).toString(16).padStart(8, "0").slice(-8);
  return `${hex}-12ab-34cd-56ef-${String(k).padStart(12, "0")}`;
}

function callerOf(account: string, u: number): CallerIdentity {
  if (u === 0) {
    return {
      accountId: account,
      accessKeyId: `AKIAROOT${account.slice(0, 12)}`,
      principal: { type: "Root", accountId: account, arn: `arn:aws:iam::${account}:root`, principalId: account },
    };
  }
  if (u % 3 === 0) {
    return {
      accountId: account,
      accessKeyId: `ASIA${String(u).padStart(6, "0")}${account.slice(0, 10)}`,
      principal: {
        type: "AssumedRole",
        accountId: account,
        arn: `arn:aws:sts::${account}:assumed-role/worker-${u}/job-${u}`,
        principalId: `AROAWORKER${u}:job-${u}`,
        roleArn: `arn:aws:iam::${account}:role/worker-${u}`,
        roleName: `worker-${u}`,
        sessionName: `job-${u}`,
        issuedAt: undefined,
      },
    };
  }
  return {
    accountId: account,
    accessKeyId: `AKIA${String(u).padStart(6, "0")}${account.slice(0, 10)}`,
    principal: {
      type: "IAMUser",
      accountId: account,
      arn: `arn:aws:iam::${account}:user/app-${u}`,
      principalId: `AIDAAPP${u}`,
      userName: `app-${u}`,
    },
  };
}

/**
 * Event `n` of the trail (its time grows with n, give or take a second: calls end in another
 * order than they begin). `pick` gives numbers in [0, 1).
 */
export function trailEvent(shape: TrailShape, n: number, pick: () => number): AuditEvent {
  const account = shape.accounts[Math.floor(pick() * shape.accounts.length)]!;
  const u = Math.floor(pick() * (shape.users + 1));
  const [service, operation, readOnly] = operationAt(pick());
  const key = `arn:aws:kms:us-east-1:${account}:key/${keyId(account, Math.floor(pick() * shape.keys))}`;
  const denied = pick() < 0.02;
  const s3 = service === "s3";
  const bucket = `arn:aws:s3:::bucket-${account}-${u % 5}`;
  const call: CompletedCall = {
    requestId: `bench-${n}`,
    time: Math.max(shape.start, shape.start + n * shape.stepMs - Math.floor(pick() * 1000)),
    service,
    operation,
    readOnly,
    region: "us-east-1",
    sourceIp: `10.0.${u % 250}.${(n % 250) + 1}`,
    userAgent: "aws-sdk-js/3.0 bench",
    caller: callerOf(account, u),
    trail: {
      resources:
        service === "kms" && operation !== "ListAliases" && operation !== "CreateKey"
          ? [{ arn: key, type: "AWS::KMS::Key" }]
          : s3
            ? [{ arn: bucket, type: "AWS::S3::Bucket" }]
            : [],
      input: s3 ? { bucket: bucket.slice(13), key: `objects/${n % 1000}.bin` } : { keyId: key, encryptionContext: { app: `app-${u}` } },
    },
    error: denied ? { code: "AccessDeniedException", message: "not authorized" } : undefined,
  };
  return buildEvent(call);
}

export interface WriteTrailOptions {
  /** Events appended at once (the writer's batch, as concurrent calls give it). */
  batch?: number;
  /**
   * Signs digests of the chain as a server does every `digestIntervalMs` (its default, 60 s) of the
   * trail's own time, and one at the end (a server's shutdown): `keyhold audit verify` then checks
   * the digest chain and every digest's boundary, as on a real trail. Without it, no digest.
   */
  digests?: { key: AuditSigningKey; chain: string; intervalMs?: number };
  /** Seeds the generator's numbers (same seed, same trail). */
  seed?: number;
  /** Each event before it is appended (the bench keeps landmarks). */
  onEvent?: (event: AuditEvent, n: number) => void;
  onProgress?: (events: number) => void;
}

/**
 * Appends `events` events of `shape` to the store's own chain, through the writer keyhold records
 * calls with, and signs its digests. Returns the number of digests written.
 */
export async function writeTrail(store: AuditStore, shape: TrailShape, events: number, options: WriteTrailOptions = {}): Promise<number> {
  const batchSize = options.batch ?? 256;
  const interval = options.digests?.intervalMs ?? 60_000;
  let s = options.seed ?? 42;
  const pick = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  let nextDigest = shape.start + interval;
  let digests = 0;
  let last = shape.start;
  for (let n = 0; n < events;) {
    const batch: AuditEvent[] = [];
    for (let i = 0; i < batchSize && n < events; i++, n++) {
      const e = trailEvent(shape, n, pick);
      options.onEvent?.(e, n);
      batch.push(e);
    }
    await store.append(batch);
    last = Math.max(last, shape.start + (n - 1) * shape.stepMs);
    if (options.digests && last >= nextDigest) {
      digests += await store.digest(options.digests.key, last, options.digests.chain);
      nextDigest = last - ((last - shape.start) % interval) + interval;
    }
    // Lets the writer's 100 ms timer save the index as the server's would.
    if (n % (batchSize * 16) === 0) await new Promise((r) => setImmediate(r));
    if (Math.floor(n / 1_000_000) > Math.floor((n - batch.length) / 1_000_000) || n === events) options.onProgress?.(n);
  }
  if (options.digests) digests += await store.digest(options.digests.key, last, options.digests.chain);
  return digests;
}
