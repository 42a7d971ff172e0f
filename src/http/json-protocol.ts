/**
 * The AWS JSON 1.1 protocol adapter: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`.
 * Flow: find the service by target prefix → verify SigV4 for its signing name → find the
 * operation → parse JSON → hand the raw input to the operation (which validates it) → render
 * the output, or the error as `{"__type", "message"}` with its status.
 * This module knows nothing of any particular service.
 */
import { randomUUID } from "node:crypto";
import type { CallContext, CompletedCall } from "../call.js";
import { ServiceError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import { parseAuthorization, verifySigV4, type IdentityLookup, type SignedRequest } from "./sigv4.js";
import { toWire } from "./wire.js";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

export interface JsonOperation {
  readonly readOnly: boolean;
  handle(call: CallContext, raw: unknown): Promise<unknown>;
}

export interface JsonService {
  /** The X-Amz-Target prefixes clients use (botocore and the Smithy-based SDKs may differ). */
  targetPrefixes: readonly string[];
  signingName: string;
  internalErrorCode: ErrorCode;
  operation(name: string): JsonOperation | undefined;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Told about every call once it is answered; the reply waits for it (the audit trail). */
export interface CallObserver {
  completed(call: CompletedCall): Promise<void>;
}

export interface JsonProtocolOptions {
  services: readonly JsonService[];
  lookup: IdentityLookup;
  now: () => number;
  log: Logger;
  observer?: CallObserver;
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
    this.byPrefix = new Map(options.services.flatMap((s) => s.targetPrefixes.map((p) => [p, s] as const)));
  }

  async handle(req: SignedRequest): Promise<Reply> {
    const reply = await this.dispatch(req);
    // The Date header is the server's clock: SDKs correct their clock skew from it.
    reply.headers.date = httpDate(this.options.now());
    return reply;
  }

  private async dispatch(req: SignedRequest): Promise<Reply> {
    const time = this.options.now();
    const completed: CompletedCall = {
      requestId: randomUUID(),
      time,
      readOnly: false,
      sourceIp: req.sourceIp,
      userAgent: typeof req.headers["user-agent"] === "string" ? req.headers["user-agent"] : undefined,
      trail: { resources: [] },
    };
    let service: JsonService | undefined;
    let reply: Reply;
    try {
      const target = req.headers["x-amz-target"];
      const dot = typeof target === "string" ? target.lastIndexOf(".") : -1;
      service = dot > 0 ? this.byPrefix.get((target as string).slice(0, dot)) : undefined;
      if (!service || req.method !== "POST") {
        throw new ServiceError("UnknownOperationException", `Operation ${String(target ?? "(no X-Amz-Target)")} is not recognized.`);
      }
      completed.service = service.signingName;
      const name = (target as string).slice(dot + 1);
      completed.operation = name;
      const verified = await verifySigV4(req, { service: service.signingName, now: time, lookup: this.options.lookup });
      completed.region = verified.region;
      completed.caller = { accountId: verified.accountId, accessKeyId: verified.accessKeyId, principal: verified.principal };
      const operation = service.operation(name);
      if (!operation) throw new ServiceError("UnknownOperationException", `Operation ${name} is not recognized.`);
      completed.readOnly = operation.readOnly;
      const call: CallContext = {
        accountId: verified.accountId,
        region: verified.region,
        accessKeyId: verified.accessKeyId,
        principal: verified.principal,
        sessionPolicies: verified.sessionPolicies,
        time,
        sourceIp: req.sourceIp,
        secureTransport: req.secure === true,
        requestId: completed.requestId,
        action: `${service.signingName}:${name}`,
        trail: completed.trail,
      };
      completed.output = await operation.handle(call, parseJsonBody(req.body));
      reply = jsonReply(completed.requestId, 200, toWire(completed.output));
    } catch (error) {
      if (error instanceof ServiceError) {
        completed.error = { code: error.code, message: error.message };
        reply = errorReply(completed.requestId, error.code, error.status, error.message);
      } else {
        this.options.log.error(`request ${completed.requestId} failed: ${(error as Error)?.stack ?? String(error)}`);
        const code = service?.internalErrorCode ?? "InternalFailure";
        completed.error = { code, message: "An internal error occurred." };
        reply = errorReply(completed.requestId, code, 500, "An internal error occurred.");
      }
      if (!completed.caller) await this.attributeClaim(req, completed);
    }
    return this.observe(completed, reply);
  }

  /** For a request that failed authentication: whose access key and which region it claimed. */
  private async attributeClaim(req: SignedRequest, completed: CompletedCall): Promise<void> {
    const header = req.headers.authorization;
    if (!header) return;
    try {
      const claim = parseAuthorization(header);
      completed.region = claim.region;
      const identity = await this.options.lookup(claim.accessKeyId);
      completed.claimed = { accessKeyId: claim.accessKeyId, accountId: identity?.accountId };
    } catch {
      // A header too malformed to name anyone: recorded without an identity.
    }
  }

  /** The response leaves only once the audit trail holds the call (fail closed if it cannot). */
  private async observe(completed: CompletedCall, reply: Reply): Promise<Reply> {
    if (!this.options.observer) return reply;
    try {
      await this.options.observer.completed(completed);
      return reply;
    } catch (error) {
      this.options.log.error(`request ${completed.requestId} could not be audited: ${(error as Error)?.stack ?? String(error)}`);
      return errorReply(completed.requestId, "InternalFailure", 500, "An internal error occurred.");
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
