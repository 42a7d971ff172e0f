/**
 * Multipart uploads: CreateMultipartUpload chooses the object's encryption and data key once;
 * each UploadPart is encrypted under that key into its own file; CompleteMultipartUpload makes
 * the object of the listed parts (no bytes are copied: the object refers to the part files).
 * The upload and its parts are documents of kind s3-upload in the bucket: "<uploadId>" and
 * "<uploadId>/<part number, 5 digits>".
 */
import { createHash, randomUUID } from "node:crypto";
import { crc32 } from "node:zlib";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import type { DocumentRecord } from "../../store/records.js";
import {
  body,
  checkContentMd5,
  checkKey,
  customerKey,
  integer,
  metadata,
  objectArn,
  notServed,
  optional,
  required,
  refuseUnserved,
  sseChoice,
  sseOutput,
  storedHeaders,
  writeConditions,
  type S3Input,
  type S3Operation,
} from "../operation.js";
import { checkCopySourceConditions, copySource, writeCondition } from "./objects.js";
import { copyEtag, etagIsMd5, etagOf, type ObjectBody, type ObjectSse, type S3Service, type StoredPart } from "../service.js";

const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_BYTES = 5 * 1024 ** 3;

interface UploadBody {
  key: string;
  initiated: number;
  contentType: string;
  headers: Record<string, string>;
  metadata: Record<string, string>;
  sse: ObjectSse;
}

interface PartBody extends StoredPart {
  partNumber: number;
  etag: string;
  lastModified: number;
  crc32: string;
}

function partName(uploadId: string, partNumber: number): string {
  return `${uploadId}/${String(partNumber).padStart(5, "0")}`;
}

async function requireUpload(
  s3: S3Service,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<{ doc: DocumentRecord; upload: UploadBody }> {
  const doc = /^[0-9a-f-]{36}$/.test(uploadId) ? await s3.repo.getDocument("s3-upload", bucket, uploadId) : undefined;
  const upload = doc && (JSON.parse(doc.body) as UploadBody);
  if (!doc || !upload || upload.key !== key) {
    throw new ServiceError(
      "NoSuchUpload",
      "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    );
  }
  return { doc, upload };
}

async function listParts(s3: S3Service, bucket: string, uploadId: string): Promise<PartBody[]> {
  const parts: PartBody[] = [];
  let after: string | undefined;
  do {
    const page = await s3.repo.listDocuments("s3-upload", bucket, `${uploadId}/`, after, 1000);
    for (const d of page.items) parts.push(JSON.parse(d.body) as PartBody);
    after = page.next;
  } while (after !== undefined);
  return parts;
}

/** A part number, 1 to 10000. */
function partNumberOf(input: S3Input): number {
  const n = integer(input, "PartNumber", 1, Number.MAX_SAFE_INTEGER, 0);
  if (n < 1 || n > 10_000) throw new ServiceError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  return n;
}

function begin(call: CallContext, input: S3Input): { bucket: string; key: string } {
  const bucket = required(input, "Bucket");
  const key = required(input, "Key");
  checkKey(key);
  call.trail.input = { bucketName: bucket, key, uploadId: optional(input, "UploadId"), partNumber: optional(input, "PartNumber") };
  call.trail.resources.push({ arn: objectArn(bucket, key), type: "AWS::S3::Object" });
  return { bucket, key };
}

export const createMultipartUpload: S3Operation = {
  name: "CreateMultipartUpload",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = begin(call, input);
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutObject", bucket, owner, key, writeConditions(input));
    refuseUnserved(input);
    const choice = sseChoice(input, owner);
    const { dataKey, sse } = await s3.newDataKey(call, bucket, key, choice);
    dataKey.fill(0);
    const uploadId = randomUUID();
    const upload: UploadBody = {
      key,
      initiated: s3.clock.now(),
      contentType: optional(input, "ContentType") ?? "binary/octet-stream",
      headers: storedHeaders(input),
      metadata: metadata(input),
      sse,
    };
    await s3.repo.putDocument(
      { kind: "s3-upload", accountId: bucket, name: uploadId, body: JSON.stringify(upload), revision: 1, createdAt: upload.initiated },
      "new",
    );
    return { Bucket: bucket, Key: key, UploadId: uploadId, ...sseOutput({ sse } as ObjectBody) };
  },
};

export const uploadPart: S3Operation = {
  name: "UploadPart",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = begin(call, input);
    const partNumber = partNumberOf(input);
    const uploadId = required(input, "UploadId");
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutObject", bucket, owner, key);
    const { upload } = await requireUpload(s3, bucket, key, uploadId);
    if (Number(optional(input, "ContentLength") ?? 0) > MAX_PART_BYTES)
      throw new ServiceError("EntityTooLarge", "A part is at most 5 GiB.");
    // S3 needs kms:Decrypt here too: each part is encrypted under the upload's data key.
    const dataKey = await s3.dataKey(call, bucket, key, upload.sse, customerKey(input));
    const source = body(input);
    if (!etagIsMd5(upload.sse.algorithm)) source.skipMd5();
    let stored;
    try {
      stored = await s3.storeEncrypted(dataKey, source.stream, () => source.verify());
    } finally {
      dataKey.fill(0);
    }
    const part: PartBody = {
      ...stored.part,
      partNumber,
      etag: etagOf(stored.verified.md5Hex),
      lastModified: s3.clock.now(),
      crc32: stored.verified.crc32,
    };
    await savePart(s3, bucket, uploadId, part);
    return {
      ETag: part.etag,
      ...sseOutput({ sse: upload.sse } as ObjectBody),
      ChecksumCRC32: optional(input, "ChecksumCRC32") ?? undefined,
    };
  },
};

