/**
 * The HTTP listener: reads a bounded body, hands the request to the protocol adapter and writes
 * its reply. Oversized bodies are refused without reading them whole.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { randomUUID } from "node:crypto";
import { isIPv4, isIPv6, type Socket } from "node:net";
import type { AnsweredCall, Reply } from "./dispatch.js";
import { errorReply } from "./json-protocol.js";
import type { SignedRequest } from "./sigv4.js";

export const MAX_BODY_BYTES = 1024 * 1024;
/** Replies up to this size are written together with their header (see send). */
const SMALL_BODY_BYTES = 16 * 1024;

export type RequestHandler = (req: SignedRequest) => Promise<Reply>;

function send(res: ServerResponse, reply: Reply): void {
  reply.headers["content-length"] = String(reply.contentLength ?? reply.body.length);
  reply.headers.date ??= new Date().toUTCString();
  res.writeHead(reply.status, reply.headers);
  if (!reply.stream) {
    // A small body goes as a latin1 string, which maps each byte to itself: Node then writes it
    // in one piece with the header, where a Buffer goes out as a second chunk of a writev.
    if (reply.body.length <= SMALL_BODY_BYTES) res.end(reply.body.toString("latin1"), "latin1");
    else res.end(reply.body);
    return;
  }
  // A streamed body (an S3 object) that fails part-way ends the connection: the client sees a
  // short response, never bytes that were not authenticated.
  reply.stream.on("error", () => res.destroy());
  reply.stream.pipe(res);
}

/**
 * Told of a reply the server makes itself, without the handler: a body over the bound (413), or a
 * handler that failed (500, with its error). The request log and the metrics count these too.
 */
export type ServerAnswered = (call: AnsweredCall, error?: unknown) => void;

/** The record of a reply the server made itself: no service or operation was ever read from the request. */
function serverCall(
  req: IncomingMessage,
  request: SignedRequest,
  reply: Reply,
  requestId: string,
  code: AnsweredCall["errorCode"],
  started: number,
): AnsweredCall {
  return {
    request,
    completed: { requestId, time: Date.now(), readOnly: false, sourceIp: req.socket.remoteAddress, trail: { resources: [] } },
    served: false,
    reply,
    errorCode: code,
    seconds: (performance.now() - started) / 1000,
  };
}

