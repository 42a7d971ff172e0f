/** Objects: PutObject, GetObject (Range), HeadObject, DeleteObject, DeleteObjects, CopyObject. */
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import {
  body,
  checkContentMd5,
  checkKey,
  customerKey,
  metadata,
  notServed,
  objectArn,
  optional,
  required,
  refuseUnserved,
  sseChoice,
  sseOutput,
  storedHeaders,
  writeConditions,
  type S3Input,
  type S3Operation,
  type S3Output,
} from "../operation.js";
import { copyEtag, etagIsMd5, etagOf, type ObjectBody, type S3Service, type ExpectedOwner, type WriteCondition } from "../service.js";

const MAX_PUT_BYTES = 5 * 1024 ** 3;

function keyOf(input: S3Input): { bucket: string; key: string } {
  const bucket = required(input, "Bucket");
  const key = required(input, "Key");
  checkKey(key);
  // Without versions the only version is "null"; any other is refused, never answered with the current object.
  const version = optional(input, "VersionId");
  if (version !== undefined && version !== "null") throw new ServiceError("NotImplemented", "keyhold does not keep object versions.");
  return { bucket, key };
}

function trailInput(call: CallContext, bucket: string, key: string, input: S3Input): void {
  call.trail.input = {
    bucketName: bucket,
    key,
    "x-amz-server-side-encryption": optional(input, "ServerSideEncryption"),
    "x-amz-server-side-encryption-aws-kms-key-id": optional(input, "SSEKMSKeyId"),
    "x-amz-server-side-encryption-customer-algorithm": optional(input, "SSECustomerAlgorithm"),
  };
  call.trail.resources.push({ arn: objectArn(bucket, key), type: "AWS::S3::Object" });
}

export const putObject: S3Operation = {
  name: "PutObject",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = keyOf(input);
    trailInput(call, bucket, key, input);
    const upload = body(input);
    const declared = Number(optional(input, "ContentLength") ?? 0);
    if (declared > MAX_PUT_BYTES)
      throw new ServiceError("EntityTooLarge", "A single PutObject may upload at most 5 GiB; use a multipart upload.");
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutObject", bucket, owner, key, writeConditions(input));
    refuseUnserved(input);
    const choice = sseChoice(input, owner);
    const meta = metadata(input);
    // A conditional write that cannot succeed is refused before its bytes are read, and checked again at commit.
    const condition = writeCondition(input);
    condition?.((await s3.object(bucket, key))?.body);
    const { dataKey, sse } = await s3.newDataKey(call, bucket, key, choice);
    if (!etagIsMd5(choice.algorithm)) upload.skipMd5();
    let stored;
    try {
      stored = await s3.storeEncrypted(dataKey, upload.stream, () => upload.verify());
    } finally {
      dataKey.fill(0);
    }
    const object: ObjectBody = {
      size: stored.part.size,
      etag: etagOf(stored.verified.md5Hex),
      lastModified: s3.clock.now(),
      contentType: optional(input, "ContentType") ?? "binary/octet-stream",
      headers: storedHeaders(input),
      metadata: meta,
      checksumCrc32: stored.verified.crc32,
      parts: [stored.part],
      sse,
    };
    await commitOrDiscard(s3, bucket, key, object, condition);
    const crc = optional(input, "ChecksumCRC32") !== undefined || optional(input, "ChecksumAlgorithm")?.toUpperCase() === "CRC32";
    return {
      ETag: object.etag,
      ...sseOutput(object),
      SSEKMSEncryptionContext: sse.context && choice.context ? optional(input, "SSEKMSEncryptionContext") : undefined,
      ChecksumCRC32: crc ? object.checksumCrc32 : undefined,
    };
  },
};

/** Commits a new object; if the commit is refused (a failed condition), its freshly written files go. */
async function commitOrDiscard(
  s3: S3Service,
  bucket: string,
  key: string,
  object: ObjectBody,
  condition: WriteCondition | undefined,
): Promise<void> {
  try {
    await s3.commitObject(bucket, key, object, condition);
  } catch (error) {
    await s3.deleteFiles(object.parts);
    throw error;
  }
}

/** A Range header's first range, resolved against the size; undefined for none (or one S3 ignores). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new ServiceError("InvalidRange");
    start = Math.max(0, size - suffix);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1);
    if (m[2] !== "" && Number(m[2]) < start) return undefined;
  }
  if (start >= size)
    throw new ServiceError("InvalidRange", `The requested range ${header} is not satisfiable: the object has ${size} bytes.`);
  return { start, end };
}

/**
 * The bytes a GET or HEAD asks for: a Range, or a part of a multipart object by its number (as
 * the SDKs' part-wise downloads ask; a single-part object has one part). Both at once is refused,
 * as S3 refuses it; undefined means the whole object.
 */
