/**
 * Reads a CloudTrail log file (`{"Records":[…]}`, gzipped) one record at a time, so that a file of
 * any size is checked in the memory of one record. The scanner knows only the layout: the one
 * object with its one key "Records", an array of objects; each object's text is handed on whole,
 * for JSON.parse. Whitespace may be anywhere JSON allows it (keyhold writes none; a file rewritten
 * by another tool may have some).
 */
import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";

/** A record longer than this is no record keyhold writes (a request's parameters are bounded far below it). */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

export class NotARecordsFile extends Error {}

const PREFIX = /^\s*\{\s*"Records"\s*:\s*\[$/;
const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export class RecordsScanner {
  private phase: "prefix" | "between" | "record" | "suffix" | "done" = "prefix";
  private prefix = "";
  private parts: string[] = [];
  private partChars = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Whether a record was read since the array opened or the last comma. */
  private afterRecord = false;
  private sawComma = false;

  /** Scans a piece of the text, pushing the text of each record it completes to `out`. */
  push(chunk: string, out: string[]): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.phase) {
        case "prefix": {
          const end = chunk.indexOf("[", i);
          this.prefix += end < 0 ? chunk.slice(i) : chunk.slice(i, end + 1);
          if (this.prefix.length > 256) throw new NotARecordsFile('no {"Records":[ at the start');
          if (end < 0) return;
          if (!PREFIX.test(this.prefix)) throw new NotARecordsFile('no {"Records":[ at the start');
          this.phase = "between";
          i = end + 1;
          break;
        }
        case "between": {
          const c = chunk.charCodeAt(i);
          if (WS.has(c)) i++;
          else if (c === 0x2c /* , */ && this.afterRecord && !this.sawComma) {
            this.sawComma = true;
            i++;
          } else if (c === 0x5d /* ] */ && !this.sawComma) {
            this.phase = "suffix";
            i++;
          } else if (c === 0x7b /* { */ && (this.sawComma || !this.afterRecord)) {
            this.phase = "record";
            this.depth = 0;
            i = this.scanRecord(chunk, i, out);
          } else throw new NotARecordsFile(`unexpected ${JSON.stringify(chunk[i])} between records`);
          break;
        }
        case "record":
          i = this.scanRecord(chunk, i, out);
          break;
        case "suffix": {
          const c = chunk.charCodeAt(i);
          if (WS.has(c)) i++;
          else if (c === 0x7d /* } */) {
            this.phase = "done";
            i++;
          } else throw new NotARecordsFile("unexpected text after the records");
          break;
        }
        case "done":
          if (!WS.has(chunk.charCodeAt(i))) throw new NotARecordsFile("unexpected text after the end");
          i++;
      }
    }
  }

  /** Scans record text from `start`; returns where it stopped (the chunk's end, or just past the record). */
  private scanRecord(chunk: string, start: number, out: string[]): number {
    const n = chunk.length;
    for (let i = start; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c /* \ */) this.escaped = true;
        else if (c === 0x22 /* " */) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--this.depth === 0) {
          this.parts.push(chunk.slice(start, i + 1));
          out.push(this.parts.length === 1 ? this.parts[0]! : this.parts.join(""));
          this.parts = [];
          this.partChars = 0;
          this.phase = "between";
          this.afterRecord = true;
          this.sawComma = false;
          return i + 1;
        }
      }
    }
    this.parts.push(chunk.slice(start));
    this.partChars += n - start;
    if (this.partChars > MAX_RECORD_CHARS) throw new NotARecordsFile(`a record longer than ${MAX_RECORD_CHARS} characters`);
    return n;
  }

  /** The text ended: it must have ended after the closing brace. */
  end(): void {
    if (this.phase !== "done") throw new NotARecordsFile("the file ends before its records do");
  }
}

/**
 * The text of each record of a gzipped log file, in order; `onBytes` hears of each compressed
 * chunk read (for progress). Throws NotARecordsFile, or the gunzip or read error, where the file
 * stops being one.
 */
export async function* recordsOfFile(path: string, onBytes?: (bytes: number) => void): AsyncGenerator<string> {
  const source = createReadStream(path);
  const gunzip = createGunzip();
  source.on("error", (e) => gunzip.destroy(e));
  source.on("data", (chunk) => onBytes?.(chunk.length));
  source.pipe(gunzip);
  const decoder = new StringDecoder("utf8");
  const scanner = new RecordsScanner();
  const out: string[] = [];
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      scanner.push(decoder.write(chunk), out);
      yield* out;
      out.length = 0;
    }
    scanner.push(decoder.end(), out);
    yield* out;
    scanner.end();
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}
