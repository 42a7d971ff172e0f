/**
 * Signature Version 4 verification for requests signed in the Authorization header.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 *
 * The order of checks follows what AWS reports: a request without a signature, then a malformed
 * header, then an unknown access key, then the clock, then the scope, then the signature itself.
 * The final comparison is constant-time.
 */
import { createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { ServiceError } from "../errors.js";
import type { Principal } from "../iam/principal.js";
import type { SessionRecord } from "../store/records.js";
import { AWS_REGIONS } from "../regions.js";
import { Lru } from "../lru.js";

export const ALGORITHM = "AWS4-HMAC-SHA256";
/** AWS accepts a request time within 15 minutes of its own clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export interface SignedRequest {
  method: string;
  /** The path as it came on the wire, still percent-encoded. */
  rawPath: string;
  /** The query string as it came on the wire, without '?'. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The peer's address, for the audit trail. */
  sourceIp?: string;
  /** Whether the request came over TLS. */
  secure?: boolean;
  /** For S3 object uploads: the body, not yet read (then `body` is empty). */
  stream?: Readable;
  /** Set by verifySigV4 when the body is signed chunk by chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
  chunkSigning?: ChunkSigning;
}

/** What verifies the signatures of an aws-chunked body: each chunk's signature chains from the request's. */
export interface ChunkSigning {
  signingKey: KeyObject;
  amzDate: string;
  scope: string;
  seedSignature: string;
  /** Whether a signed trailer (x-amz-trailer-signature) ends the body. */
  trailer: boolean;
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The signature of one chunk of a signed aws-chunked body, given the previous signature. */
export function chunkSignature(signing: ChunkSigning, previous: string, chunkSha256Hex: string): string {
  const stringToSign = `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${previous}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
  return createHmac("sha256", signing.signingKey).update(stringToSign).digest("hex");
}

/** The signature of the trailing headers of a signed aws-chunked body (`name:value\n` each). */
export function trailerSignature(signing: ChunkSigning, previous: string, trailerText: string): string {
  const stringToSign = `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${previous}\n${hash("sha256", trailerText, "hex")}`;
  return createHmac("sha256", signing.signingKey).update(stringToSign).digest("hex");
}

/** Compares two hex signatures in constant time. */
export function sameSignature(expected: string, given: string): boolean {
  return (
    expected.length === given.length &&
    /^[0-9a-f]+$/.test(given) &&
    timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(given, "hex"))
  );
}

export interface SigningIdentity {
  accessKeyId: string;
  accountId: string;
  secretAccessKey: string;
  principal: Principal;
  /** Temporary credentials: the request must carry the session token, before it expires. */
  session?: Pick<SessionRecord, "tokenHash" | "expiresAt" | "policies">;
}

export interface VerifiedSignature {
  accessKeyId: string;
  accountId: string;
  region: string;
  principal: Principal;
  /** A role session's session policies. */
  sessionPolicies?: readonly string[];
}

export type IdentityLookup = (accessKeyId: string) => Promise<SigningIdentity | undefined>;

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  /** The SignedHeaders list as sent ("content-type;host;x-amz-date"), and split. */
  signedHeadersText: string;
  signedHeaders: readonly string[];
  signature: string;
}

/** SignedHeaders lists split once: a client sends the same few lists request after request. */
const splitHeaderLists = new Lru<string, readonly string[]>(256);

function splitSignedHeaders(text: string): readonly string[] {
  let names = splitHeaderLists.get(text);
  if (!names) {
    names = Object.freeze(text.split(";"));
    splitHeaderLists.set(text, names);
  }
  return names;
}

/**
 * Signature Version 2 (an `AWS <key>:<signature>` header, or a URL presigned with
 * AWSAccessKeyId/Signature/Expires, which boto3 still makes for S3 unless told `signature_version
 * = "s3v4"`): refused as S3 refuses it in the regions that never had it, naming what to use.
 */
function sigV2(): ServiceError {
  return new ServiceError("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
}

function incomplete(message: string): ServiceError {
  return new ServiceError("IncompleteSignatureException", message);
}

/** The form every SDK sends; anything else goes through the general parser below. */
const COMMON_FORM =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string): ParsedAuthorization {
  const m = COMMON_FORM.exec(header);
  if (m) {
    return {
      accessKeyId: m[1]!,
      date: m[2]!,
      region: m[3]!,
      service: m[4]!,
      signedHeadersText: m[5]!,
      signedHeaders: splitSignedHeaders(m[5]!),
      signature: m[6]!,
    };
  }
  if (!header.startsWith(ALGORITHM + " ")) {
    throw incomplete(`Authorization header must use the ${ALGORITHM} algorithm.`);
  }
  const params = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = params.get("Credential");
  const signedHeaders = params.get("SignedHeaders");
  const signature = params.get("Signature");
  if (!credential || !signedHeaders || !signature) {
    throw incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
  }
  const scope = credential.split("/");
  if (scope.length !== 5 || scope[4] !== "aws4_request" || !scope[0]) {
    throw incomplete("Credential must have the form <access key id>/<date>/<region>/<service>/aws4_request.");
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) throw incomplete("Signature must be 64 lower-case hex characters.");
  return {
    accessKeyId: scope[0],
    date: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeadersText: signedHeaders,
    signedHeaders: splitSignedHeaders(signedHeaders),
    signature,
  };
}

/** The last X-Amz-Date read: requests signed in the same second carry the same one. */
let lastAmzDate: { text: string; time: number | undefined } = { text: "", time: undefined };

function parseAmzDate(value: string): number | undefined {
  if (value === lastAmzDate.text) return lastAmzDate.time;
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const time = Number.isNaN(t) ? undefined : t;
  lastAmzDate = { text: value, time };
  return time;
}

/** RFC 3986 percent-encoding as SigV4 wants it: everything but unreserved characters. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, "%20"));
  } catch {
    return value;
  }
}

export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return "";
  return rawQuery
    .split("&")
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf("=");
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? "" : p.slice(eq + 1);
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/**
 * Services other than S3 sign the wire path, normalized ("." and ".." resolved, empty segments
 * dropped) and percent-encoded once more; S3 signs the wire path as it is.
 */
export function canonicalPath(rawPath: string, doubleEncode: boolean): string {
  const path = rawPath || "/";
  if (!doubleEncode || path === "/") return path;
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return uriEncode("/" + segments.join("/") + trailing).replace(/%2F/g, "/");
}

function basicIso(t: number): string {
  return new Date(t)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

const NEEDS_FOLDING = /^\s|\s$|\s\s|[\t\r\n]/;

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  const joined = Array.isArray(v) ? v.join(",") : (v ?? "");
  return NEEDS_FOLDING.test(joined) ? joined.trim().replace(/\s+/g, " ") : joined;
}

/** Derived signing keys, as KeyObjects: an HMAC keyed by a KeyObject sets up in about half the time of one keyed by a Buffer. */
const signingKeys = new Lru<string, KeyObject>(10_000);

function signingKey(secret: string, date: string, region: string, service: string, accessKeyId: string): KeyObject {
  const cacheKey = `${accessKeyId}\n${date}\n${region}\n${service}\n${secret}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    const kDate = createHmac("sha256", "AWS4" + secret)
      .update(date)
      .digest();
    const kRegion = createHmac("sha256", kDate).update(region).digest();
    const kService = createHmac("sha256", kRegion).update(service).digest();
    key = createSecretKey(createHmac("sha256", kService).update("aws4_request").digest());
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** Each identity's last signing key and its scope: an identity (one per access key, see Credentials) signs with one scope a day. */
const lastSigningKeys = new WeakMap<SigningIdentity, { scope: string; key: KeyObject }>();

function signingKeyOf(identity: SigningIdentity, auth: ParsedAuthorization, scope: string): KeyObject {
  const last = lastSigningKeys.get(identity);
  if (last !== undefined && last.scope === scope) return last.key;
  const key = signingKey(identity.secretAccessKey, auth.date, auth.region, auth.service, auth.accessKeyId);
  lastSigningKeys.set(identity, { scope, key });
  return key;
}

export interface VerifyOptions {
  /** The service name the credential scope must carry ("kms"). */
  service: string;
  now: number;
  lookup: IdentityLookup;
  /** The regions served (src/regions.ts); default AWS's. */
  regions?: ReadonlySet<string>;
}

export async function verifySigV4(req: SignedRequest, options: VerifyOptions): Promise<VerifiedSignature> {
  const header = req.headers.authorization;
  if (!header) {
    if (options.service === "s3" && /(^|&)X-Amz-Algorithm=/.test(req.rawQuery)) return verifyPresigned(req, options);
    if (options.service === "s3" && /(^|&)AWSAccessKeyId=/.test(req.rawQuery) && /(^|&)Signature=/.test(req.rawQuery)) throw sigV2();
    throw new ServiceError("MissingAuthenticationTokenException");
  }
  if (options.service === "s3" && header.startsWith("AWS ")) throw sigV2();
  const auth = parseAuthorization(header);

  const identity = await options.lookup(auth.accessKeyId);
  if (!identity) throw new ServiceError("UnrecognizedClientException");

  const amzDate = headerValue(req.headers, "x-amz-date");
  const requestTime = amzDate ? parseAmzDate(amzDate) : Date.parse(headerValue(req.headers, "date"));
  if (requestTime === undefined || Number.isNaN(requestTime)) {
    throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (Math.abs(options.now - requestTime) > MAX_CLOCK_SKEW_MS) {
    throw new ServiceError(
      "InvalidSignatureException",
      `Signature expired: ${basicIso(requestTime)} is now earlier than ${basicIso(options.now - MAX_CLOCK_SKEW_MS)} (${basicIso(options.now)} - 15 min.)`,
    );
  }
  const isoDate = amzDate ? amzDate.slice(0, 8) : basicIso(requestTime).slice(0, 8);
  if (auth.date !== isoDate) {
    throw new ServiceError(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${isoDate}'`,
    );
  }
  checkScope(auth, options);
  const payloadHash = payloadHashOf(req, options.service === "s3");
  return signatureMatches(
    req,
    options,
    identity,
    auth,
    amzDate || basicIso(requestTime),
    payloadHash,
    req.rawQuery,
    req.headers["x-amz-security-token"],
  );
}

function checkScope(auth: ParsedAuthorization, options: VerifyOptions): void {
  // A region keyhold does not serve (a typo such as us-east-9) is refused as AWS refuses a scope
  // naming a region its endpoint is not: S3 says AuthorizationHeaderMalformed, the others
  // InvalidSignatureException. Served, it would show an empty account as if nothing were wrong.
  if (!(options.regions ?? AWS_REGIONS).has(auth.region)) {
    if (options.service === "s3") {
      throw incomplete(
        `The authorization header is malformed; the region '${auth.region}' is wrong: it is not a region this server serves.`,
      );
    }
    throw new ServiceError("InvalidSignatureException", `Credential should be scoped to a valid region, not '${auth.region}'.`);
  }
  if (auth.service !== options.service) {
    throw new ServiceError("InvalidSignatureException", `Credential should be scoped to correct service: '${options.service}'.`);
  }
  if (!auth.signedHeaders.includes("host")) {
    throw new ServiceError("InvalidSignatureException", "The host header must be signed.");
  }
}

/** The signature over the canonical request checks out, and so does the session token of temporary credentials. */
function signatureMatches(
  req: SignedRequest,
  options: VerifyOptions,
  identity: SigningIdentity,
  auth: ParsedAuthorization,
  amzDate: string,
  payloadHash: string,
  signedQuery: string,
  token: string | string[] | undefined,
): VerifiedSignature {
  let canonicalHeaders = "";
  for (const h of auth.signedHeaders) canonicalHeaders += `${h}:${headerValue(req.headers, h)}\n`;
  // S3 signs the path as sent; other services normalize it and encode it once more.
  const path = canonicalPath(req.rawPath, options.service !== "s3");
  const canonicalRequest = `${req.method}\n${path}\n${canonicalQuery(signedQuery)}\n${canonicalHeaders}\n${auth.signedHeadersText}\n${payloadHash}`;
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${hash("sha256", canonicalRequest, "hex")}`;
  const key = signingKeyOf(identity, auth, scope);
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(auth.signature, "hex"))) throw new ServiceError("InvalidSignatureException");
  requireSigned(req, options.service, auth.signedHeaders, req.headers.authorization === undefined);
  if (SIGNED_STREAMING.has(payloadHash)) {
    req.chunkSigning = { signingKey: key, amzDate, scope, seedSignature: auth.signature, trailer: payloadHash.endsWith("-TRAILER") };
  }
  checkSessionToken(token, identity, options.now);
  return {
    accessKeyId: identity.accessKeyId,
    accountId: identity.accountId,
    region: auth.region,
    principal: identity.principal,
    sessionPolicies: identity.session?.policies,
  };
}

/**
 * What is signed is what is done: a header the signature does not cover could be added by anyone
 * who holds the request (a presigned URL, a captured request) and must not change what it does.
 * S3 refuses every `x-amz-*` header missing from SignedHeaders (403 AccessDenied, "There were
 * headers present in the request which were not signed"), which is what the SDKs, botocore and the
 * CLI expect: they sign every `x-amz-*` header (only `x-amzn-trace-id`, another prefix, is left
 * out). A presigned URL carries its own parameters in the query; its x-amz-content-sha256 header,
 * if any, is tolerated unsigned as S3 does, because the payload hash enters the canonical request
 * whether its header is signed or not. The JSON and Query services select the operation by
 * X-Amz-Target and the body's parsing by Content-Type: both must be signed too.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
function requireSigned(req: SignedRequest, service: string, signedHeaders: readonly string[], presigned: boolean): void {
  let unsigned: string[] | undefined;
  for (const name of Object.keys(req.headers)) {
    if (!name.startsWith("x-amz-") && !(name === "content-type" && service !== "s3")) continue;
    if (presigned && name === "x-amz-content-sha256") continue;
    if (!signedHeaders.includes(name)) (unsigned ??= []).push(name);
  }
  if (unsigned === undefined) return;
  const names = unsigned.sort().join(", ");
  const message = `There were headers present in the request which were not signed: ${names}`;
  throw new ServiceError(service === "s3" ? "AccessDeniedException" : "InvalidSignatureException", message, { HeadersNotSigned: names });
}

/** The longest a presigned URL may live: 7 days, as S3 allows. */
const MAX_PRESIGNED_SECONDS = 604_800;

/**
 * A presigned S3 URL: the signature and its parameters are in the query string
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html); the payload is
 * unsigned, and the URL works from X-Amz-Date for X-Amz-Expires seconds.
 */
async function verifyPresigned(req: SignedRequest, options: VerifyOptions): Promise<VerifiedSignature> {
  const params = new Map<string, string>();
  const kept: string[] = [];
  for (const part of req.rawQuery.split("&")) {
    const eq = part.indexOf("=");
    const name = safeDecode(eq < 0 ? part : part.slice(0, eq));
    params.set(name, safeDecode(eq < 0 ? "" : part.slice(eq + 1)));
    if (name !== "X-Amz-Signature") kept.push(part);
  }
  if (params.get("X-Amz-Algorithm") !== ALGORITHM) throw incomplete(`X-Amz-Algorithm must be ${ALGORITHM}.`);
  const credential = params.get("X-Amz-Credential");
  const signedHeaders = params.get("X-Amz-SignedHeaders");
  const signature = params.get("X-Amz-Signature");
  const amzDate = params.get("X-Amz-Date");
  const expires = params.get("X-Amz-Expires");
  if (!credential || !signedHeaders || !signature || !amzDate || !expires) {
    throw incomplete("A presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature.");
  }
  const auth = parseAuthorization(`${ALGORITHM} Credential=${credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`);
  const identity = await options.lookup(auth.accessKeyId);
  if (!identity) throw new ServiceError("UnrecognizedClientException");
  const requestTime = parseAmzDate(amzDate);
  if (requestTime === undefined) throw incomplete("X-Amz-Date must be an ISO 8601 basic date-time (YYYYMMDD'T'HHMMSS'Z').");
  if (!/^\d+$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_PRESIGNED_SECONDS) {
    throw incomplete(`X-Amz-Expires must be between 1 and ${MAX_PRESIGNED_SECONDS} seconds.`);
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    throw new ServiceError(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from X-Amz-Date: '${auth.date}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  if (options.now < requestTime - MAX_CLOCK_SKEW_MS) throw new ServiceError("AccessDeniedException", "Request is not valid yet");
  if (options.now > requestTime + Number(expires) * 1000) throw new ServiceError("AccessDeniedException", "Request has expired");
  checkScope(auth, options);
  const claimed = req.headers["x-amz-content-sha256"];
  const payloadHash = typeof claimed === "string" ? payloadHashOf(req, true) : "UNSIGNED-PAYLOAD";
  return signatureMatches(req, options, identity, auth, amzDate, payloadHash, kept.join("&"), params.get("X-Amz-Security-Token"));
}

/** S3's signed streaming payloads: the body is aws-chunked, each chunk signed (and the trailer, with -TRAILER). */
const SIGNED_STREAMING = new Set(["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"]);

/** S3's payload hashes that stand for a body not hashed up front. */
export const UNSIGNED_PAYLOADS = new Set(["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]);

/**
 * The payload hash the signature covers. A buffered body is hashed here and must match a claimed
 * x-amz-content-sha256; a streamed S3 body is checked by the operation that reads it (against the
 * claimed hash), and S3's unsigned-payload forms are taken as they are.
 */
function payloadHashOf(req: SignedRequest, s3: boolean): string {
  const claimed = req.headers["x-amz-content-sha256"];
  if (s3 && typeof claimed === "string" && (UNSIGNED_PAYLOADS.has(claimed) || (req.stream && /^[0-9a-f]{64}$/.test(claimed)))) {
    return claimed;
  }
  if (s3 && typeof claimed === "string" && SIGNED_STREAMING.has(claimed)) {
    if (!req.stream) throw new ServiceError("InvalidSignatureException", `x-amz-content-sha256 ${claimed} is for object uploads only.`);
    return claimed;
  }
  if (s3 && typeof claimed === "string" && claimed.startsWith("STREAMING-")) {
    throw new ServiceError("InvalidSignatureException", `x-amz-content-sha256 ${claimed} is not a payload form S3 knows.`);
  }
  if (req.stream) throw new ServiceError("InvalidSignatureException", "A streamed body needs its x-amz-content-sha256.");
  const payloadHash = hash("sha256", req.body, "hex");
  if (claimed !== undefined && claimed !== payloadHash) {
    throw new ServiceError("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return payloadHash;
}

/**
 * Temporary credentials work only with their session token (X-Amz-Security-Token, which the
 * signature covers) and until they expire; long-term credentials must come without one.
 */
function checkSessionToken(token: string | string[] | undefined, identity: SigningIdentity, now: number): void {
  if (!identity.session) {
    if (token !== undefined) throw new ServiceError("UnrecognizedClientException");
    return;
  }
  if (typeof token !== "string") throw new ServiceError("UnrecognizedClientException");
  const presented = hash("sha256", token);
  if (!timingSafeEqual(Buffer.from(presented, "hex"), Buffer.from(identity.session.tokenHash, "hex"))) {
    throw new ServiceError("UnrecognizedClientException");
  }
  if (now >= identity.session.expiresAt) throw new ServiceError("ExpiredTokenException");
}
