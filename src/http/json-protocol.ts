/**
 * The AWS JSON 1.1 protocol adapter: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`.
 * Flow: find the service by target prefix → verify SigV4 for its signing name → find the
 * operation → parse JSON → hand the raw input to the operation (which validates it) → render
 * the output, or the error as `{"__type", "message"}` with its status.
 * This module knows nothing of any particular service.
 */
import { randomUUID } from "node:crypto";
import type { CallContext } from "../call.js";
import { ServiceError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import { verifySigV4, type IdentityLookup, type SignedRequest } from "./sigv4.js";
import { toWire } from "./wire.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

export interface JsonOperation {
  handle(call: CallContext, raw: unknown): Promise<unknown>;
}

export interface JsonService {
  targetPrefix: string;
  signingName: string;
  internalErrorCode: ErrorCode;
  operation(name: string): JsonOperation | undefined;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface JsonProtocolOptions {
  services: readonly JsonService[];
  lookup: IdentityLookup;
  now: () => number;
  log: Logger;
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

export class JsonProtocol {
  private readonly byPrefix: Map<string, JsonService>;

  constructor(private readonly options: JsonProtocolOptions) {
    this.byPrefix = new Map(options.services.map((s) => [s.targetPrefix, s]));
  }

  async handle(req: SignedRequest): Promise<Reply> {
    const reply = await this.dispatch(req);
    // The Date header is the server's clock: SDKs correct their clock skew from it.
    reply.headers.date = httpDate(this.options.now());
    return reply;
  }

  private async dispatch(req: SignedRequest): Promise<Reply> {
    const requestId = randomUUID();
    let service: JsonService | undefined;
    try {
      const target = req.headers["x-amz-target"];
      const dot = typeof target === "string" ? target.indexOf(".") : -1;
      service = dot > 0 ? this.byPrefix.get((target as string).slice(0, dot)) : undefined;
      if (!service || req.method !== "POST") {
        throw new ServiceError("UnknownOperationException", `Operation ${String(target ?? "(no X-Amz-Target)")} is not recognized.`);
      }
      const verified = await verifySigV4(req, { service: service.signingName, now: this.options.now(), lookup: this.options.lookup });
      const name = (target as string).slice(dot + 1);
      const operation = service.operation(name);
      if (!operation) throw new ServiceError("UnknownOperationException", `Operation ${name} is not recognized.`);
      const call: CallContext = {
        accountId: verified.accountId,
        region: verified.region,
        accessKeyId: verified.accessKeyId,
        principalArn: `arn:aws:iam::${verified.accountId}:root`,
        requestId,
      };
      const output = await operation.handle(call, parseJsonBody(req.body));
      return jsonReply(requestId, 200, toWire(output));
    } catch (error) {
      if (error instanceof ServiceError) return errorReply(requestId, error.code, error.status, error.message);
      this.options.log.error(`request ${requestId} failed: ${(error as Error)?.stack ?? String(error)}`);
      return errorReply(requestId, service?.internalErrorCode ?? "KMSInternalException", 500, "An internal error occurred.");
    }
  }
}

let lastDate = { second: -1, text: "" };

function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== lastDate.second) lastDate = { second, text: new Date(second * 1000).toUTCString() };
  return lastDate.text;
}

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ServiceError("SerializationException", "The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ServiceError("SerializationException", "The request body must be a JSON object.");
  }
  return parsed;
}