function requestedBytes(input: S3Input, object: ObjectBody): { start: number; end: number } | undefined {
  const partNumber = optional(input, "PartNumber");
  const range = optional(input, "Range");
  if (partNumber === undefined) return parseRange(range, object.size);
  if (range !== undefined) throw new ServiceError("InvalidRequest", "Cannot specify both Range header and partNumber query parameter.");
  if (!/^\d{1,5}$/.test(partNumber) || Number(partNumber) < 1 || Number(partNumber) > 10_000) {
    throw new ServiceError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.");
  }
  const n = Number(partNumber);
  if (n > Math.max(1, object.parts.length)) throw new ServiceError("InvalidPartNumber");
  const start = object.parts.slice(0, n - 1).reduce((sum, p) => sum + p.size, 0);
  const end = start + (object.parts[n - 1]?.size ?? object.size);
  return end > start ? { start, end } : undefined;
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(",").some((e) => {
    const t = e.trim();
    return t === "*" || t === etag || `"${t}"` === etag;
  });
}

function precondition(): ServiceError {
  return new ServiceError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold.");
}

/**
 * A read's conditions, as S3 applies RFC 7232: If-Match fails → 412; If-None-Match matches → 304;
 * without If-Match, If-Unmodified-Since passed → 412; without If-None-Match, If-Modified-Since
 * not passed → 304. An unparsable date is ignored.
 */
function checkReadConditions(input: S3Input, object: ObjectBody): void {
  checkConditions(input, object, "", () => new ServiceError("NotModified"));
}

/** A copy's conditions on its source (x-amz-copy-source-if-*): each that fails is 412, as S3 answers a copy. */
export function checkCopySourceConditions(input: S3Input, source: ObjectBody): void {
  checkConditions(input, source, "CopySource", precondition);
}

/** RFC 7232's four conditions on `object`, read from the members `<prefix>IfMatch`, …; `notModified` is what a read answers when the object did not change. */
function checkConditions(input: S3Input, object: ObjectBody, prefix: string, notModified: () => ServiceError): void {
  const seconds = Math.floor(object.lastModified / 1000) * 1000;
  const date = (member: string) => {
    const v = optional(input, prefix + member);
    const t = v === undefined ? NaN : Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  };
  const ifMatch = optional(input, `${prefix}IfMatch`);
  const ifNoneMatch = optional(input, `${prefix}IfNoneMatch`);
  if (ifMatch !== undefined && !etagMatches(ifMatch, object.etag)) throw precondition();
  const unmodifiedSince = date("IfUnmodifiedSince");
  if (ifMatch === undefined && unmodifiedSince !== undefined && seconds > unmodifiedSince) throw precondition();
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, object.etag)) throw notModified();
  const modifiedSince = date("IfModifiedSince");
  if (ifNoneMatch === undefined && modifiedSince !== undefined && seconds <= modifiedSince) throw notModified();
}

/**
 * A write's conditions (S3's conditional writes): If-None-Match "*" — only if no object has the
 * key; If-Match — only if the object there has that ETag (NoSuchKey when there is none).
 */
export function writeCondition(input: S3Input): WriteCondition | undefined {
  const ifNoneMatch = optional(input, "IfNoneMatch");
  const ifMatch = optional(input, "IfMatch");
  if (ifNoneMatch !== undefined && ifNoneMatch !== "*") {
    throw new ServiceError(
      "NotImplemented",
      "A header you provided implies functionality that is not implemented: If-None-Match takes only *.",
    );
  }
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  const matches = ifMatchCondition(ifMatch);
  return (existing) => {
    if (ifNoneMatch !== undefined && existing) throw precondition();
    matches?.(existing);
  };
}

/**
 * If-Match on a write or a delete (an ETag, or * for "if it exists"): 412 when another object is
 * there, NoSuchKey when none is.
 */
function ifMatchCondition(ifMatch: string | undefined): WriteCondition | undefined {
  if (ifMatch === undefined) return undefined;
  return (existing) => {
    if (!existing) throw new ServiceError("NoSuchKey", "The specified key does not exist.");
    if (!etagMatches(ifMatch, existing.etag)) throw precondition();
  };
}

