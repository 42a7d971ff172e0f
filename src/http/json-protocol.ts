/**
 * The AWS JSON 1.1 protocol adapter: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`, a JSON
 * body, and errors as `{"__type", "message"}` with their status.
 */
import { ERROR_CODES, ServiceError, type ErrorCode } from "../errors.js";
import type { ProtocolAdapter, Reply, Route, ServiceOperation } from "./dispatch.js";
import type { SignedRequest } from "./sigv4.js";
import { parseUnicodeJson } from "../validation/unicode-json.js";
import { toWire } from "./wire.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

export interface JsonService {
  /** The X-Amz-Target prefixes clients use (botocore and the Smithy-based SDKs may differ). */
  targetPrefixes: readonly string[];
  signingName: string;
  internalErrorCode: ErrorCode;
  operation(name: string): ServiceOperation | undefined;
  /** Operations of the AWS API that keyhold does not serve, and why: answered UnsupportedOperationException, not "not recognized". */
  unserved?: ReadonlyMap<string, string>;
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
    const unserved = service.unserved?.get(name);
    return {
      service: service.signingName,
      operationName: name,
      operation: service.operation(name),
      unserved: unserved === undefined ? undefined : new ServiceError("UnsupportedOperationException", unserved),
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

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  const parsed = parseUnicodeJson(body);
  if ("problem" in parsed) throw new ServiceError("SerializationException", `The request body ${parsed.problem}.`);
  const value = parsed.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ServiceError("SerializationException", "The request body must be a JSON object.");
  }
  return value;
}
