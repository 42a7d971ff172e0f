/**
 * The REST-XML protocol of S3: the operation is named by the method, the path (bucket, key) and
 * the query's sub-resource (?encryption, ?uploads, …); input members come from the path, the
 * query, headers and the body, and output members go back to headers, an XML document or the
 * streamed object. The bindings are data (`RestRoute`, `HEADER_MEMBERS`), so an operation sees
 * only the SDK's member names (Bucket, Key, ServerSideEncryption, Body, …), never HTTP.
 *
 * Path-style (`/bucket/key`) and virtual-host-style (`bucket.s3.localhost/key`, `bucket.localhost`)
 * addressing both work.
 */
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { ERROR_CODES, ServiceError, type ErrorCode } from "../errors.js";
import type { ProtocolAdapter, Reply, Route, ServiceOperation } from "./dispatch.js";
import type { SignedRequest } from "./sigv4.js";
import { UploadBody } from "./upload-body.js";

export type RestTarget = "service" | "bucket" | "object";

/** How one operation is bound to HTTP. */
export interface RestRoute {
  name: string;
  method: "GET" | "PUT" | "POST" | "DELETE" | "HEAD";
  target: RestTarget;
  /** The query parameter that names the sub-resource (`encryption`, `uploads`, `uploadId`, …). */
  subresource?: string;
  /** A header that must be present (CopyObject: x-amz-copy-source). */
  header?: string;
  /** What the body is: the object's bytes (streamed), an XML document, or raw text (a policy). */
  payload?: "stream" | "xml" | "text";
  /** The XML input member the document becomes (PutBucketEncryption: ServerSideEncryptionConfiguration). */
  payloadMember?: string;
  /** The root element of the XML output; the output member that is the raw body (GetBucketPolicy: Policy). */
  outputRoot?: string;
  outputPayload?: string;
  /** Members that go in the XML document although they are headers elsewhere (CopyObject's ETag). */
  xmlMembers?: readonly string[];
  /** The status of a success, when not 200 (204 for deletes). */
  status?: number;
}

export interface RestService {
  signingName: string;
  xmlNamespace: string;
  routes: readonly RestRoute[];
  operation(name: string): ServiceOperation | undefined;
}

/** Sub-resources S3 has that keyhold does not serve: named so that they are refused, not mistaken for another operation. */
const OTHER_SUBRESOURCES = [
  "acl",
  "tagging",
  "versioning",
  "versions",
  "cors",
  "lifecycle",
  "website",
  "logging",
  "notification",
  "replication",
  "ownershipControls",
  "publicAccessBlock",
  "object-lock",
  "legal-hold",
  "retention",
  "restore",
  "select",
  "accelerate",
  "analytics",
  "inventory",
  "metrics",
  "intelligent-tiering",
  "requestPayment",
  "policyStatus",
  "attributes",
  "torrent",
  "session",
  "renameObject",
];