/** What GetObject and HeadObject share: the object, authorized, its key checked, and its headers. */
async function readable(
  s3: S3Service,
  call: CallContext,
  input: S3Input,
): Promise<{ bucket: string; key: string; object: ObjectBody; out: S3Output }> {
  const { bucket, key } = keyOf(input);
  trailInput(call, bucket, key, input);
  const { body: owner } = await s3.requireBucket(bucket);
  await s3.authorize(call, "s3:GetObject", bucket, owner, key);
  const object = await s3.requireObject(bucket, key);
  const customer = customerKey(input);
  if (object.sse.algorithm !== "SSE-C" && customer) {
    throw new ServiceError("InvalidRequest", "The encryption parameters are not applicable to this object.");
  }
  checkReadConditions(input, object);
  const out: S3Output = {
    ETag: object.etag,
    LastModified: new Date(object.lastModified),
    ContentType: optional(input, "ResponseContentType") ?? object.contentType,
    AcceptRanges: "bytes",
    Metadata: object.metadata,
    ...object.headers,
    ...sseOutput(object),
  };
  if (object.parts.length > 1) out.PartsCount = object.parts.length;
  return { bucket, key, object, out };
}

export const getObject: S3Operation = {
  name: "GetObject",
  readOnly: true,
  async handle(s3, call, input) {
    const { bucket, key, object, out } = await readable(s3, call, input);
    const range = requestedBytes(input, object);
    const dataKey = await s3.dataKey(call, bucket, key, object.sse, customerKey(input));
    const start = range?.start ?? 0;
    const end = range?.end ?? object.size;
    const stream = await s3.readDecrypted({ call, bucket, key }, dataKey, object.parts, start, end);
    if (range) out.ContentRange = `bytes ${start}-${end - 1}/${object.size}`;
    else if (optional(input, "ChecksumMode") === "ENABLED" && object.checksumCrc32) out.ChecksumCRC32 = object.checksumCrc32;
    return { ...out, ContentLength: end - start, Body: stream };
  },
};

export const headObject: S3Operation = {
  name: "HeadObject",
  readOnly: true,
  async handle(s3, call, input) {
    const { bucket, key, object, out } = await readable(s3, call, input);
    if (object.sse.algorithm === "SSE-C") {
      // The key must be the object's, as for a GET (S3 answers 400 without it and 403 with another).
      (await s3.dataKey(call, bucket, key, object.sse, customerKey(input))).fill(0);
    }
    const range = requestedBytes(input, object);
    if (range)
      return { ...out, ContentRange: `bytes ${range.start}-${range.end - 1}/${object.size}`, ContentLength: range.end - range.start };
    if (optional(input, "ChecksumMode") === "ENABLED" && object.checksumCrc32) out.ChecksumCRC32 = object.checksumCrc32;
    return { ...out, ContentLength: object.size };
  },
};

export const deleteObject: S3Operation = {
  name: "DeleteObject",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = keyOf(input);
    trailInput(call, bucket, key, input);
    const { body: owner } = await s3.requireBucket(bucket);
    const ifMatch = optional(input, "IfMatch");
    await s3.authorize(call, "s3:DeleteObject", bucket, owner, key, { "s3:if-match": ifMatch });
    // A delete on an ETag says whether the object is that one: it needs s3:GetObject too, as on S3.
    if (ifMatch !== undefined && ifMatch !== "*") await s3.authorize(call, "s3:GetObject", bucket, owner, key);
    if (optional(input, "IfMatchLastModifiedTime") !== undefined || optional(input, "IfMatchSize") !== undefined) {
      throw notServed("x-amz-if-match-last-modified-time and x-amz-if-match-size (directory buckets only)");
    }
    await s3.deleteObject(bucket, key, ifMatchCondition(ifMatch));
    return {};
  },
};

interface DeleteRequest {
  Object?: { Key?: string; ETag?: string }[];
  Quiet?: string;
}

export const deleteObjects: S3Operation = {
  name: "DeleteObjects",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    checkContentMd5(input);
    const request = input.Delete as DeleteRequest | undefined;
    const objects = request?.Object ?? [];
    if (objects.length === 0 || objects.length > 1000 || objects.some((o) => typeof o?.Key !== "string" || o.Key === "")) {
      throw new ServiceError("MalformedXML", "A Delete request names 1 to 1000 objects, each with a Key.");
    }
    const { body: owner } = await s3.requireBucket(bucket);
    const quiet = request?.Quiet === "true";
    const deleted: { Key: string }[] = [];
    const errors: { Key: string; Code: string; Message: string }[] = [];
    for (const { Key, ETag } of objects) {
      try {
        checkKey(Key!);
        const ifMatch = typeof ETag === "string" ? ETag : undefined;
        await s3.authorize(call, "s3:DeleteObject", bucket, owner, Key, { "s3:if-match": ifMatch });
        if (ifMatch !== undefined && ifMatch !== "*") await s3.authorize(call, "s3:GetObject", bucket, owner, Key);
        await s3.deleteObject(bucket, Key!, ifMatchCondition(ifMatch));
        if (!quiet) deleted.push({ Key: Key! });
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        errors.push({ Key: Key!, Code: error.code === "AccessDeniedException" ? "AccessDenied" : error.code, Message: error.message });
      }
    }
    return { Deleted: deleted, Error: errors };
  },
};

