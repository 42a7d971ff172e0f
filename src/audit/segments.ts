/**
 * A chain's records on disk: append-only segment files under audit/chain-<c>/, each named by the
 * sequence number of its first record (20 digits), one record per line — the record's JSON text
 * exactly as the hash chain covers it, then "\n". A record's text holds no raw newline (JSON
 * escapes it), so a line is a record; bytes after a segment's last newline are a record still
 * being written (or torn by a crash) and are never read as one.
 *
 * Readers scan newest first (lookups, last uses, a digest's head) or in order (export); the
 * writer (log-writer.ts) is the only one that appends, and only to the newest segment.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { auditDir } from "./chains.js";

export function segmentDir(dataDir: string, chain: string): string {
  return join(auditDir(dataDir), `chain-${chain}`);
}

export function segmentName(first: number): string {
  return `${String(first).padStart(20, "0")}.log`;
}

export interface Segment {
  first: number;
  path: string;
}

export function listSegments(dir: string): Segment[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .map((n) => /^(\d{20})\.log$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ first: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.first - b.first);
}

const SEQUENCE = '"keyholdSequence":';
const EVENT_TIME = '"eventTime":"';

/** The sequence number a record's text carries, read from its chain fields (which close it) without parsing it. */
export function sequenceOf(line: string): number {
  const at = line.lastIndexOf(SEQUENCE) + SEQUENCE.length;
  return Number(line.slice(at, line.indexOf(",", at)));
}

/**
 * A record's eventTime in ms, without parsing it: the first `"eventTime":"` of the text is the
 * record's own (it precedes requestParameters, and userIdentity has no such member), and a quote
 * inside a string value is escaped, so the pattern cannot start inside one.
 */
export function eventTimeOf(line: string): number {
  const at = line.indexOf(EVENT_TIME) + EVENT_TIME.length;
  return Date.parse(line.slice(at, line.indexOf('"', at)));
}

const CHUNK = 1 << 20;
const FIRST_CHUNK = 1 << 16;

/** Opens a segment for reading; undefined when retention removed it since it was listed. */
function openSegment(path: string): number | undefined {
  try {
    return openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function readAt(fd: number, buffer: Buffer, position: number): void {
  for (let done = 0; done < buffer.length;) {
    const n = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (n === 0) throw new Error("an audit segment shrank while it was read");
    done += n;
  }
}

export interface Line {
  text: string;
  segment: Segment;
  /** Byte offset just past the line's newline in its segment. */
  end: number;
}

/**
 * The complete lines of a chain, newest first. `below`: start with the segment that may hold
 * sequence numbers below it (paging skips the newer segments unread).
 */
export function* linesNewestFirst(dir: string, below?: number): Generator<Line> {
  const segments = listSegments(dir);
  for (let i = segments.length - 1; i >= 0; i--) {
    if (below !== undefined && segments[i]!.first >= below) continue;
    yield* segmentBackward(segments[i]!);
  }
}

function* segmentBackward(segment: Segment): Generator<Line> {
  const fd = openSegment(segment.path);
  if (fd === undefined) return;
  try {
    let position = fstatSync(fd).size;
    // `pending` holds bytes from `position` on that belong to lines not yet yielded (or, before
    // the first newline is found, to the record still being written, which is dropped).
    let pending = Buffer.alloc(0);
    let complete = false;
    // Most readers want a few of the newest lines (a lookup, the records after the index's end,
    // the head): the first read is small and each next one twice the last, up to CHUNK.
    let chunk = FIRST_CHUNK;
    while (position > 0) {
      const start = Math.max(0, position - chunk);
      chunk = Math.min(chunk * 2, CHUNK);
      const read = Buffer.allocUnsafe(position - start);
      readAt(fd, read, start);
      let data = pending.length > 0 ? Buffer.concat([read, pending]) : read;
      position = start;
      if (!complete) {
        const last = data.lastIndexOf(10);
        if (last < 0) {
          pending = data;
          continue;
        }
        data = data.subarray(0, last + 1);
        complete = true;
      }
      // data ends with a newline at `lineEnd`; each line runs from the newline before it.
      let lineEnd = data.length - 1;
      while (lineEnd > 0) {
        const before = data.lastIndexOf(10, lineEnd - 1);
        if (before < 0) break;
        yield { text: data.toString("utf8", before + 1, lineEnd), segment, end: start + lineEnd + 1 };
        lineEnd = before;
      }
      if (start === 0 && lineEnd > 0) yield { text: data.toString("utf8", 0, lineEnd), segment, end: lineEnd + 1 };
      pending = data.subarray(0, lineEnd + 1);
    }
  } finally {
    closeSync(fd);
  }
}

/** The complete lines of a chain in order, from the segment holding `from` (a sequence number) on. */
export function* linesInOrder(dir: string, from = 1): Generator<Line> {
  const segments = listSegments(dir);
  for (let i = 0; i < segments.length; i++) {
    if (i + 1 < segments.length && segments[i + 1]!.first <= from) continue;
    yield* segmentForward(segments[i]!, 0);
  }
}

/**
 * The lines of one segment from byte `offset` on. One read buffer for the whole segment (grown
 * only for a line longer than it): each line is decoded into a string of its own, so the buffer
 * is free again once a chunk's lines are handed out, and reading a trail of any size allocates
 * no buffer per megabyte (1 MB a read, concatenated with the partial line before it, was tens of
 * megabytes of buffers waiting for the collector in `audit export`).
 */
export function* segmentForward(segment: Segment, offset: number): Generator<Line> {
  const fd = openSegment(segment.path);
  if (fd === undefined) return;
  try {
    const size = fstatSync(fd).size;
    let buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size - offset, 1)));
    /** Bytes at the start of `buffer`: the partial line carried over from the previous read. */
    let pending = 0;
    let position = offset;
    while (position < size) {
      if (pending === buffer.length) {
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, pending);
        buffer = larger;
      }
      const want = Math.min(buffer.length - pending, size - position);
      readAt(fd, buffer.subarray(pending, pending + want), position);
      const dataStart = position - pending;
      position += want;
      const dataEnd = pending + want;
      let lineStart = 0;
      for (let nl = buffer.indexOf(10, 0); nl >= 0 && nl < dataEnd; nl = buffer.indexOf(10, lineStart)) {
        yield { text: buffer.toString("utf8", lineStart, nl), segment, end: dataStart + nl + 1 };
        lineStart = nl + 1;
        if (lineStart >= dataEnd) break;
      }
      pending = dataEnd - lineStart;
      if (pending > 0 && lineStart > 0) buffer.copyWithin(0, lineStart, dataEnd);
    }
  } finally {
    closeSync(fd);
  }
}

