/**
 * The aws-chunked content encoding the SDKs use to stream uploads with a trailing checksum
 * (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`):
 *   <size in hex>\r\n<bytes>\r\n … 0\r\n<trailer>:<value>\r\n … \r\n
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 * The decoder passes the bytes on and collects the trailers; malformed framing is an error.
 */
import { Transform, type TransformCallback } from "node:stream";
import { ServiceError } from "../errors.js";

const MAX_LINE = 4096;

export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = -1; // bytes of the current chunk still to pass on; -1: expecting a size line
  private state: "size" | "data" | "crlf" | "trailers" | "done" = "size";

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

  private parse(): void {
    for (;;) {
      if (this.state === "size") {
        const text = this.line();
        if (text === undefined) return;
        const size = text.split(";")[0]!;
        if (!/^[0-9a-fA-F]{1,8}$/.test(size)) throw malformed("an aws-chunked chunk size is not hexadecimal");
        this.remaining = parseInt(size, 16);
        this.state = this.remaining === 0 ? "trailers" : "data";
      } else if (this.state === "data") {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        this.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = "crlf";
      } else if (this.state === "crlf") {
        if (this.buffer.length < 2) return;
        if (this.buffer[0] !== 13 || this.buffer[1] !== 10) throw malformed("an aws-chunked chunk does not end with CRLF");
        this.buffer = this.buffer.subarray(2);
        this.state = "size";
      } else if (this.state === "trailers") {
        const text = this.line();
        if (text === undefined) return;
        if (text === "") {
          this.state = "done";
          return;
        }
        const colon = text.indexOf(":");
        if (colon <= 0) throw malformed("an aws-chunked trailer is not name:value");
        this.trailers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
      } else {
        if (this.buffer.length > 0) throw malformed("bytes after the aws-chunked trailers");
        return;
      }
    }
  }
}

function malformed(message: string): ServiceError {
  return new ServiceError("IncompleteBody", message);
}
