/**
 * What S3 operations share: their shape, reading their input members (as the REST-XML adapter
 * names them: the SDK's member names), and the rules every write follows to choose and check its
 * server-side encryption.
 */
import { createHash } from "node:crypto";
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import type { UploadBody } from "../http/upload-body.js";
import type { BucketBody, CustomerKey, ObjectBody, SseChoice, S3Service } from "./service.js";
import { parseUnicodeJson } from "../validation/unicode-json.js";
import { decode } from "../validation/schema.js";
import { EncryptionContext } from "../kms/shapes.js";

export type S3Input = Record<string, unknown>;
export type S3Output = Record<string, unknown>;

export interface S3Operation {
  name: string;
  readOnly: boolean;
  handle(s3: S3Service, call: CallContext, input: S3Input): Promise<S3Output>;
}

export function optional(input: S3Input, member: string): string | undefined {
  const v = input[member];
  return typeof v === "string" ? v : undefined;
}

export function required(input: S3Input, member: string): string {
  const v = optional(input, member);
  if (v === undefined || v === "") throw new ServiceError("InvalidArgument", `${member} is required.`);
  return v;
}

export function body(input: S3Input): UploadBody {
  return input.Body as UploadBody;
}

/** An integer query member within bounds, or its default. */
export function integer(input: S3Input, member: string, min: number, max: number, fallback: number): number {
  const v = optional(input, member);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new ServiceError("InvalidArgument", `${member} must be an integer of at least ${min}.`);
  return Math.min(Number(v), max);
}

/** Checks a buffered body's Content-MD5, when the request sent one. */
export function checkContentMd5(input: S3Input): void {
  (input.ContentMD5Check as (() => void) | undefined)?.();
}

/** S3's bucket naming rules (general purpose buckets). */
export function checkBucketName(name: string): void {
  const ok =
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith("xn--") &&
    !name.startsWith("sthree-") &&
    !name.endsWith("-s3alias") &&
    !name.endsWith("--ol-s3");
  if (!ok) throw new ServiceError("InvalidBucketName", `The specified bucket is not valid: ${name}`);
}

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, "utf8") > 1024) throw new ServiceError("KeyTooLongError", "Your key is too long: at most 1024 bytes.");
}

export function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

/**
 * The SSE-C key of a request (`prefix` "" for the object, "CopySource" for a copy's source), or
 * undefined when it names none. Refused: plain HTTP, another algorithm, a key that is not 256
 * bits, a missing or wrong key MD5.
 */
export function customerKey(input: S3Input, prefix = ""): CustomerKey | undefined {
  const algorithm = optional(input, `${prefix}SSECustomerAlgorithm`);
  const key = optional(input, `${prefix}SSECustomerKey`);
  const md5 = optional(input, `${prefix}SSECustomerKeyMD5`);
  if (algorithm === undefined && key === undefined && md5 === undefined) return undefined;
  if (input.SecureTransport !== true) {
    throw new ServiceError(
      "InvalidRequest",
      "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
    );
  }
  if (algorithm !== "AES256") {
    throw new ServiceError("InvalidArgument", "The encryption algorithm of a customer-provided key must be AES256.");
  }
  if (key === undefined)
    throw new ServiceError(
      "InvalidArgument",
      "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
    );
  const bytes = Buffer.from(key, "base64");
  if (bytes.length !== 32 || bytes.toString("base64") !== key) {
    throw new ServiceError("InvalidArgument", "The secret key was invalid for the specified algorithm.");
  }
  if (md5 === undefined) {
    throw new ServiceError(
      "InvalidArgument",
      "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
    );
  }
  const computed = createHash("md5").update(bytes).digest("base64");
  if (computed !== md5)
    throw new ServiceError("InvalidArgument", "The calculated MD5 hash of the key did not match the hash that was provided.");
  return { key: bytes, md5 };
}

