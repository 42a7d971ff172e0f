/**
 * The AWS JSON 1.1 protocol adapter: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`, a JSON
 * body, and errors as `{"__type", "message"}` with their status.
 */
import { isUtf8 } from "node:buffer";
import { ERROR_CODES, ServiceError, type ErrorCode } from "../errors.js";
import type { ProtocolAdapter, Reply, Route, ServiceOperation } from "./dispatch.js";
import type { SignedRequest } from "./sigv4.js";
import { toWire } from "./wire.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

export interface JsonService {
  /** The X-Amz-Target prefixes clients use (botocore and the Smithy-based SDKs may differ). */
  targetPrefixes: readonly string[];
  signingName: string;
  internalErrorCode: ErrorCode;
  operation(name: string): ServiceOperation | undefined;
}

export function jsonReply(requestId: string, status: number, payload: unknown): Reply {
  return {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, "x-amzn-requestid": requestId },
    body: Buffer.from(JSON.stringify(payload ?? {}), "utf8"),
  };
}

export function errorReply(requestId: string, code: ErrorCode, status: number, message: string): Reply {
  const reply = jsonReply(requestId, status, { __type: code, message });
  reply.headers["x-amzn-errortype"] = code;
  return reply;
}

export class JsonProtocol implements ProtocolAdapter {
  private readonly byPrefix: Map<string, JsonService>;

  constructor(services: readonly JsonService[]) {
    this.byPrefix = new Map(services.flatMap((s) => s.targetPrefixes.map((p) => [p, s] as const)));
  }

  route(req: SignedRequest): Route {
    const target = req.headers["x-amz-target"];
    const dot = typeof target === "string" ? target.lastIndexOf(".") : -1;
    const service = dot > 0 ? this.byPrefix.get((target as string).slice(0, dot)) : undefined;
    if (!service || req.method !== "POST") {
      throw new ServiceError("UnknownOperationException", `Operation ${String(target ?? "(no X-Amz-Target)")} is not recognized.`);
    }
    const name = (target as string).slice(dot + 1);
    return {
      service: service.signingName,
      operationName: name,
      operation: service.operation(name),
      input: () => parseJsonBody(req.body),
      internalErrorCode: service.internalErrorCode,
    };
  }

  success(requestId: string, output: unknown): Reply {
    return jsonReply(requestId, 200, toWire(output));
  }

  failure(requestId: string, code: ErrorCode, message: string): Reply {
    return errorReply(requestId, code, ERROR_CODES[code].status, message);
  }
}

/** An escaped half of a surrogate pair (\uD800–\uDFFF) somewhere in the JSON text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** A surrogate without its other half. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return !UNPAIRED_SURROGATE.test(value);
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) return value.every(wellFormed);
  return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
}

/**
 * JSON text is Unicode. Bytes that are not UTF-8 would be read as U+FFFD, and an escaped unpaired
 * surrogate has no UTF-8 form at all (it too becomes U+FFFD when encoded): either way two different
 * requests could bind the same encryption context bytes, so both are refused rather than repaired.
 */
function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  if (!isUtf8(body)) throw new ServiceError("SerializationException", "The request body is not valid UTF-8.");
  const text = body.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ServiceError("SerializationException", "The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ServiceError("SerializationException", "The request body must be a JSON object.");
  }
  if (SURROGATE_ESCAPE.test(text) && !wellFormed(parsed)) {
    throw new ServiceError("SerializationException", "The request body holds a string with an unpaired UTF-16 surrogate.");
  }
  return parsed;
}