/** Input and output members bound to headers (the same name both ways, as S3's model binds them). */
const HEADER_MEMBERS: readonly (readonly [string, string])[] = [
  ["content-type", "ContentType"],
  ["content-md5", "ContentMD5"],
  ["content-length", "ContentLength"],
  ["content-encoding", "ContentEncoding"],
  ["content-disposition", "ContentDisposition"],
  ["content-language", "ContentLanguage"],
  ["cache-control", "CacheControl"],
  ["expires", "Expires"],
  ["content-range", "ContentRange"],
  ["accept-ranges", "AcceptRanges"],
  ["etag", "ETag"],
  ["last-modified", "LastModified"],
  ["location", "Location"],
  ["range", "Range"],
  ["if-match", "IfMatch"],
  ["if-none-match", "IfNoneMatch"],
  ["if-modified-since", "IfModifiedSince"],
  ["if-unmodified-since", "IfUnmodifiedSince"],
  ["x-amz-server-side-encryption", "ServerSideEncryption"],
  ["x-amz-server-side-encryption-aws-kms-key-id", "SSEKMSKeyId"],
  ["x-amz-server-side-encryption-context", "SSEKMSEncryptionContext"],
  ["x-amz-server-side-encryption-bucket-key-enabled", "BucketKeyEnabled"],
  ["x-amz-server-side-encryption-customer-algorithm", "SSECustomerAlgorithm"],
  ["x-amz-server-side-encryption-customer-key", "SSECustomerKey"],
  ["x-amz-server-side-encryption-customer-key-md5", "SSECustomerKeyMD5"],
  ["x-amz-content-sha256", "ContentSHA256"],
  ["x-amz-copy-source", "CopySource"],
  ["x-amz-copy-source-range", "CopySourceRange"],
  ["x-amz-copy-source-if-match", "CopySourceIfMatch"],
  ["x-amz-copy-source-if-none-match", "CopySourceIfNoneMatch"],
  ["x-amz-copy-source-if-modified-since", "CopySourceIfModifiedSince"],
  ["x-amz-copy-source-if-unmodified-since", "CopySourceIfUnmodifiedSince"],
  ["x-amz-metadata-directive", "MetadataDirective"],
  ["x-amz-copy-source-server-side-encryption-customer-algorithm", "CopySourceSSECustomerAlgorithm"],
  ["x-amz-copy-source-server-side-encryption-customer-key", "CopySourceSSECustomerKey"],
  ["x-amz-copy-source-server-side-encryption-customer-key-md5", "CopySourceSSECustomerKeyMD5"],
  ["x-amz-checksum-crc32", "ChecksumCRC32"],
  ["x-amz-checksum-crc32c", "ChecksumCRC32C"],
  ["x-amz-checksum-crc64nvme", "ChecksumCRC64NVME"],
  ["x-amz-checksum-sha1", "ChecksumSHA1"],
  ["x-amz-checksum-sha256", "ChecksumSHA256"],
  ["x-amz-checksum-type", "ChecksumType"],
  ["x-amz-sdk-checksum-algorithm", "ChecksumAlgorithm"],
  ["x-amz-checksum-algorithm", "ChecksumAlgorithm"],
  ["x-amz-checksum-mode", "ChecksumMode"],
  ["x-amz-expected-bucket-owner", "ExpectedBucketOwner"],
  ["x-amz-source-expected-bucket-owner", "ExpectedSourceBucketOwner"],
  ["x-amz-bucket-region", "BucketRegion"],
  ["x-amz-version-id", "VersionId"],
  ["x-amz-mp-parts-count", "PartsCount"],
  ["x-amz-storage-class", "StorageClass"],
  ["x-amz-acl", "ACL"],
  ["x-amz-grant-full-control", "GrantFullControl"],
  ["x-amz-grant-read", "GrantRead"],
  ["x-amz-grant-read-acp", "GrantReadACP"],
  ["x-amz-grant-write-acp", "GrantWriteACP"],
  ["x-amz-tagging", "Tagging"],
  ["x-amz-tagging-directive", "TaggingDirective"],
  ["x-amz-object-lock-mode", "ObjectLockMode"],
  ["x-amz-object-lock-retain-until-date", "ObjectLockRetainUntilDate"],
  ["x-amz-object-lock-legal-hold", "ObjectLockLegalHoldStatus"],
  ["x-amz-website-redirect-location", "WebsiteRedirectLocation"],
  ["x-amz-bypass-governance-retention", "BypassGovernanceRetention"],
  ["x-amz-grant-write", "GrantWrite"],
  ["x-amz-bucket-object-lock-enabled", "ObjectLockEnabledForBucket"],
  ["x-amz-object-ownership", "ObjectOwnership"],
  ["x-amz-write-offset-bytes", "WriteOffsetBytes"],
  ["x-amz-if-match-last-modified-time", "IfMatchLastModifiedTime"],
  ["x-amz-if-match-size", "IfMatchSize"],
  ["x-amz-if-match-initiated-time", "IfMatchInitiatedTime"],
  ["x-amz-mp-object-size", "MpuObjectSize"],
];
const MEMBER_OF_HEADER = new Map(HEADER_MEMBERS.map(([h, m]) => [h, m]));
const HEADER_OF_MEMBER = new Map(HEADER_MEMBERS.map(([h, m]) => [m, h]));
/** Headers the SDK sends that are the transport's business, not an input member. */
const TRANSPORT_MEMBERS = new Set(["ContentLength"]);

