/** ListObjectsV2 and ListObjects: prefix, delimiter (common prefixes), paging, encoding-type=url. */
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import { integer, optional, required, type S3Input, type S3Operation } from "../operation.js";
import type { ObjectBody, S3Service } from "../service.js";

interface Listing {
  contents: { key: string; body: ObjectBody }[];
  prefixes: string[];
  truncated: boolean;
  /** The last key or common prefix listed: where the next page starts after. */
  last?: string;
}

/**
 * Keys after `after` that start with `prefix`, in UTF-8 binary order, up to `max` entries where
 * a common prefix (the part up to the delimiter after the prefix) counts once.
 */
async function list(
  s3: S3Service,
  bucket: string,
  prefix: string,
  delimiter: string,
  after: string | undefined,
  max: number,
): Promise<Listing> {
  const out: Listing = { contents: [], prefixes: [], truncated: false };
  if (max === 0) return out;
  let cursor = after;
  for (;;) {
    const page = await s3.repo.listDocuments("s3-object", bucket, prefix, cursor, 1000);
    for (const doc of page.items) {
      cursor = doc.name;
      let common: string | undefined;
      if (delimiter !== "") {
        const at = doc.name.indexOf(delimiter, prefix.length);
        if (at >= 0) common = doc.name.slice(0, at + delimiter.length);
      }
      if (common !== undefined && (common === out.prefixes[out.prefixes.length - 1] || (after !== undefined && common <= after))) continue;
      if (out.contents.length + out.prefixes.length === max) {
        out.truncated = true;
        return out;
      }
      if (common !== undefined) {
        out.prefixes.push(common);
        out.last = common;
      } else {
        out.contents.push({ key: doc.name, body: JSON.parse(doc.body) as ObjectBody });
        out.last = doc.name;
      }
    }
    if (page.next === undefined) return out;
  }
}

function listParameters(input: S3Input) {
  const bucket = required(input, "Bucket");
  const encoding = optional(input, "EncodingType");
  if (encoding !== undefined && encoding !== "url")
    throw new ServiceError("InvalidArgument", "Invalid Encoding Method specified in Request");
  const encode = encoding === "url" ? (s: string) => encodeURIComponent(s).replace(/%2F/g, "/") : (s: string) => s;
  return {
    bucket,
    prefix: optional(input, "Prefix") ?? "",
    delimiter: optional(input, "Delimiter") ?? "",
    max: integer(input, "MaxKeys", 0, 1000, 1000),
    encoding,
    encode,
  };
}

/** s3:ListBucket on the bucket, with the listing's condition keys. */
async function authorizeListing(s3: S3Service, call: CallContext, p: ReturnType<typeof listParameters>): Promise<void> {
  const { body: owner } = await s3.requireBucket(p.bucket);
  await s3.authorize(call, "s3:ListBucket", p.bucket, owner, undefined, {
    "s3:prefix": p.prefix,
    "s3:delimiter": p.delimiter,
    "s3:max-keys": String(p.max),
  });
}

function entries(listing: Listing, encode: (s: string) => string) {
  return {
    Contents: listing.contents.map(({ key, body }) => ({
      Key: encode(key),
      LastModified: new Date(body.lastModified),
      ETag: body.etag,
      Size: body.size,
      StorageClass: "STANDARD",
    })),
    CommonPrefixes: listing.prefixes.map((p) => ({ Prefix: encode(p) })),
  };
}

/** The continuation token: the last key listed, opaque to the client. */
function token(last: string): string {
  return Buffer.from(`v1:${last}`, "utf8").toString("base64");
}

function fromToken(text: string): string {
  const decoded = Buffer.from(text, "base64").toString("utf8");
  if (!decoded.startsWith("v1:")) throw new ServiceError("InvalidArgument", "The continuation token provided is incorrect");
  return decoded.slice(3);
}

export const listObjectsV2: S3Operation = {
  name: "ListObjectsV2",
  readOnly: true,
  async handle(s3, call, input) {
    const p = listParameters(input);
    call.trail.input = { bucketName: p.bucket, prefix: p.prefix, delimiter: p.delimiter || undefined, "list-type": "2" };
    await authorizeListing(s3, call, p);
    const continuation = optional(input, "ContinuationToken");
    const startAfter = optional(input, "StartAfter");
    const after = continuation !== undefined ? fromToken(continuation) : startAfter;
    const listing = await list(s3, p.bucket, p.prefix, p.delimiter, after, p.max);
    const { Contents, CommonPrefixes } = entries(listing, p.encode);
    return {
      IsTruncated: listing.truncated,
      Contents,
      Name: p.bucket,
      Prefix: p.encode(p.prefix),
      Delimiter: p.delimiter ? p.encode(p.delimiter) : undefined,
      MaxKeys: p.max,
      CommonPrefixes,
      EncodingType: p.encoding,
      KeyCount: Contents.length + CommonPrefixes.length,
      ContinuationToken: continuation,
      NextContinuationToken: listing.truncated && listing.last !== undefined ? token(listing.last) : undefined,
      StartAfter: startAfter !== undefined ? p.encode(startAfter) : undefined,
    };
  },
};

export const listObjects: S3Operation = {
  name: "ListObjects",
  readOnly: true,
  async handle(s3, call, input) {
    const p = listParameters(input);
    call.trail.input = { bucketName: p.bucket, prefix: p.prefix, delimiter: p.delimiter || undefined };
    await authorizeListing(s3, call, p);
    const marker = optional(input, "Marker");
    const listing = await list(s3, p.bucket, p.prefix, p.delimiter, marker || undefined, p.max);
    const { Contents, CommonPrefixes } = entries(listing, p.encode);
    return {
      IsTruncated: listing.truncated,
      Marker: p.encode(marker ?? ""),
      // NextMarker is returned only with a delimiter; without one the client continues from the last key.
      NextMarker: listing.truncated && p.delimiter && listing.last !== undefined ? p.encode(listing.last) : undefined,
      Contents,
      Name: p.bucket,
      Prefix: p.encode(p.prefix),
      Delimiter: p.delimiter ? p.encode(p.delimiter) : undefined,
      MaxKeys: p.max,
      CommonPrefixes,
      EncodingType: p.encoding,
    };
  },
};