/** The storage classes S3 knows (the service model's StorageClass). */
const STORAGE_CLASSES = new Set([
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "OUTPOSTS",
  "GLACIER_IR",
  "SNOW",
  "EXPRESS_ONEZONE",
  "FSX_OPENZFS",
  "FSX_ONTAP",
]);

export const notServed = (what: string) =>
  new ServiceError("NotImplemented", `A header you provided implies functionality that is not implemented: ${what}.`);

/**
 * An object write (PutObject, CopyObject, CreateMultipartUpload) that asks for what keyhold does
 * not serve is refused, never quietly stored without it: whoever asked for a lock, an ACL or tags
 * must not believe they got one. The answers are S3's own for a bucket in keyhold's state: ACLs
 * disabled (BucketOwnerEnforced, S3's default, under which only bucket-owner-full-control is
 * taken), and no Object Lock configuration.
 */
export function refuseUnserved(input: S3Input): void {
  const acl = optional(input, "ACL");
  const grants = ["GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP"].some((m) => optional(input, m) !== undefined);
  if ((acl !== undefined && acl !== "bucket-owner-full-control") || grants) {
    throw new ServiceError("AccessControlListNotSupported", "The bucket does not allow ACLs.");
  }
  if (["ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus"].some((m) => optional(input, m) !== undefined)) {
    throw new ServiceError("InvalidRequest", "Bucket is missing Object Lock Configuration.");
  }
  const storageClass = optional(input, "StorageClass");
  if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) throw new ServiceError("InvalidStorageClass");
  if (storageClass !== undefined && storageClass !== "STANDARD") {
    throw notServed(`keyhold stores every object as STANDARD, not ${storageClass}`);
  }
  if (optional(input, "Tagging") !== undefined || optional(input, "TaggingDirective") === "REPLACE") throw notServed("object tagging");
  if (optional(input, "WebsiteRedirectLocation") !== undefined) throw notServed("website redirects");
  if (optional(input, "WriteOffsetBytes") !== undefined) throw notServed("appends (x-amz-write-offset-bytes, directory buckets only)");
}

/** An SSE-KMS encryption context header: base64 of a JSON object of strings. */
function kmsContext(input: S3Input): Record<string, string> | undefined {
  const header = optional(input, "SSEKMSEncryptionContext");
  if (header === undefined) return undefined;
  const json = parseUnicodeJson(Buffer.from(header, "base64"));
  const parsed = "value" in json ? json.value : undefined;
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new ServiceError(
      "InvalidArgument",
      "The x-amz-server-side-encryption-context header must be base64 of a JSON object of strings.",
    );
  }
  if ("aws:s3:arn" in parsed) throw new ServiceError("InvalidArgument", "The encryption context may not set aws:s3:arn; S3 sets it.");
  // The bounds of KMS's EncryptionContext (docs/limits.md), checked here, before authorization,
  // as the KMS API checks them: the context is evaluated in policies and written to the trail.
  try {
    decode(EncryptionContext, parsed);
  } catch (error) {
    if (error instanceof ServiceError) throw new ServiceError("InvalidArgument", `x-amz-server-side-encryption-context: ${error.message}`);
    throw error;
  }
  return parsed as Record<string, string>;
}

/**
 * How a write is encrypted: what the request names, or else the bucket's default. Refused: an
 * unknown algorithm, KMS parameters without aws:kms, SSE-C together with another algorithm,
 * and SSE-C while the bucket blocks it.
 */