const QUERY_MEMBERS: ReadonlyMap<string, string> = new Map([
  ["prefix", "Prefix"],
  ["delimiter", "Delimiter"],
  ["max-keys", "MaxKeys"],
  ["marker", "Marker"],
  ["continuation-token", "ContinuationToken"],
  ["start-after", "StartAfter"],
  ["fetch-owner", "FetchOwner"],
  ["encoding-type", "EncodingType"],
  ["list-type", "ListType"],
  ["uploadId", "UploadId"],
  ["versionId", "VersionId"],
  ["partNumber", "PartNumber"],
  ["max-parts", "MaxParts"],
  ["part-number-marker", "PartNumberMarker"],
  ["key-marker", "KeyMarker"],
  ["upload-id-marker", "UploadIdMarker"],
  ["max-uploads", "MaxUploads"],
  ["max-buckets", "MaxBuckets"],
  ["bucket-region", "BucketRegion"],
  ["response-content-type", "ResponseContentType"],
  ["response-content-disposition", "ResponseContentDisposition"],
  ["response-content-encoding", "ResponseContentEncoding"],
  ["response-content-language", "ResponseContentLanguage"],
  ["response-cache-control", "ResponseCacheControl"],
  ["response-expires", "ResponseExpires"],
]);

/** S3's names for the failures every service shares. */
const S3_CODES: Partial<Record<ErrorCode, ErrorCode>> = {
  MissingAuthenticationTokenException: "AccessDenied",
  IncompleteSignatureException: "AuthorizationHeaderMalformed",
  InvalidSignatureException: "SignatureDoesNotMatch",
  UnrecognizedClientException: "InvalidAccessKeyId",
  ExpiredTokenException: "ExpiredToken",
  AccessDeniedException: "AccessDenied",
  ValidationException: "InvalidArgument",
  SerializationException: "MalformedXML",
  UnknownOperationException: "NotImplemented",
  InternalFailure: "InternalError",
  KMSInternalException: "InternalError",
};

/** XML input: lists that S3 writes as repeated elements. */
const LIST_ELEMENTS = new Set(["Rule", "EncryptionType", "Object", "Part", "Statement"]);
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => LIST_ELEMENTS.has(name),
});
const builder = new XMLBuilder({ ignoreAttributes: true, suppressEmptyNode: false, processEntities: true });

/** The bucket named by the Host header (virtual-host-style addressing), if any. */
export function virtualHostBucket(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, "").toLowerCase();
  if (/^[\d.]+$/.test(name) || name.startsWith("[")) return undefined;
  let m = /^(.+?)\.s3(?:[.-][a-z0-9-]+)*\.(?:amazonaws\.com|localhost)$/.exec(name);
  if (m) return m[1];
  m = /^(.+)\.localhost$/.exec(name);
  if (m && m[1] !== "s3") return m[1];
  return undefined;
}

interface Addressed {
  bucket?: string;
  key?: string;
  target: RestTarget;
}

function address(req: { rawPath: string; headers: IncomingHttpHeaders }): Addressed {
  const host = typeof req.headers.host === "string" ? req.headers.host : undefined;
  const vhost = virtualHostBucket(host);
  const path = req.rawPath.startsWith("/") ? req.rawPath.slice(1) : req.rawPath;
  if (vhost !== undefined) {
    return path === "" ? { bucket: vhost, target: "bucket" } : { bucket: vhost, key: decode(path), target: "object" };
  }
  if (path === "") return { target: "service" };
  const slash = path.indexOf("/");
  if (slash < 0 || slash === path.length - 1) return { bucket: decode(slash < 0 ? path : path.slice(0, slash)), target: "bucket" };
  return { bucket: decode(path.slice(0, slash)), key: decode(path.slice(slash + 1)), target: "object" };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ServiceError("InvalidArgument", "The request path is not valid percent-encoding.");
  }
}

export function parseQuery(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  if (rawQuery === "") return params;
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
    params.set(name, eq < 0 ? "" : decode(part.slice(eq + 1).replace(/\+/g, " ")));
  }
  return params;
}

/** The route of a request, or undefined when none matches (and the reason). */
export function findRoute(
  routes: readonly RestRoute[],
  method: string,
  target: RestTarget,
  query: ReadonlyMap<string, string>,
  headers: IncomingHttpHeaders,
): RestRoute | undefined {
  for (const r of routes) {
    if (r.method !== method || r.target !== target) continue;
    if (r.subresource !== undefined && !query.has(r.subresource)) continue;
    if (r.header !== undefined && headers[r.header] === undefined) continue;
    return r;
  }
  return undefined;
}

