/**
 * The aws-chunked content encoding the SDKs use to stream uploads with a trailing checksum
 * (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`):
 *   <size in hex>\r\n<bytes>\r\n … 0\r\n<trailer>:<value>\r\n … \r\n
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 * and its signed form (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`), where every chunk carries
 * `;chunk-signature=…` chained from the request's signature, and a signed trailer ends the body
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
 * The decoder passes the bytes on and collects the trailers; malformed framing or a signature
 * that does not match is an error (the upload is then not stored).
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ServiceError } from "../errors.js";
import { chunkSignature, sameSignature, trailerSignature, type ChunkSigning } from "./sigv4.js";

const MAX_LINE = 4096;

export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = -1; // bytes of the current chunk still to pass on; -1: expecting a size line
  private state: "size" | "data" | "crlf" | "trailers" | "done" = "size";
  /** Signed chunks: the last verified signature, the claimed one of the current chunk, and its running hash. */
  private previous: string | undefined;
  private claimed: string | undefined;
  private chunkHash: Hash | undefined;
  private trailerText = "";
  private trailerClaim: string | undefined;

  constructor(private readonly signing?: ChunkSigning) {
    super();
    this.previous = signing?.seedSignature;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.parse();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state !== "done") done(malformed("the aws-chunked body ended before its final chunk"));
    else done();
  }

  private line(): string | undefined {
    const end = this.buffer.indexOf("\r\n");
    if (end < 0) {
      if (this.buffer.length > MAX_LINE) throw malformed("an aws-chunked line is too long");
      return undefined;
    }
    const text = this.buffer.subarray(0, end).toString("latin1");
    this.buffer = this.buffer.subarray(end + 2);
    return text;
  }

  /** The chunk just read has the signature it claimed, chained from the previous one. */
  private verifyChunk(): void {
    const expected = chunkSignature(this.signing!, this.previous!, this.chunkHash!.digest("hex"));
    if (!sameSignature(expected, this.claimed ?? ""))
      throw badSignature("The chunk signature does not match the chunk: the body was altered or signed with another key.");
    this.previous = expected;
    this.chunkHash = undefined;
  }

  private verifyTrailer(): void {
    if (this.trailerClaim === undefined) throw badSignature("A signed aws-chunked body with a trailer needs x-amz-trailer-signature.");
    const expected = trailerSignature(this.signing!, this.previous!, this.trailerText);
    if (!sameSignature(expected, this.trailerClaim)) throw badSignature("The trailer signature does not match the trailing headers.");
  }

  private parse(): void {
    for (;;) {
      if (this.state === "size") {
        const text = this.line();
        if (text === undefined) return;
        const [size, ...extensions] = text.split(";");
        if (!/^[0-9a-fA-F]{1,8}$/.test(size!)) throw malformed("an aws-chunked chunk size is not hexadecimal");
        this.remaining = parseInt(size!, 16);
        if (this.signing) {
          const signature = extensions.find((e) => e.startsWith("chunk-signature="));
          if (!signature) throw badSignature("a chunk of a signed aws-chunked body has no chunk-signature");
          this.claimed = signature.slice("chunk-signature=".length);
          this.chunkHash = createHash("sha256");
          if (this.remaining === 0) this.verifyChunk();
        }
        this.state = this.remaining === 0 ? "trailers" : "data";
      } else if (this.state === "data") {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        this.chunkHash?.update(this.buffer.subarray(0, take));
        this.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.signing) this.verifyChunk();
          this.state = "crlf";
        }
      } else if (this.state === "crlf") {
        if (this.buffer.length < 2) return;
        if (this.buffer[0] !== 13 || this.buffer[1] !== 10) throw malformed("an aws-chunked chunk does not end with CRLF");
        this.buffer = this.buffer.subarray(2);
        this.state = "size";
      } else if (this.state === "trailers") {
        const text = this.line();
        if (text === undefined) return;
        if (text === "") {
          if (this.signing?.trailer) this.verifyTrailer();
          this.state = "done";
          continue;
        }
        const colon = text.indexOf(":");
        if (colon <= 0) throw malformed("an aws-chunked trailer is not name:value");
        const name = text.slice(0, colon).trim().toLowerCase();
        const value = text.slice(colon + 1).trim();
        if (name === "x-amz-trailer-signature") {
          this.trailerClaim = value;
        } else {
          this.trailers.set(name, value);
          this.trailerText += `${name}:${value}\n`;
        }
      } else {
        if (this.buffer.length > 0) throw malformed("bytes after the aws-chunked trailers");
        return;
      }
    }
  }
}

function badSignature(message: string): ServiceError {
  return new ServiceError("InvalidSignatureException", message);
}

function malformed(message: string): ServiceError {
  return new ServiceError("IncompleteBody", message);
}