/** UploadPartCopy: a part made of (a range of) an existing object, re-encrypted under the upload's key. */
export const uploadPartCopy: S3Operation = {
  name: "UploadPartCopy",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = begin(call, input);
    const partNumber = partNumberOf(input);
    const uploadId = required(input, "UploadId");
    const source = copySource(input);
    const { body: sourceOwner } = await s3.requireBucket(source.bucket);
    await s3.authorize(call, "s3:GetObject", source.bucket, sourceOwner, source.key);
    const original = await s3.requireObject(source.bucket, source.key);
    checkCopySourceConditions(input, original);
    const { body: owner } = source.bucket === bucket ? { body: sourceOwner } : await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutObject", bucket, owner, key);
    const { upload } = await requireUpload(s3, bucket, key, uploadId);
    let range = { start: 0, end: original.size };
    const header = optional(input, "CopySourceRange");
    if (header !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(header);
      if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= original.size) {
        throw new ServiceError(
          "InvalidArgument",
          `The x-amz-copy-source-range ${header} must be bytes=first-last within the source's ${original.size} bytes.`,
        );
      }
      range = { start: Number(m[1]), end: Number(m[2]) + 1 };
    }
    const sourceKey = await s3.dataKey(call, source.bucket, source.key, original.sse, customerKey(input, "CopySource"));
    const plaintext = await s3.readDecrypted(
      { call, bucket: source.bucket, key: source.key },
      sourceKey,
      original.parts,
      range.start,
      range.end,
    );
    const dataKey = await s3.dataKey(call, bucket, key, upload.sse, customerKey(input));
    const etag = copyEtag(plaintext, upload.sse.algorithm);
    let crc = 0;
    plaintext.on("data", (c: Buffer) => (crc = crc32(c, crc)));
    let stored;
    try {
      stored = await s3.storeEncrypted(dataKey, plaintext, etag);
    } finally {
      dataKey.fill(0);
    }
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32BE(crc >>> 0);
    const part: PartBody = {
      ...stored.part,
      partNumber,
      etag: stored.verified,
      lastModified: s3.clock.now(),
      crc32: crcBytes.toString("base64"),
    };
    await savePart(s3, bucket, uploadId, part);
    return { ETag: part.etag, LastModified: new Date(part.lastModified), ...sseOutput({ sse: upload.sse } as ObjectBody) };
  },
};