/** The bucket and key of x-amz-copy-source: "/bucket/key" or "bucket/key", URL-encoded. */
export function copySource(input: S3Input): { bucket: string; key: string } {
  const raw = required(input, "CopySource");
  if (raw.includes("?versionId=")) throw new ServiceError("NotImplemented", "keyhold does not keep object versions.");
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw new ServiceError("InvalidArgument", "x-amz-copy-source is not valid percent-encoding.");
  }
  if (text.startsWith("/")) text = text.slice(1);
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1)
    throw new ServiceError("InvalidArgument", "x-amz-copy-source must name a bucket and a key: bucket/key.");
  return { bucket: text.slice(0, slash), key: text.slice(slash + 1) };
}

/** The bucket owners a request expects: of its bucket, and of a copy's source bucket. */
export function expectedOwners(input: S3Input): ExpectedOwner[] {
  const out: ExpectedOwner[] = [];
  const bucket = optional(input, "Bucket");
  const owner = optional(input, "ExpectedBucketOwner");
  if (bucket !== undefined && owner !== undefined) out.push({ bucket, account: owner });
  const sourceOwner = optional(input, "ExpectedSourceBucketOwner");
  if (sourceOwner !== undefined && optional(input, "CopySource") !== undefined) {
    try {
      out.push({ bucket: copySource(input).bucket, account: sourceOwner });
    } catch {
      // A copy source that does not parse is the operation's to refuse.
    }
  }
  return out;
}

export const copyObject: S3Operation = {
  name: "CopyObject",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = keyOf(input);
    trailInput(call, bucket, key, input);
    const source = copySource(input);
    const { body: sourceOwner } = await s3.requireBucket(source.bucket);
    await s3.authorize(call, "s3:GetObject", source.bucket, sourceOwner, source.key);
    const original = await s3.requireObject(source.bucket, source.key);
    checkCopySourceConditions(input, original);
    const { body: owner } = source.bucket === bucket ? { body: sourceOwner } : await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutObject", bucket, owner, key, writeConditions(input));
    refuseUnserved(input);
    const condition = writeCondition(input);
    condition?.((await s3.object(bucket, key))?.body);
    const directive = optional(input, "MetadataDirective") ?? "COPY";
    if (directive !== "COPY" && directive !== "REPLACE")
      throw new ServiceError("InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE.");
    const changesEncryption =
      optional(input, "ServerSideEncryption") !== undefined ||
      optional(input, "SSECustomerAlgorithm") !== undefined ||
      original.sse.algorithm === "SSE-C";
    if (source.bucket === bucket && source.key === key && directive === "COPY" && !changesEncryption) {
      throw new ServiceError(
        "InvalidRequest",
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const sourceKey = await s3.dataKey(call, source.bucket, source.key, original.sse, customerKey(input, "CopySource"));
    const plaintext = await s3.readDecrypted({ call, bucket: source.bucket, key: source.key }, sourceKey, original.parts, 0, original.size);
    const choice = sseChoice(input, owner);
    const { dataKey, sse } = await s3.newDataKey(call, bucket, key, choice);
    const etag = copyEtag(plaintext, choice.algorithm);
    let stored;
    try {
      stored = await s3.storeEncrypted(dataKey, plaintext, etag);
    } finally {
      dataKey.fill(0);
    }
    const replace = directive === "REPLACE";
    const object: ObjectBody = {
      size: stored.part.size,
      etag: stored.verified,
      lastModified: s3.clock.now(),
      contentType: replace ? (optional(input, "ContentType") ?? "binary/octet-stream") : original.contentType,
      headers: replace ? storedHeaders(input) : original.headers,
      metadata: replace ? metadata(input) : original.metadata,
      checksumCrc32: original.parts.length === 1 ? original.checksumCrc32 : undefined,
      parts: [stored.part],
      sse,
    };
    await commitOrDiscard(s3, bucket, key, object, condition);
    return { ETag: object.etag, LastModified: new Date(object.lastModified), ...sseOutput(object) };
  },
};