function tooLarge(req: IncomingMessage, res: ServerResponse, secure: boolean, started: number, answered?: ServerAnswered): void {
  const requestId = randomUUID();
  const reply = errorReply(requestId, "RequestEntityTooLargeException", 413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  closeAfter(req, reply);
  answered?.(serverCall(req, requestOf(req, Buffer.alloc(0), secure), reply, requestId, "RequestEntityTooLargeException", started));
  send(res, reply);
}

/**
 * After a refusal, what a client may still send is read and thrown away while it keeps coming
 * (a pause this long ends it), for at most this long in all and this much.
 */
const LINGER_IDLE_MS = 1000;
const LINGER_MS = 5000;
const LINGER_BYTES = 8 * 1024 * 1024;

/**
 * A reply sent before the request's body was read (a refusal decided from the headers) closes the
 * connection: nobody will read the rest of the body, and a client left writing into the socket
 * would wait forever. The reply says `Connection: close`; once it is flushed the server half-closes
 * and throws away what still arrives for a short, bounded while ("lingering close", as nginx and
 * Apache do) before destroying the socket. Destroying it at once would answer the client's next
 * bytes with a reset, which can make it lose the reply it has not read yet; reading on without a
 * bound would let a refused 300 MiB upload keep the socket busy for all of its 300 MiB.
 */
function closeAfter(req: IncomingMessage, reply: Reply): void {
  reply.headers.connection = "close";
  const socket = req.socket;
  // Node calls destroySoon once a `Connection: close` reply is flushed; the socket is kept a
  // little longer, reading, instead of being destroyed under the client's feet.
  socket.destroySoon = () => {
    socket.end();
    const destroy = () => socket.destroy();
    const limit = socket.bytesRead + LINGER_BYTES;
    const total = setTimeout(destroy, LINGER_MS);
    let idle = setTimeout(destroy, LINGER_IDLE_MS);
    socket.on("data", () => {
      if (socket.bytesRead > limit) {
        destroy();
        return;
      }
      clearTimeout(idle);
      idle = setTimeout(destroy, LINGER_IDLE_MS);
    });
    socket.once("close", () => {
      clearTimeout(total);
      clearTimeout(idle);
    });
    // The whole body arrived after all, or the client closed its side: nothing is left to read.
    req.once("end", destroy);
    socket.once("end", destroy);
    req.unpipe();
    req.resume();
  };
}

/** The request as the handler sees it: its path and query as sent, and its body (or the unread stream). */
function requestOf(req: IncomingMessage, body: Buffer, secure: boolean, stream?: IncomingMessage): SignedRequest {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return {
    method: req.method ?? "GET",
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? "" : url.slice(q + 1),
    headers: req.headers,
    body,
    stream,
    sourceIp: req.socket.remoteAddress,
    secure,
  };
}

/** Whether a request's body goes to the handler unread, as a stream (S3 object uploads), instead of buffered. */
export type StreamPredicate = (req: IncomingMessage) => boolean;

/** A certificate chain and private key (PEM) to serve HTTPS with. */
export interface TlsIdentity {
  cert: string;
  key: string;
}

/** Limits on what a connection may hold: see the settings of the same names in src/config.ts. */
export interface ConnectionLimits {
  /** A request's headers must have arrived within this many milliseconds of its first byte. */
  headersTimeoutMs: number;
  /** A connection that sends and receives nothing for this long is closed; also the window of minReceiveRate. */
  idleTimeoutMs: number;
  /** While a request body arrives, at least this many bytes per second over each idle window, or the connection is closed. */
  minReceiveRate: number;
  /** Open connections from one source address; more are closed as they arrive. */
  maxConnectionsPerSource: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 60_000,
  minReceiveRate: 1024,
  maxConnectionsPerSource: 256,
};

/**
 * A slow body (a byte a second) keeps the idle timeout from ever firing, and a total time limit
 * would cut large legitimate uploads: a body is instead cut when fewer than minReceiveRate bytes
 * a second arrived over a whole idle window while keyhold was reading it (bytes waiting in the
 * request's buffer mean keyhold is the slow side, not the client). One timer per server looks at
 * every body being received, so a request pays only for a map entry.
 */
class BodyWatch {
  private readonly receiving = new Map<IncomingMessage, { bytes: number; since: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly limits: ConnectionLimits) {
    this.timer = setInterval(() => this.check(), limits.idleTimeoutMs);
    this.timer.unref();
  }

  add(req: IncomingMessage): void {
    this.receiving.set(req, { bytes: req.socket.bytesRead, since: Date.now() });
  }

  delete(req: IncomingMessage): void {
    this.receiving.delete(req);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    for (const [req, seen] of this.receiving) {
      if (req.complete || req.destroyed) {
        this.receiving.delete(req);
        continue;
      }
      const elapsed = now - seen.since;
      // Judged over a whole window only (a body that began just now is looked at next time).
      if (elapsed < this.limits.idleTimeoutMs) continue;
      const received = req.socket.bytesRead - seen.bytes;
      if (received < (this.limits.minReceiveRate * elapsed) / 1000 && req.readableLength === 0) {
        this.receiving.delete(req);
        req.socket.destroy();
        continue;
      }
      seen.bytes = req.socket.bytesRead;
      seen.since = now;
    }
  }
}

/**
 * An uploaded body is read when the handler first reads it: then (and only then) a client that
 * sent `Expect: 100-continue` is told to continue. A refusal decided from the headers is thus a
 * final status instead of a 100 Continue.
 */
function onFirstRead(req: IncomingMessage, start: () => void): void {
  const read = req._read.bind(req);
  let started = false;
  req._read = (size: number) => {
    if (!started) {
      started = true;
      start();
    }
    read(size);
  };
}

export function createHttpServer(
  handler: RequestHandler,
  streams: StreamPredicate = () => false,
  tls?: TlsIdentity,
  limits: ConnectionLimits = DEFAULT_LIMITS,
  answered?: ServerAnswered,
): Server {
  const secure = tls !== undefined;
  /** Hands a request to the handler and sends its reply (a bare 500 if the handler itself failed). */
  const run = (req: IncomingMessage, res: ServerResponse, request: SignedRequest, started: number): void => {
    const reply = (r: Reply) => {
      if (!req.complete) closeAfter(req, r);
      // Draining: the connection ends with this reply, which says so, so the client opens its
      // next one elsewhere instead of sending a request into a socket about to close.
      else if (draining.has(server)) r.headers.connection = "close";
      send(res, r);
    };
    handler(request).then(reply, (error: unknown) => {
      const requestId = randomUUID();
      const r = errorReply(requestId, "InternalFailure", 500, "An internal error occurred.");
      try {
        answered?.(serverCall(req, request, r, requestId, "InternalFailure", started), error);
      } finally {
        reply(r);
      }
    });
  };
  const watch = new BodyWatch(limits);
  /** `expectsContinue`: the client sent `Expect: 100-continue` and waits for it before its body. */
  const listener = (req: IncomingMessage, res: ServerResponse, expectsContinue = false) => {
    // Replies carry their own Date header, from the server's (injectable) clock; see send().
    res.sendDate = false;
    const started = performance.now();
    req.on("error", () => {
      watch.delete(req);
      res.destroy();
    });
    if (streams(req)) {
      onFirstRead(req, () => {
        // Read after the reply (the rest of a refused body, thrown away): nothing to continue or watch.
        if (res.headersSent) return;
        if (expectsContinue) res.writeContinue();
        if (!req.complete) watch.add(req);
      });
      run(req, res, requestOf(req, Buffer.alloc(0), secure, req), started);
      return;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      tooLarge(req, res, secure, started, answered);
      return;
    }
    // A buffered body is always read whole (at most 1 MiB), from now on.
    if (expectsContinue) res.writeContinue();
    if (declared > 0 || req.headers["transfer-encoding"] !== undefined) watch.add(req);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        watch.delete(req);
        tooLarge(req, res, secure, started, answered);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      watch.delete(req);
      if (refused) return;
      run(req, res, requestOf(req, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), secure), started);
    });
  };
  // Sockets buffer up to 1 MiB before a writer waits: a streamed object goes out in large writes.
  const highWaterMark = 1024 * 1024;
  // Node checks the headers timeout every connectionsCheckingInterval: often enough to keep to it.
  const connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
  const server: Server = tls
    ? createTlsServer({ cert: tls.cert, key: tls.key, highWaterMark, connectionsCheckingInterval }, listener)
    : createServer({ highWaterMark, connectionsCheckingInterval }, listener);
  // Node answers `Expect: 100-continue` at once unless told otherwise: the listener answers it
  // when the body is first read.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => listener(req, res, true));
  limitPerSource(server, limits.maxConnectionsPerSource);
  server.on("close", () => watch.stop());
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = limits.headersTimeoutMs;
  // An object upload may take longer than any fixed time for a whole request: a socket that stays
  // silent for the idle timeout is closed instead, and a body that trickles is cut by BodyWatch.
  server.requestTimeout = 0;
  server.setTimeout(limits.idleTimeoutMs);

  return server;
}