/**
 * Whether a request is S3's: its credential scope (header or presigned query) names s3; an
 * unsigned request is S3's unless it looks like a Query request (a form POST or an Action).
 */
export function isS3Request(req: { headers: IncomingHttpHeaders; url?: string; rawQuery?: string; method?: string }): boolean {
  const auth = req.headers.authorization;
  if (typeof auth === "string") return /Credential=[^/,]+\/\d{8}\/[^/,]+\/s3\/aws4_request/.test(auth);
  const query = req.rawQuery ?? req.url ?? "";
  if (/(^|[?&])X-Amz-Credential=/.test(query)) return /X-Amz-Credential=[^&]*(%2F|\/)s3(%2F|\/)aws4_request/i.test(query);
  const form = String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
  return !(req.method === "POST" && form) && !/(^|[?&])Action=/.test(query);
}

export class RestXmlProtocol implements ProtocolAdapter {
  constructor(private readonly service: RestService) {}

  /** Whether the body goes to the operation unread: object uploads (PutObject, UploadPart), which may be large. */
  streams(req: { method?: string; url?: string; headers: IncomingHttpHeaders }): boolean {
    if (req.method !== "PUT" || req.headers["x-amz-copy-source"] !== undefined) return false;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const { target } = address({ rawPath: q < 0 ? url : url.slice(0, q), headers: req.headers });
    if (target !== "object") return false;
    const query = parseQuery(q < 0 ? "" : url.slice(q + 1));
    for (const name of query.keys()) {
      if (name !== "partNumber" && name !== "uploadId" && name !== "x-id" && !name.startsWith("X-Amz-")) return false;
    }
    return true;
  }

  route(req: SignedRequest): Route {
    const addressed = address(req);
    const query = parseQuery(req.rawQuery);
    const route = findRoute(this.service.routes, req.method, addressed.target, query, req.headers);
    if (!route) {
      const other = OTHER_SUBRESOURCES.find((s) => query.has(s));
      throw new ServiceError(
        other ? "NotImplemented" : "MethodNotAllowed",
        other
          ? `keyhold does not implement the ?${other} sub-resource.`
          : `The specified method ${req.method} is not allowed against this resource.`,
      );
    }
    const other = OTHER_SUBRESOURCES.find((s) => query.has(s));
    const operation = other ? undefined : this.service.operation(route.name);
    return {
      service: this.service.signingName,
      operationName: route.name,
      operation,
      unserved: other ? new ServiceError("NotImplemented", `keyhold does not implement the ?${other} sub-resource.`) : undefined,
      input: () => this.input(req, route, addressed, query),
      internalErrorCode: "InternalFailure",
    };
  }

