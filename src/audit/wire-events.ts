/**
 * How a batch of events crosses to the audit writer thread: one string, fields separated by NUL
 * and events by SOH, instead of an array of objects. A structured clone of one string costs a
 * fraction of a clone of many small objects, and this crossing happens for every batch.
 *
 * The record text is JSON, which never holds a raw NUL or SOH; the lookup columns (names, ids,
 * regions) are stripped of them, and the resources travel as their JSON column.
 */
import type { AuditEvent } from "./record.js";

const FIELD = "\u0000";
const EVENT = "\u0001";
const UNSAFE = /[\u0000\u0001]/g;

function text(value: string | undefined): string {
  if (value === undefined) return "";
  return value.includes(FIELD) || value.includes(EVENT) ? value.replace(UNSAFE, "\uFFFD") : value;
}

export function encodeEvents(events: readonly AuditEvent[]): string {
  let out = "";
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) out += EVENT;
    out +=
      text(e.eventId) +
      FIELD +
      e.eventTime +
      FIELD +
      text(e.accountId) +
      FIELD +
      text(e.region) +
      FIELD +
      text(e.eventSource) +
      FIELD +
      text(e.eventName) +
      FIELD +
      text(e.username) +
      FIELD +
      text(e.accessKeyId) +
      FIELD +
      (e.readOnly ? "1" : "0") +
      FIELD +
      text(e.errorCode) +
      FIELD +
      text(e.requestId) +
      FIELD +
      (e.usesKeys ? "1" : "0") +
      FIELD +
      JSON.stringify(e.resources) +
      FIELD +
      e.recordPrefix;
  }
  return out;
}

const orUndefined = (value: string): string | undefined => (value === "" ? undefined : value);

export function decodeEvents(message: string): AuditEvent[] {
  return message.split(EVENT).map((line) => {
    const f = line.split(FIELD);
    if (f.length !== 14) throw new Error(`an audit event arrived with ${f.length} fields instead of 14`);
    return {
      eventId: f[0]!,
      eventTime: Number(f[1]),
      accountId: orUndefined(f[2]!),
      region: orUndefined(f[3]!),
      eventSource: f[4]!,
      eventName: f[5]!,
      username: orUndefined(f[6]!),
      accessKeyId: orUndefined(f[7]!),
      readOnly: f[8] === "1",
      errorCode: orUndefined(f[9]!),
      requestId: f[10]!,
      usesKeys: f[11] === "1",
      resources: JSON.parse(f[12]!) as { arn: string; type: string }[],
      recordPrefix: f[13]!,
    };
  });
}