/** Servers that are shutting down (drainServer). */
const draining = new WeakSet<Server>();

/**
 * A graceful stop: the listening socket closes (new connections are refused), idle keep-alive
 * connections are closed, and each request in flight gets its whole reply, sent with
 * `Connection: close` so that its connection ends after it. Once `timeoutMs` have passed, the
 * connections still open are cut. Resolves when the last connection is gone.
 *
 * A client whose idle connection is closed at the moment it sends a request on it sees a reset:
 * that request was never read, so nothing was done (the AWS SDKs retry it). A request keyhold has
 * read is answered, unless the timeout cuts it.
 */
export function drainServer(server: Server, timeoutMs: number): Promise<void> {
  draining.add(server);
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * What one client is, for the connection cap: an IPv4 address (IPv4-mapped ones included), or an
 * IPv6 address's /64 — a single host is routinely given a whole /64, so counting each IPv6 address
 * alone would let it open 2^64 times the cap.
 */
export function connectionSource(address: string): string {
  const bare = address.split("%")[0]!.toLowerCase();
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return bare;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1]!;
  const [head, tail] = bare.includes("::") ? bare.split("::") : [bare, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::a.b.c.d) counts as two groups; it never reaches the first four.
  const rightGroups = right.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - rightGroups)).fill("0"), ...right];
  return (
    groups
      .slice(0, 4)
      .map((g) => g.replace(/^0+(?=.)/, ""))
      .join(":") + "::/64"
  );
}

/** At most `max` open connections from one client: a client holding sockets open cannot take them all. */
function limitPerSource(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const source = connectionSource(socket.remoteAddress ?? "");
    const count = (open.get(source) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(source, count);
    socket.once("close", () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left === 0) open.delete(source);
      else open.set(source, left);
    });
  });
}