  private input(req: SignedRequest, route: RestRoute, addressed: Addressed, query: ReadonlyMap<string, string>): Record<string, unknown> {
    const input: Record<string, unknown> = {};
    if (addressed.bucket !== undefined) input.Bucket = addressed.bucket;
    if (addressed.key !== undefined) input.Key = addressed.key;
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(",") : value;
      if (name.startsWith("x-amz-meta-")) {
        metadata[name.slice("x-amz-meta-".length)] = text;
        continue;
      }
      const member = MEMBER_OF_HEADER.get(name);
      if (member && !TRANSPORT_MEMBERS.has(member)) input[member] = text;
    }
    if (Object.keys(metadata).length > 0) input.Metadata = metadata;
    for (const [name, value] of query) {
      const member = QUERY_MEMBERS.get(name);
      if (member) input[member] = value;
    }
    input.SecureTransport = req.secure === true;
    if (route.payload === "stream") {
      input.Body = new UploadBody(req.stream ?? bufferStream(req.body), req.headers, req.chunkSigning);
    } else if (route.payload === "text") {
      input[route.payloadMember ?? "Body"] = req.body.toString("utf8");
      input.ContentMD5Check = contentMd5Check(req);
    } else if (route.payload === "xml") {
      input.ContentMD5Check = contentMd5Check(req);
      if (req.body.length > 0) {
        const text = strictUtf8(req.body);
        let parsed: Record<string, unknown>;
        try {
          parsed = parser.parse(text, true) as Record<string, unknown>;
        } catch {
          throw new ServiceError("MalformedXML");
        }
        const root = Object.keys(parsed).find((k) => k !== "?xml");
        if (root === undefined) throw new ServiceError("MalformedXML");
        input[route.payloadMember ?? root] = parsed[root];
      }
    }
    return input;
  }

  success(requestId: string, output: unknown, route: Route): Reply {
    const spec = this.service.routes.find((r) => r.name === route.operationName)!;
    const out = (output ?? {}) as Record<string, unknown>;
    const headers: Record<string, string> = { "x-amz-request-id": requestId, "x-amz-id-2": requestId };
    const document: Record<string, unknown> = {};
    let stream: Readable | undefined;
    let body = Buffer.alloc(0);
    let contentLength: number | undefined;
    for (const [member, value] of Object.entries(out)) {
      if (value === undefined || value === null) continue;
      if (member === "Metadata") {
        for (const [k, v] of Object.entries(value as Record<string, string>)) headers[`x-amz-meta-${k}`] = v;
      } else if (member === "Body") {
        stream = value as Readable;
      } else if (member === "ContentLength") {
        contentLength = value as number;
      } else if (member === spec.outputPayload) {
        body = Buffer.from(String(value), "utf8");
      } else if (spec.xmlMembers?.includes(member)) {
        document[member] = value;
      } else if (HEADER_OF_MEMBER.has(member)) {
        headers[HEADER_OF_MEMBER.get(member)!] = value instanceof Date ? value.toUTCString() : String(value);
      } else if (spec.outputRoot) {
        document[member] = value;
      }
    }
    if (spec.outputRoot) {
      // An output whose one member is the root (GetBucketLocation's LocationConstraint) is the root's text.
      const only = Object.keys(document).length === 1 && spec.outputRoot in document;
      const xml = builder.build({ [spec.outputRoot]: only ? document[spec.outputRoot] : xmlValues(document) }) as string;
      const namespaced = xml.replace(`<${spec.outputRoot}>`, `<${spec.outputRoot} xmlns="${this.service.xmlNamespace}">`);
      body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${namespaced}`, "utf8");
      headers["content-type"] = "application/xml";
    }
    // A part of an object (a Range or a partNumber) is 206, for a GET and for the HEAD that describes it.
    const status = spec.status ?? (out.ContentRange !== undefined && (stream || spec.method === "HEAD") ? 206 : 200);
    if (stream || spec.method === "HEAD") return { status, headers, body, stream, contentLength: contentLength ?? 0 };
    return { status, headers, body };
  }

  failure(
    requestId: string,
    code: ErrorCode,
    message: string,
    route: Route | undefined,
    details?: Readonly<Record<string, string>>,
  ): Reply {
    const wire = S3_CODES[code] ?? code;
    const status = ERROR_CODES[wire].status;
    const headers: Record<string, string> = { "x-amz-request-id": requestId, "x-amz-id-2": requestId };
    const spec = route && this.service.routes.find((r) => r.name === route.operationName);
    // HEAD answers and 304 carry no body: the code travels in the status alone, as S3's do.
    if (spec?.method === "HEAD" || status === 304)
      return { status, headers, body: Buffer.alloc(0), contentLength: status === 304 ? undefined : 0 };
    headers["content-type"] = "application/xml";
    const xml = builder.build({ Error: { Code: wire, Message: message, ...details, RequestId: requestId } }) as string;
    return { status, headers, body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`, "utf8") };
  }
}

/** Output values as the XML builder writes them: dates in ISO 8601, booleans and numbers as text. */
function xmlValues(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(xmlValues);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined && v !== null) out[k] = xmlValues(v);
    return out;
  }
  return value;
}

/** Whether a buffered body matches its Content-MD5, checked by the operation after validation. */
function contentMd5Check(req: SignedRequest): () => void {
  return () => UploadBody.checkContentMd5(req.headers["content-md5"], req.body);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * An XML document's text, refused when its bytes are not UTF-8: decoded leniently, bytes FF FE
 * would become U+FFFD characters and name another key (a DeleteObjects would delete it).
 */
function strictUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new ServiceError("MalformedXML", "The XML you provided is not valid UTF-8.");
  }
}

function bufferStream(body: Buffer): Readable {
  return UploadBody.fromBuffer(body);
}
