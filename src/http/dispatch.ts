/**
 * What every protocol shares: a request is routed to a service operation, its SigV4 signature
 * verified for that service, the operation run with the caller's context, and the call handed to
 * the observer (the audit trail) before the reply leaves. The protocol adapters (AWS JSON 1.1,
 * Query) only say how a request names its operation and how replies and errors are written.
 * This module knows nothing of any particular service.
 */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { CallContext, CompletedCall } from "../call.js";
import { ServiceError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import { parseAuthorization, verifySigV4, type IdentityLookup, type SignedRequest } from "./sigv4.js";
import { AWS_REGIONS } from "../regions.js";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** A body streamed instead of `body` (S3 objects), of `contentLength` bytes. */
  stream?: Readable;
  /** The Content-Length to announce when it is not `body`'s (a stream, or a HEAD reply). */
  contentLength?: number;
}

export interface ServiceOperation {
  readonly readOnly: boolean;
  handle(call: CallContext, raw: unknown): Promise<unknown>;
}

/** The request as a protocol adapter reads it: which service, which operation, and its raw input. */
export interface Route {
  /** The SigV4 signing name, which is also the IAM action prefix ("kms", "iam", …). */
  service: string;
  operationName: string;
  operation: ServiceOperation | undefined;
  /**
   * The answer when there is no operation and the service knows better than "not recognized": an
   * operation of the AWS API that keyhold does not serve, or an S3 sub-resource.
   */
  unserved?: ServiceError;
  /** Parses the body into the raw input; throws the protocol's parse errors. */
  input(): unknown;
  internalErrorCode: ErrorCode;
}

export interface ProtocolAdapter {
  /** Throws ServiceError when the request names no known service or operation. */
  route(req: SignedRequest): Route;
  success(requestId: string, output: unknown, route: Route): Reply;
  failure(requestId: string, code: ErrorCode, message: string, route: Route | undefined, details?: Readonly<Record<string, string>>): Reply;
}

/**
 * A call as it was answered, for the request log and the metrics: told after the audit trail took
 * it, before the reply is written (a streamed body may still be going out).
 */
export interface AnsweredCall {
  request: SignedRequest;
  completed: CompletedCall;
  /** Whether the operation is one of the service's registry (else completed.operation is whatever the client named). */
  served: boolean;
  reply: Reply;
  /** The AWS error code the client got (src/errors.ts), if refused. */
  errorCode?: ErrorCode;
  /** From the request's arrival at the dispatcher to its reply. */
  seconds: number;
}

/** Told about every call once it is answered; the reply waits for it (the audit trail). */
export interface CallObserver {
  completed(call: CompletedCall): Promise<void>;
}

export interface DispatcherOptions {
  lookup: IdentityLookup;
  now: () => number;
  log: Logger;
  observer?: CallObserver;
  /** The regions served (src/regions.ts); default AWS's. */
  regions?: ReadonlySet<string>;
  /** Told of every answered call (request log, metrics); what it throws is ignored. */
  answered?: (call: AnsweredCall) => void;
}

export class Dispatcher {
  /** Requests being handled now (read by the metrics at scrape time). */
  inFlight = 0;

  constructor(private readonly options: DispatcherOptions) {}

  async handle(req: SignedRequest, adapter: ProtocolAdapter): Promise<Reply> {
    this.inFlight++;
    let reply: Reply;
    try {
      reply = await this.dispatch(req, adapter);
    } finally {
      this.inFlight--;
    }
    // The Date header is the server's clock: SDKs correct their clock skew from it.
    reply.headers.date = httpDate(this.options.now());
    return reply;
  }

  private async dispatch(req: SignedRequest, adapter: ProtocolAdapter): Promise<Reply> {
    const started = performance.now();
    const time = this.options.now();
    const completed: CompletedCall = {
      requestId: randomUUID(),
      time,
      readOnly: false,
      sourceIp: req.sourceIp,
      userAgent: typeof req.headers["user-agent"] === "string" ? req.headers["user-agent"] : undefined,
      trail: { resources: [] },
    };
    let route: Route | undefined;
    let reply: Reply;
    try {
      route = adapter.route(req);
      completed.service = route.service;
      completed.operation = route.operationName;
      const verified = await verifySigV4(req, {
        service: route.service,
        now: time,
        lookup: this.options.lookup,
        regions: this.options.regions,
      });
      completed.region = verified.region;
      completed.caller = { accountId: verified.accountId, accessKeyId: verified.accessKeyId, principal: verified.principal };
      const operation = route.operation;
      if (!operation)
        throw route.unserved ?? new ServiceError("UnknownOperationException", `Operation ${route.operationName} is not recognized.`);
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
        action: `${route.service}:${route.operationName}`,
        trail: completed.trail,
      };
      completed.output = await operation.handle(call, route.input());
      reply = adapter.success(completed.requestId, completed.output, route);
    } catch (error) {
      if (error instanceof ServiceError) {
        completed.error = { code: error.code, message: error.message };
        reply = adapter.failure(completed.requestId, error.code, error.message, route, error.details);
      } else {
        this.options.log.error(`request ${completed.requestId} failed: ${(error as Error)?.stack ?? String(error)}`);
        const code = route?.internalErrorCode ?? "InternalFailure";
        completed.error = { code, message: "An internal error occurred." };
        reply = adapter.failure(completed.requestId, code, "An internal error occurred.", route);
      }
      if (!completed.caller) await this.attributeClaim(req, completed);
    }
    const sent = await this.observe(completed, reply, adapter, route);
    try {
      this.options.answered?.({
        request: req,
        completed,
        served: route?.operation !== undefined,
        reply: sent,
        // A call the audit trail could not take was answered InternalFailure whatever it did.
        errorCode: sent === reply ? (completed.error?.code as ErrorCode | undefined) : "InternalFailure",
        seconds: (performance.now() - started) / 1000,
      });
    } catch {
      // The call is done and recorded: a log or metrics failure does not change its answer.
    }
    return sent;
  }

  /** For a request that failed authentication: whose access key and which region it claimed. */
  private async attributeClaim(req: SignedRequest, completed: CompletedCall): Promise<void> {
    const header = req.headers.authorization;
    if (!header) return;
    try {
      const claim = parseAuthorization(header);
      // The claim is unverified: anyone who knows an access key id makes it. Its region becomes the
      // record's awsRegion, which a multi-region trail turns into an object key and a digest chain
      // of its own, so only a region keyhold serves is kept (not made-up names, spaces or 8 KB of text).
      if ((this.options.regions ?? AWS_REGIONS).has(claim.region)) completed.region = claim.region;
      const identity = await this.options.lookup(claim.accessKeyId);
      completed.claimed = { accessKeyId: claim.accessKeyId, accountId: identity?.accountId };
    } catch {
      // A header too malformed to name anyone: recorded without an identity.
    }
  }

  /** The response leaves only once the audit trail holds the call (fail closed if it cannot). */
  private async observe(completed: CompletedCall, reply: Reply, adapter: ProtocolAdapter, route: Route | undefined): Promise<Reply> {
    if (!this.options.observer) return reply;
    try {
      await this.options.observer.completed(completed);
      return reply;
    } catch (error) {
      this.options.log.error(`request ${completed.requestId} could not be audited: ${(error as Error)?.stack ?? String(error)}`);
      return adapter.failure(completed.requestId, "InternalFailure", "An internal error occurred.", route);
    }
  }
}

let lastDate = { second: -1, text: "" };

function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== lastDate.second) lastDate = { second, text: new Date(second * 1000).toUTCString() };
  return lastDate.text;
}