/** Records a part, replacing one of the same number (whose file goes). */
async function savePart(s3: S3Service, bucket: string, uploadId: string, part: PartBody): Promise<void> {
  const name = partName(uploadId, part.partNumber);
  const previous = await s3.repo.getDocument("s3-upload", bucket, name);
  const record = {
    kind: "s3-upload" as const,
    accountId: bucket,
    name,
    body: JSON.stringify(part),
    revision: (previous?.revision ?? 0) + 1,
    createdAt: part.lastModified,
  };
  if (!(await s3.repo.putDocument(record, previous ? previous.revision : "new"))) {
    await s3.objects.delete(part.id);
    throw new ServiceError("InvalidRequest", "Another upload of this part number won the race; retry the part.");
  }
  if (previous) await s3.objects.delete((JSON.parse(previous.body) as PartBody).id);
}

interface CompleteRequest {
  Part?: { PartNumber?: string; ETag?: string }[];
}

export const completeMultipartUpload: S3Operation = {
  name: "CompleteMultipartUpload",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = begin(call, input);
    const uploadId = required(input, "UploadId");
    checkContentMd5(input);
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutObject", bucket, owner, key);
    const { upload } = await requireUpload(s3, bucket, key, uploadId);
    const listed = (input.CompleteMultipartUpload as CompleteRequest | undefined)?.Part ?? [];
    if (listed.length === 0)
      throw new ServiceError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema: no Part.",
      );
    const stored = new Map((await listParts(s3, bucket, uploadId)).map((p) => [p.partNumber, p]));
    const chosen: PartBody[] = [];
    let previous = 0;
    for (const p of listed) {
      const number = Number(p.PartNumber);
      if (!Number.isInteger(number) || number < 1 || number > 10_000)
        throw new ServiceError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
      if (number <= previous) throw new ServiceError("InvalidPartOrder");
      previous = number;
      const part = stored.get(number);
      const etag = p.ETag?.startsWith('"') ? p.ETag : `"${p.ETag ?? ""}"`;
      if (!part || part.etag !== etag)
        throw new ServiceError("InvalidPart", `Part ${number} was not uploaded, or its ETag is not ${p.ETag}.`);
      chosen.push(part);
    }
    const small = chosen.slice(0, -1).find((p) => p.size < MIN_PART_BYTES);
    if (small) {
      throw new ServiceError(
        "EntityTooSmall",
        `Part ${small.partNumber} has ${small.size} bytes; every part but the last needs at least 5 MiB.`,
      );
    }
    const size = chosen.reduce((n, p) => n + p.size, 0);
    const expectedSize = optional(input, "MpuObjectSize");
    if (expectedSize !== undefined && expectedSize !== String(size)) {
      throw new ServiceError(
        "InvalidRequest",
        `The parts make an object of ${size} bytes, not the ${expectedSize} x-amz-mp-object-size names.`,
      );
    }
    const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag.slice(1, -1), "hex")));
    const object: ObjectBody = {
      size,
      etag: `"${createHash("md5").update(md5s).digest("hex")}-${chosen.length}"`,
      lastModified: s3.clock.now(),
      contentType: upload.contentType,
      headers: upload.headers,
      metadata: upload.metadata,
      parts: chosen.map((p) => ({ id: p.id, size: p.size })),
      sse: upload.sse,
    };
    // The object is committed before the upload goes: a crash in between leaves a listed upload
    // whose parts the object uses, never an object without its bytes. A conditional completion
    // (If-None-Match: *, If-Match) is checked in the same step; refused, the upload stays.
    await s3.commitObject(bucket, key, object, writeCondition(input));
    const kept = new Set(chosen.map((p) => p.id));
    for (const p of stored.values()) {
      await s3.repo.deleteDocument("s3-upload", bucket, partName(uploadId, p.partNumber));
      if (!kept.has(p.id)) await s3.objects.delete(p.id);
    }
    await s3.repo.deleteDocument("s3-upload", bucket, uploadId);
    return { Location: `/${bucket}/${key}`, Bucket: bucket, Key: key, ETag: object.etag, ...sseOutput(object) };
  },
};

