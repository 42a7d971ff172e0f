/**
 * The server's log, on stderr: events (info, error) and one line per answered request, as JSON
 * objects (one a line, for log collectors) or as text for a terminal. Never given key material,
 * plaintext or secrets: a request line is built from a fixed set of fields (src/http/request-log.ts),
 * never from a request's headers or body.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "json" | "text";

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** What is logged of one answered request: names, numbers and identifiers, nothing the caller sent as data. */
export interface RequestLogEntry {
  /** When the request arrived (ms since the epoch). */
  time: number;
  /** The x-amzn-RequestId / x-amz-request-id the client was given. */
  requestId: string;
  /** The SigV4 signing name ("kms") and the operation, when the request named one keyhold serves. */
  service?: string;
  operation?: string;
  status: number;
  /** The AWS error code of a refused call (src/errors.ts). */
  errorCode?: string;
  latencyMs: number;
  /** Who signed the request, when the signature checked out. */
  callerArn?: string;
  accessKeyId?: string;
  /** The access key a request whose signature did not check out claimed to be signed with. */
  claimedAccessKeyId?: string;
  sourceIp?: string;
  bytesIn: number;
  bytesOut: number;
}

export interface Logger {
  info(message: string): void;
  error(message: string): void;
  /** One answered request; loggers that do not keep request lines leave it out. */
  request?(entry: RequestLogEntry): void;
  /** Writes what is gathered now. */
  flush?(): void;
}

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  /** Where the text goes (default: stderr). */
  write?: (text: string) => void;
}

/** Request lines gathered are written once this many bytes wait, or this long after the first of them. */
const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 25;

/**
 * Request lines are gathered and written together, at most FLUSH_MS after they were answered: a
 * write per request costs a system call each (on a busy server a turn of the event loop answers
 * only a few requests, so a write per turn costs nearly as much). A process killed with -9 loses
 * the lines of its last FLUSH_MS; the audit trail, not this log, is the durable record of every
 * call. Event lines (a failure) are written at once, with what was gathered before them.
 */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const min = SEVERITY[options.level];
  const json = options.format === "json";
  let pending = "";
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    const text = pending;
    pending = "";
    write(text);
  };
  const later = (line: string) => {
    pending += line;
    if (pending.length >= FLUSH_BYTES) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, FLUSH_MS);
      timer.unref();
    }
  };
  const event = (level: "info" | "error", message: string, now: boolean) => {
    if (SEVERITY[level] < min) return;
    const time = new Date().toISOString();
    const line = json ? `{"time":"${time}","level":"${level}","msg":${JSON.stringify(message)}}\n` : `${time} ${level} ${message}\n`;
    if (!now) {
      later(line);
      return;
    }
    pending += line;
    flush();
  };
  const logger: Logger = {
    info: (m) => event("info", m, false),
    error: (m) => event("error", m, true),
    flush,
  };
  if (SEVERITY.info >= min) logger.request = (entry) => later(json ? requestJson(entry) : requestText(entry));
  // Lines gathered in the last turn still go out when the process exits.
  if (options.write === undefined) process.once("exit", flush);
  return logger;
}

/** The logger of a process started by `keyhold server`, as its settings say. */
export function configuredLogger(settings: { logFormat?: LogFormat; logLevel?: LogLevel } = {}): Logger {
  return createLogger({ format: settings.logFormat ?? (process.stderr.isTTY ? "text" : "json"), level: settings.logLevel ?? "info" });
}

export function consoleLogger(quiet = false): Logger {
  return {
    info: (m) => {
      if (!quiet) process.stderr.write(`${new Date().toISOString()} info ${m}\n`);
    },
    error: (m) => process.stderr.write(`${new Date().toISOString()} error ${m}\n`),
  };
}

/**
 * A JSON line built field by field in a fixed order: faster than JSON.stringify of an object (no
 * property walk), and strings that came from the request (the claimed access key id, an address)
 * still go through JSON.stringify, so no value can break out of its field or the line.
 */
function requestJson(e: RequestLogEntry): string {
  let line = `{"time":"${isoTime(e.time)}","level":"info","msg":"request","requestId":${JSON.stringify(e.requestId)}`;
  if (e.service !== undefined) line += `,"service":${quoted(e.service)}`;
  if (e.operation !== undefined) line += `,"operation":${quoted(e.operation)}`;
  line += `,"status":${e.status}`;
  if (e.errorCode !== undefined) line += `,"errorCode":${quoted(e.errorCode)}`;
  line += `,"latencyMs":${e.latencyMs}`;
  if (e.callerArn !== undefined) line += `,"callerArn":${quoted(e.callerArn)}`;
  if (e.accessKeyId !== undefined) line += `,"accessKeyId":${quoted(e.accessKeyId)}`;
  if (e.claimedAccessKeyId !== undefined) line += `,"claimedAccessKeyId":${JSON.stringify(e.claimedAccessKeyId)}`;
  if (e.sourceIp !== undefined) line += `,"sourceIp":${quoted(e.sourceIp)}`;
  return `${line},"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut}}\n`;
}

/**
 * The JSON text of the strings that recur from one request line to the next (service, operation,
 * error code, caller, access key, address): a server's callers are few, so each is quoted once and
 * looked up after. At most QUOTED_MAX are kept; a full table is emptied, so a stream of distinct
 * values (addresses of many clients) costs what quoting each one would, and no more memory.
 */
const QUOTED_MAX = 1024;
const quotedText = new Map<string, string>();

function quoted(value: string): string {
  let text = quotedText.get(value);
  if (text === undefined) {
    if (quotedText.size >= QUOTED_MAX) quotedText.clear();
    text = JSON.stringify(value);
    if (value.length <= 256) quotedText.set(value, text);
  }
  return text;
}

/** `new Date(ms).toISOString()`, its text up to the second made once a second. */
let isoSecond = NaN;
let isoPrefix = "";

function isoTime(time: number): string {
  const ms = Math.trunc(time);
  if (!(ms >= 0)) return new Date(time).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString();
    // A date beyond year 9999 (or before 0) has a longer year; not a time a server logs.
    if (iso.length !== 24) return new Date(ms).toISOString();
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
}

/** For a terminal: the same fields, the identifiers JSON-quoted so a control character in one cannot fake a line. */
function requestText(e: RequestLogEntry): string {
  const q = (v: string | undefined) => (v === undefined ? "-" : /^[\w.:/@+=,-]*$/.test(v) ? v : JSON.stringify(v));
  return (
    `${isoTime(e.time)} info ${q(e.service)} ${q(e.operation)} ${e.status}${e.errorCode ? ` ${q(e.errorCode)}` : ""}` +
    ` ${e.latencyMs}ms req=${q(e.requestId)} caller=${q(e.callerArn)} key=${q(e.accessKeyId ?? e.claimedAccessKeyId)}` +
    ` ip=${q(e.sourceIp)} in=${e.bytesIn} out=${e.bytesOut}\n`
  );
}
