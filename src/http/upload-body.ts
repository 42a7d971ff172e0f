/**
 * An uploaded object's body as the operation reads it: the bytes after any aws-chunked framing,
 * with what the client claimed about them checked once they have all been read — the signed
 * payload hash (x-amz-content-sha256), Content-MD5, the SDK's checksums (x-amz-checksum-*, in a
 * header or a trailer) and the declared length. The operation stores the bytes, then calls
 * `verify()` and commits only if it passes, so a corrupted upload never becomes an object.
 */
import { createHash, timingSafeEqual, type Hash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { crc32 } from "node:zlib";
import { ServiceError } from "../errors.js";
import { AwsChunkedDecoder } from "./aws-chunked.js";
import type { ChunkSigning } from "./sigv4.js";

/** The checksums keyhold verifies; the SDK's default is CRC32. */
const CHECKSUMS = ["crc32", "sha1", "sha256"] as const;
type ChecksumName = (typeof CHECKSUMS)[number];
/** Checksums S3 knows that keyhold does not compute (refused up front rather than left unchecked). */
const UNVERIFIABLE = new Set(["crc32c", "crc64nvme", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128"]);

export interface VerifiedBody {
  bytes: number;
  /** The CRC32 of the bytes (base64 of the big-endian value), which S3 returns and the SDK checks on GET. */
  crc32: string;
  /** The MD5 of the bytes, unless the operation said it needs none (see skipMd5). */
  md5Hex?: string;
}

export class UploadBody {
  /** The decoded bytes; read it once. */
  readonly stream: Readable;
  private readonly decoder: AwsChunkedDecoder | undefined;
  private md5: Hash | undefined = createHash("md5");
  private readonly sha256: Hash | undefined;
  private readonly extra = new Map<ChecksumName, Hash>();
  private crc = 0;
  private bytes = 0;

  constructor(
    raw: Readable,
    private readonly headers: IncomingHttpHeaders,
    signing?: ChunkSigning,
  ) {
    const claimed = header(headers, "x-amz-content-sha256");
    const chunked = claimed?.startsWith("STREAMING-") === true || /aws-chunked/.test(header(headers, "content-encoding") ?? "");
    if (claimed !== undefined && /^[0-9a-f]{64}$/.test(claimed)) this.sha256 = createHash("sha256");
    const algorithm = this.checksumAlgorithm();
    if (algorithm === "sha1" || algorithm === "sha256") this.extra.set(algorithm, createHash(algorithm));
    const observer = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) => {
        this.bytes += chunk.length;
        this.md5?.update(chunk);
        this.sha256?.update(chunk);
        this.crc = crc32(chunk, this.crc);
        for (const h of this.extra.values()) h.update(chunk);
        done(null, chunk);
      },
    });
    const failed = (error: Error) => observer.destroy(error);
    // A failure before the operation reads (a bad chunk signature) is held by the destroyed
    // stream for the reader, never left unhandled.
    observer.on("error", () => undefined);
    raw.on("error", failed);
    const decoder = chunked ? new AwsChunkedDecoder(signing) : undefined;
    decoder?.on("error", failed);
    this.decoder = decoder;
    // The request is read only once the operation reads the body, after everything decided from
    // the headers (authorization, SSE-C keys, conditions): a refusal then leaves the body unread,
    // so the server answers at once, without a 100 Continue, and closes (see server.ts).
    const read = observer._read.bind(observer);
    let connected = false;
    observer._read = (size: number) => {
      if (!connected) {
        connected = true;
        if (decoder) raw.pipe(decoder).pipe(observer);
        else raw.pipe(observer);
      }
      read(size);
    };
    this.stream = observer;
  }

  static fromBuffer(body: Buffer): Readable {
    return Readable.from(body.length === 0 ? [] : [body]);
  }

  /**
   * The operation needs no MD5 of the bytes (an object whose ETag is not one: SSE-KMS, SSE-C), so
   * none is computed from here on — unless the request sent Content-MD5, which is still checked.
   */
  skipMd5(): void {
    if (header(this.headers, "content-md5") === undefined) this.md5 = undefined;
  }

  /** Checks a buffered body's Content-MD5 (XML documents, policies). */
  static checkContentMd5(header: string | string[] | undefined, body: Buffer): void {
    if (header === undefined) return;
    compareDigest(String(header), createHash("md5").update(body).digest(), "Content-MD5");
  }

  /** Which checksum the client sends (header or trailer), refused up front when keyhold cannot verify it. */
  private checksumAlgorithm(): ChecksumName | undefined {
    const named = [header(this.headers, "x-amz-trailer"), ...Object.keys(this.headers).filter((h) => h.startsWith("x-amz-checksum-"))]
      .filter(
        (h): h is string =>
          h !== undefined && h.startsWith("x-amz-checksum-") && h !== "x-amz-checksum-type" && h !== "x-amz-checksum-mode",
      )
      .map((h) => h.slice("x-amz-checksum-".length).toLowerCase());
    for (const name of named) {
      if (UNVERIFIABLE.has(name)) {
        throw new ServiceError(
          "NotImplemented",
          `keyhold verifies CRC32, SHA1 and SHA256 checksums, not ${name.toUpperCase()}; choose one of those.`,
        );
      }
      if (!(CHECKSUMS as readonly string[]).includes(name))
        throw new ServiceError("InvalidRequest", `Unknown checksum x-amz-checksum-${name}.`);
    }
    return named[0] as ChecksumName | undefined;
  }

  /** After the stream ended: every claim about the bytes holds, or the upload is refused. */
  verify(): VerifiedBody {
    const declared =
      header(this.headers, "x-amz-decoded-content-length") ?? (this.decoder ? undefined : header(this.headers, "content-length"));
    if (declared !== undefined && Number(declared) !== this.bytes) {
      throw new ServiceError("IncompleteBody", `The body had ${this.bytes} bytes, not the ${declared} its headers declared.`);
    }
    if (this.sha256) {
      const computed = this.sha256.digest();
      const claimed = Buffer.from(header(this.headers, "x-amz-content-sha256")!, "hex");
      if (!timingSafeEqual(computed, claimed)) throw new ServiceError("XAmzContentSHA256Mismatch");
    }
    const md5 = this.md5?.digest();
    const contentMd5 = header(this.headers, "content-md5");
    if (contentMd5 !== undefined) compareDigest(contentMd5, md5!, "Content-MD5");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(this.crc >>> 0);
    const algorithm = this.checksumAlgorithm();
    if (algorithm) {
      const name = `x-amz-checksum-${algorithm}`;
      const claimed = header(this.headers, name) ?? this.decoder?.trailers.get(name);
      if (claimed === undefined) throw new ServiceError("InvalidRequest", `The ${name} checksum the request announced did not arrive.`);
      const h = this.extra.get(algorithm);
      const computed = algorithm === "crc32" || !h ? crc : h.digest();
      compareDigest(claimed, computed, name);
    }
    return { bytes: this.bytes, crc32: crc.toString("base64"), md5Hex: md5?.toString("hex") };
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** A base64 digest the client sent against the one computed: InvalidDigest when it is not one, BadDigest when it differs. */
function compareDigest(claimedBase64: string, computed: Buffer, what: string): void {
  const claimed = Buffer.from(claimedBase64, "base64");
  if (claimed.length !== computed.length || claimed.toString("base64") !== claimedBase64.trim()) {
    throw new ServiceError("InvalidDigest", `The ${what} you specified is not a valid base64 digest.`);
  }
  if (!timingSafeEqual(claimed, computed)) throw new ServiceError("BadDigest", `The ${what} you specified did not match what we received.`);
}