export function sseChoice(input: S3Input, bucket: BucketBody): SseChoice {
  const algorithm = optional(input, "ServerSideEncryption");
  const kmsKeyId = optional(input, "SSEKMSKeyId");
  const context = kmsContext(input);
  const customer = customerKey(input);
  if (customer) {
    if (algorithm !== undefined)
      throw new ServiceError(
        "InvalidArgument",
        "Server Side Encryption with Customer provided key is incompatible with the encryption method specified.",
      );
    if (bucket.encryption.blocked.includes("SSE-C")) {
      throw new ServiceError(
        "AccessDenied",
        "Requests specifying Server Side Encryption with Customer provided keys are blocked on this bucket (BlockedEncryptionTypes).",
      );
    }
    return { algorithm: "SSE-C", customerKey: customer };
  }
  if (algorithm !== undefined && algorithm !== "AES256" && algorithm !== "aws:kms") {
    if (algorithm === "aws:kms:dsse")
      throw new ServiceError("NotImplemented", "keyhold does not implement dual-layer SSE-KMS (aws:kms:dsse).");
    throw new ServiceError("InvalidArgument", `The server-side encryption ${algorithm} is not valid: use AES256 or aws:kms.`);
  }
  if ((kmsKeyId !== undefined || context !== undefined) && algorithm !== "aws:kms") {
    throw new ServiceError(
      "InvalidArgument",
      "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
    );
  }
  const bucketKeyHeader = optional(input, "BucketKeyEnabled");
  if (bucketKeyHeader !== undefined && bucketKeyHeader !== "true" && bucketKeyHeader !== "false") {
    throw new ServiceError("InvalidArgument", "x-amz-server-side-encryption-bucket-key-enabled must be true or false.");
  }
  const bucketKey = bucketKeyHeader !== undefined ? bucketKeyHeader === "true" : bucket.encryption.bucketKeyEnabled === true;
  if (algorithm === "aws:kms") return { algorithm, kmsKeyId, context, bucketKey };
  if (algorithm === "AES256") return { algorithm };
  const fallback = bucket.encryption;
  return fallback.algorithm === "aws:kms" ? { algorithm: "aws:kms", kmsKeyId: fallback.kmsKeyId, bucketKey } : { algorithm: "AES256" };
}

/** S3's condition keys of a write (lower-case), from the request's own headers. */
export function writeConditions(input: S3Input): Record<string, string | undefined> {
  return {
    "s3:x-amz-server-side-encryption": optional(input, "ServerSideEncryption"),
    "s3:x-amz-server-side-encryption-aws-kms-key-id": optional(input, "SSEKMSKeyId"),
    "s3:x-amz-server-side-encryption-customer-algorithm": optional(input, "SSECustomerAlgorithm"),
    "s3:x-amz-content-sha256": optional(input, "ContentSHA256"),
    "s3:x-amz-metadata-directive": optional(input, "MetadataDirective"),
    "s3:x-amz-copy-source": optional(input, "CopySource"),
  };
}

/** The encryption headers S3 returns for an object. */
export function sseOutput(o: ObjectBody): S3Output {
  const sse = o.sse;
  if (sse.algorithm === "SSE-C") return { SSECustomerAlgorithm: "AES256", SSECustomerKeyMD5: sse.customerKeyMd5 };
  if (sse.algorithm === "aws:kms") {
    return {
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: sse.kmsKeyArn,
      BucketKeyEnabled: sse.bucketKey !== undefined ? true : undefined,
    };
  }
  return { ServerSideEncryption: "AES256" };
}

/** Content-Type and the other representation headers a write stores and reads return. */
export const STORED_HEADERS = ["CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires"] as const;

export function storedHeaders(input: S3Input): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of STORED_HEADERS) {
    let v = optional(input, m);
    // aws-chunked is the upload's framing, not the object's encoding.
    if (m === "ContentEncoding" && v !== undefined)
      v =
        v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "aws-chunked")
          .join(",") || undefined;
    if (v !== undefined) out[m] = v;
  }
  return out;
}

/** User metadata: at most 2 KB of names and values, as S3 allows. */
export function metadata(input: S3Input): Record<string, string> {
  const m = (input.Metadata as Record<string, string> | undefined) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(m)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (size > 2048) throw new ServiceError("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size of 2 KB.");
  return m;
}
