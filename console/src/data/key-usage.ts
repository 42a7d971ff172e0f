/**
 * A key's use over the last days, from the audit trail: LookupEvents with ResourceName = the key
 * ARN (every KMS record names the key by its ARN, whichever name the caller used, and so do the
 * records S3 and Secrets Manager make when they call KMS for a caller), counted per hour and
 * operation for the dependency view's bar chart.
 */
import { LookupEventsCommand, type Event } from "@aws-sdk/client-cloudtrail";
import type { DataClients } from "./clients.js";

export const HOUR_MS = 60 * 60 * 1000;

export interface UsageOptions {
  /** How many days back (default 7, at most 90: CloudTrail's event history keeps 90 days). */
  days?: number;
  /** At most this many events are read (default 5,000); beyond it the counts say "at least". */
  maxEvents?: number;
  /** The time the window ends, in ms (default now). */
  now?: number;
}

export interface OperationSeries {
  operation: string;
  total: number;
  /** Calls in each hour of `KeyUsage.hours`. */
  perHour: number[];
}

export interface KeyUsage {
  /** The start of every hour in the window, oldest first (ms since the epoch, UTC hours). */
  hours: number[];
  /** One series per operation, the most used first. */
  series: OperationSeries[];
  total: number;
  /** Calls that AWS refused (the record has an errorCode). */
  errors: number;
  /** Whether the window held more events than were read: counts are then lower bounds. */
  truncated: boolean;
  since: number;
  until: number;
}

/** The minimal event shape `countByHour` needs (a LookupEvents Event has it). */
export interface TimedEvent {
  EventName?: string;
  EventTime?: Date;
  CloudTrailEvent?: string;
}

/** Counts events per UTC hour and operation over [since, until]; events outside are ignored. */
export function countByHour(events: readonly TimedEvent[], since: number, until: number, truncated = false): KeyUsage {
  const first = Math.floor(since / HOUR_MS) * HOUR_MS;
  const hours: number[] = [];
  for (let h = first; h <= until; h += HOUR_MS) hours.push(h);
  const byOperation = new Map<string, number[]>();
  let total = 0;
  let errors = 0;
  for (const e of events) {
    const time = e.EventTime?.getTime();
    if (time === undefined || time < since || time > until) continue;
    const operation = e.EventName ?? "(unnamed)";
    let perHour = byOperation.get(operation);
    if (!perHour) byOperation.set(operation, (perHour = new Array<number>(hours.length).fill(0)));
    perHour[Math.floor((time - first) / HOUR_MS)]!++;
    total++;
    if (errorCodeOf(e) !== undefined) errors++;
  }
  const series = [...byOperation]
    .map(([operation, perHour]) => ({ operation, perHour, total: perHour.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.operation.localeCompare(b.operation));
  return { hours, series, total, errors, truncated, since, until };
}

/** The record's errorCode, when the call was refused. */
export function errorCodeOf(e: { CloudTrailEvent?: string }): string | undefined {
  if (!e.CloudTrailEvent) return undefined;
  try {
    const record = JSON.parse(e.CloudTrailEvent) as { errorCode?: unknown };
    return typeof record.errorCode === "string" ? record.errorCode : undefined;
  } catch {
    return undefined;
  }
}

export async function keyUsage(clients: Pick<DataClients, "cloudTrail">, keyArn: string, options: UsageOptions = {}): Promise<KeyUsage> {
  const days = Math.min(Math.max(options.days ?? 7, 1), 90);
  const maxEvents = Math.max(options.maxEvents ?? 5000, 1);
  const until = options.now ?? Date.now();
  const since = until - days * 24 * HOUR_MS;
  const events: Event[] = [];
  let token: string | undefined;
  let truncated = false;
  do {
    const page = await clients.cloudTrail.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: keyArn }],
        StartTime: new Date(since),
        EndTime: new Date(until),
        MaxResults: 50,
        NextToken: token,
      }),
    );
    events.push(...(page.Events ?? []));
    token = page.NextToken;
    if (token && events.length >= maxEvents) truncated = true;
  } while (token && !truncated);
  return countByHour(events.slice(0, maxEvents), since, until, truncated || events.length > maxEvents);
}
