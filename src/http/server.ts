/**
 * The HTTP listener: reads a bounded body, hands the request to the protocol adapter and writes
 * its reply. Oversized bodies are refused without reading them whole.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { randomUUID } from "node:crypto";
import type { Reply } from "./dispatch.js";
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

function tooLarge(res: ServerResponse): void {
  const reply = errorReply(randomUUID(), "RequestEntityTooLargeException", 413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  reply.headers.connection = "close";
  send(res, reply);
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

export function createHttpServer(handler: RequestHandler, streams: StreamPredicate = () => false, tls?: TlsIdentity): Server {
  const secure = tls !== undefined;
  /** Hands a request to the handler and sends its reply (a bare 500 if the handler itself failed). */
  const run = (res: ServerResponse, request: SignedRequest, afterSend?: () => void): void => {
    handler(request).then(
      (reply) => {
        send(res, reply);
        afterSend?.();
      },
      () => send(res, errorReply(randomUUID(), "InternalFailure", 500, "An internal error occurred.")),
    );
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    // Replies carry their own Date header, from the server's (injectable) clock; see send().
    res.sendDate = false;
    if (streams(req)) {
      run(res, requestOf(req, Buffer.alloc(0), secure, req), () => {
        // Whatever the operation did not read (a refused upload) is drained, so the connection stays usable.
        if (!req.readableEnded) req.resume();
      });
      req.on("error", () => res.destroy());
      return;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      tooLarge(res);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        tooLarge(res);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      run(res, requestOf(req, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), secure));
    });
    req.on("error", () => res.destroy());
  };
  // Sockets buffer up to 1 MiB before a writer waits: a streamed object goes out in large writes.
  const highWaterMark = 1024 * 1024;
  const server: Server = tls
    ? createTlsServer({ cert: tls.cert, key: tls.key, highWaterMark }, listener)
    : createServer({ highWaterMark }, listener);
  server.keepAliveTimeout = 65_000;
  // An object upload may take longer than Node's default 5 minutes for a whole request; a socket
  // that stays silent for 2 minutes is closed instead.
  server.requestTimeout = 0;
  server.setTimeout(120_000);

  return server;
}
