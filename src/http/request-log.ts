/**
 * The request log's line for an answered call: what was asked (service, operation), of whom
 * (caller ARN, access key id), from where, how it ended, how long it took and how many bytes went
 * each way. Built from the dispatcher's record of the call only, never from its input, its output,
 * its headers or its signature: a plaintext, a key, a secret value or a password cannot reach it.
 */
import type { RequestLogEntry } from "../log.js";
import type { AnsweredCall } from "./dispatch.js";

/** The body bytes a request carried: its decoded length for an aws-chunked upload (the payload without the chunk signatures). */
export function bytesIn(call: Pick<AnsweredCall, "request">): number {
  const req = call.request;
  if (!req.stream) return req.body.length;
  const declared = req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"];
  const n = Number(declared);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** The body bytes of the reply (a streamed object's announced length). */
export function bytesOut(call: Pick<AnsweredCall, "reply">): number {
  return call.reply.contentLength ?? call.reply.body.length;
}

export function requestLogEntry(call: AnsweredCall): RequestLogEntry {
  const c = call.completed;
  return {
    time: c.time,
    requestId: c.requestId,
    service: c.service,
    // An operation keyhold does not serve is logged as the client named it only through its error
    // code: the name is the client's text, of any length.
    operation: call.served ? c.operation : undefined,
    status: call.reply.status,
    errorCode: call.errorCode,
    latencyMs: Math.round(call.seconds * 1e6) / 1000,
    callerArn: c.caller?.principal.arn,
    accessKeyId: c.caller?.accessKeyId,
    claimedAccessKeyId: c.caller ? undefined : wellFormedKeyId(c.claimed?.accessKeyId),
    sourceIp: c.sourceIp,
    bytesIn: bytesIn(call),
    bytesOut: bytesOut(call),
  };
}

/**
 * A claimed access key id is whatever the client wrote in its Authorization header: kept when it
 * has the form of one (AWS's are 16–128 upper-case letters and digits), dropped otherwise, so a
 * secret pasted there by mistake, or a kilobyte of text, is not logged.
 */
function wellFormedKeyId(id: string | undefined): string | undefined {
  return id !== undefined && /^[A-Z0-9]{16,128}$/.test(id) ? id : undefined;
}