export const abortMultipartUpload: S3Operation = {
  name: "AbortMultipartUpload",
  readOnly: false,
  async handle(s3, call, input) {
    const { bucket, key } = begin(call, input);
    const uploadId = required(input, "UploadId");
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:AbortMultipartUpload", bucket, owner, key);
    if (optional(input, "IfMatchInitiatedTime") !== undefined) throw notServed("x-amz-if-match-initiated-time (directory buckets only)");
    await requireUpload(s3, bucket, key, uploadId);
    await s3.repo.deleteDocument("s3-upload", bucket, uploadId);
    for (const p of await listParts(s3, bucket, uploadId)) {
      await s3.repo.deleteDocument("s3-upload", bucket, partName(uploadId, p.partNumber));
      await s3.objects.delete(p.id);
    }
    return {};
  },
};

export const listPartsOperation: S3Operation = {
  name: "ListParts",
  readOnly: true,
  async handle(s3, call, input) {
    const { bucket, key } = begin(call, input);
    const uploadId = required(input, "UploadId");
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:ListMultipartUploadParts", bucket, owner, key);
    const { upload } = await requireUpload(s3, bucket, key, uploadId);
    const max = integer(input, "MaxParts", 0, 1000, 1000);
    const marker = integer(input, "PartNumberMarker", 0, 10_000, 0);
    const all = (await listParts(s3, bucket, uploadId)).filter((p) => p.partNumber > marker);
    const page = all.slice(0, max);
    const truncated = all.length > page.length;
    return {
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : undefined,
      MaxParts: max,
      IsTruncated: truncated,
      Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: new Date(p.lastModified), ETag: p.etag, Size: p.size })),
      StorageClass: "STANDARD",
      Initiated: new Date(upload.initiated),
    };
  },
};

export const listMultipartUploads: S3Operation = {
  name: "ListMultipartUploads",
  readOnly: true,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    const { body: owner } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:ListBucketMultipartUploads", bucket, owner);
    const prefix = optional(input, "Prefix") ?? "";
    const max = integer(input, "MaxUploads", 0, 1000, 1000);
    const keyMarker = optional(input, "KeyMarker") ?? "";
    const uploads: { Key: string; UploadId: string; Initiated: Date }[] = [];
    let after: string | undefined;
    do {
      const page = await s3.repo.listDocuments("s3-upload", bucket, "", after, 1000);
      for (const d of page.items) {
        if (d.name.includes("/")) continue;
        const u = JSON.parse(d.body) as UploadBody;
        if (u.key.startsWith(prefix) && u.key > keyMarker) uploads.push({ Key: u.key, UploadId: d.name, Initiated: new Date(u.initiated) });
      }
      after = page.next;
    } while (after !== undefined);
    uploads.sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : a.Initiated.getTime() - b.Initiated.getTime()));
    const page = uploads.slice(0, max);
    const truncated = uploads.length > page.length;
    const last = page[page.length - 1];
    return {
      Bucket: bucket,
      KeyMarker: keyMarker,
      Prefix: prefix || undefined,
      NextKeyMarker: truncated && last ? last.Key : undefined,
      NextUploadIdMarker: truncated && last ? last.UploadId : undefined,
      MaxUploads: max,
      IsTruncated: truncated,
      Upload: page.map((u) => ({ ...u, StorageClass: "STANDARD" })),
    };
  },
};