/** The first of some items (closing a generator after it). */
export function firstOf<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}

/** The newest complete line of a chain. */
export function newestLine(dir: string): Line | undefined {
  return firstOf(linesNewestFirst(dir));
}

/** Makes a file's creation or renaming in `dir` durable: fsyncs the directory itself. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads byte ranges of a chain's segments for one lookup: each segment is opened once (a lookup
 * reads many blocks of few segments; an open and a close per block were a seventh of a rare
 * lookup's time), and the bytes land in one buffer, reused: a range's bytes are valid until the
 * next read. `close` when done.
 */
export class SegmentReader {
  private readonly fds = new Map<number, number | undefined>();
  private buffer = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly dir: string) {}

  /** The bytes from `start` to `end` of segment `first`; undefined when retention removed it. */
  read(first: number, start: number, end: number): Buffer | undefined {
    let fd = this.fds.get(first);
    if (!this.fds.has(first)) {
      fd = openSegment(join(this.dir, segmentName(first)));
      this.fds.set(first, fd);
    }
    if (fd === undefined) return undefined;
    if (this.buffer.length < end - start) this.buffer = Buffer.allocUnsafe(end - start);
    const data = this.buffer.subarray(0, end - start);
    readAt(fd, data, start);
    return data;
  }

  close(): void {
    for (const fd of this.fds.values()) if (fd !== undefined) closeSync(fd);
    this.fds.clear();
  }
}

/**
 * The lines of whole records (`data` ends with a newline) that hold `needle`, last first: only
 * those lines are decoded. A record's text holds no raw newline, so the needle's line is the one
 * around it.
 */
export function* linesHolding(data: Buffer, needle: Buffer): Generator<string> {
  // Found forwards (Buffer.indexOf searches a long needle with Boyer-Moore-Horspool; lastIndexOf
  // compares byte by byte, 1.6 times slower over a block), handed out last first.
  const lines: number[] = [];
  for (let at = data.indexOf(needle); at >= 0;) {
    const lineEnd = data.indexOf(10, at);
    if (lineEnd < 0) break;
    lines.push(data.lastIndexOf(10, at) + 1, lineEnd);
    at = data.indexOf(needle, lineEnd + 1);
  }
  for (let i = lines.length - 2; i >= 0; i -= 2) yield data.toString("utf8", lines[i]!, lines[i + 1]!);
}
