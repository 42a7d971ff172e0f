/**
 * The OCSP responder over HTTP (RFC 6960 Appendix A), on the main port beside the health probes:
 *
 * - `POST /_keyhold/ocsp/<ca-id>` with `Content-Type: application/ocsp-request` and the DER
 *   request as body;
 * - `GET /_keyhold/ocsp/<ca-id>/<request>`, the request's DER in base64 (or base64url), which may
 *   be percent-encoded: a base64 `/` left unencoded is part of it, not a path separator.
 *
 * Both answer `application/ocsp-response` with HTTP 200 whatever the OCSP status (a client reads
 * malformedRequest or unauthorized from the response; an HTTP error would hide it). OCSP clients
 * do not sign with SigV4 and OCSP is no AWS API call: like the probes, these requests come before
 * SigV4 and are not in the audit trail; each is counted in the metrics and has a request-log line
 * (service `ocsp`, operation the OCSP response status), from a fixed set of fields.
 *
 * The `/_keyhold/` prefix is no S3 bucket (bucket names cannot start with `_`); a request whose
 * Host names a bucket (virtual-host style) stays S3's.
 */
import { randomUUID } from "node:crypto";
import type { AnsweredCall, Reply } from "./dispatch.js";
import { virtualHostBucket } from "./rest-xml-protocol.js";
import type { SignedRequest } from "./sigv4.js";
import { answerOcspRequest, MAX_OCSP_REQUEST_BYTES, type CertificateStatusSource, type OcspAnswer } from "../acmpca/ocsp.js";

export const OCSP_PREFIX = "/_keyhold/ocsp/";
export const OCSP_REQUEST_TYPE = "application/ocsp-request";
export const OCSP_RESPONSE_TYPE = "application/ocsp-response";

/** A CA id is a UUID on AWS; anything else names no CA, and is not looked up. */
const CA_ID = /^[A-Za-z0-9-]{1,64}$/;
/** base64 or base64url, padded or not. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** The longest GET request part accepted: the largest request in base64, every character percent-encoded. */
const MAX_GET_CHARS = Math.ceil(MAX_OCSP_REQUEST_BYTES / 3) * 4 * 3;

/** Whether a request is for the OCSP responder (and not for an S3 object of a virtual-hosted bucket). */
export function isOcspRequest(req: Pick<SignedRequest, "rawPath" | "headers">): boolean {
  if (!req.rawPath.startsWith(OCSP_PREFIX)) return false;
  const host = req.headers.host;
  return virtualHostBucket(typeof host === "string" ? host : undefined) === undefined;
}

export interface OcspRouteOptions {
  source: CertificateStatusSource;
  /** The server's clock (ms since the epoch). */
  now: () => number;
  validitySeconds?: number;
  /** Why a request was answered tryLater. */
  logError?: (message: string) => void;
  /** Told of every answered request (request log, metrics); what it throws is ignored. */
  answered?: (call: AnsweredCall) => void;
}

/** The handler of OCSP requests; give it only requests isOcspRequest accepts. */
export function ocspHandler(options: OcspRouteOptions): (req: SignedRequest) => Promise<Reply> {
  return async (req) => {
    const started = performance.now();
    const time = options.now();
    const { reply, status } = await answer(req, options, time);
    reply.headers.date = new Date(time).toUTCString();
    try {
      options.answered?.({
        request: req,
        completed: {
          requestId: randomUUID(),
          time,
          readOnly: true,
          service: "ocsp",
          operation: status,
          sourceIp: req.sourceIp,
          trail: { resources: [] },
        },
        served: status !== undefined,
        reply,
        seconds: (performance.now() - started) / 1000,
      });
    } catch {
      // The request is answered: a log or metrics failure does not change that.
    }
    return reply;
  };
}

async function answer(req: SignedRequest, options: OcspRouteOptions, time: number): Promise<{ reply: Reply; status?: string }> {
  const rest = req.rawPath.slice(OCSP_PREFIX.length);
  const slash = rest.indexOf("/");
  const caId = slash < 0 ? rest : rest.slice(0, slash);
  const tail = slash < 0 ? "" : rest.slice(slash + 1);
  let der: Buffer | undefined;
  if (req.method === "POST") {
    // The request is the body; only a trailing slash may follow the CA id.
    if (tail !== "") return { reply: plain(404, "Not Found") };
    const type = req.headers["content-type"];
    if (typeof type !== "string" || type.split(";")[0]!.trim().toLowerCase() !== OCSP_REQUEST_TYPE)
      return { reply: plain(415, `Unsupported Media Type: send ${OCSP_REQUEST_TYPE}`) };
    der = req.body;
  } else if (req.method === "GET") {
    der = decodeGetRequest(tail);
  } else {
    return { reply: { ...plain(405, "Method Not Allowed"), headers: { "content-type": "text/plain", allow: "GET, POST" } } };
  }
  // A CA id of another form names no CA: it is not looked up, and answered as one that does not exist.
  const result: OcspAnswer = await answerOcspRequest(
    der ?? Buffer.alloc(0),
    CA_ID.test(caId) ? options.source : NO_CA,
    caId,
    new Date(time),
    {
      validitySeconds: options.validitySeconds,
      onError: (error) => options.logError?.(`OCSP request for CA ${caId} answered tryLater: ${(error as Error)?.stack ?? String(error)}`),
    },
  );
  return { reply: ocspReply(result, time), status: result.status };
}

const NO_CA: CertificateStatusSource = {
  authority: async () => undefined,
  status: async () => ({ status: "unknown" }),
  responder: async () => {
    throw new Error("no CA");
  },
};

/** The request part of a GET URL, percent-decoded and base64-decoded; undefined when it is no such thing. */
function decodeGetRequest(encoded: string): Buffer | undefined {
  if (encoded.length === 0 || encoded.length > MAX_GET_CHARS) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  if (!BASE64.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

function ocspReply(result: OcspAnswer, time: number): Reply {
  const headers: Record<string, string> = { "content-type": OCSP_RESPONSE_TYPE };
  if (result.status === "successful" && !result.nonce && result.nextUpdate) {
    // RFC 5019 §5: a response without a nonce may be cached until its nextUpdate.
    const maxAge = Math.max(0, Math.floor((result.nextUpdate.getTime() - time) / 1000));
    headers["cache-control"] = `max-age=${maxAge}, public, no-transform, must-revalidate`;
    headers["last-modified"] = new Date(Math.floor(time / 1000) * 1000).toUTCString();
    headers.expires = result.nextUpdate.toUTCString();
  } else {
    headers["cache-control"] = "no-store";
  }
  return { status: 200, headers, body: result.der };
}

function plain(status: number, text: string): Reply {
  return { status, headers: { "content-type": "text/plain" }, body: Buffer.from(text) };
}
