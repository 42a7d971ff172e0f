/**
 * Event history: the account's audit trail through CloudTrail's LookupEvents, with the filters the
 * console offers (event name, user name, resource name, read-only, time range).
 *
 * LookupEvents takes one lookup attribute per request (InvalidLookupAttributesException
 * otherwise). The most selective filter given is sent to keyhold; the others are applied to the
 * events it returns, reading further pages until a page of matches is found or `maxScanned` events
 * have been read, so a rare combination cannot make one click read the whole trail.
 */
import { LookupEventsCommand, type Event, type LookupAttribute } from "@aws-sdk/client-cloudtrail";
import type { DataClients } from "./clients.js";
import { errorCodeOf } from "./key-usage.js";

export interface EventFilters {
  eventName?: string;
  userName?: string;
  resourceName?: string;
  /** true: read-only calls only; false: writes only; undefined: both. */
  readOnly?: boolean;
  startTime?: Date;
  endTime?: Date;
}

export interface HistoryOptions {
  /** Matches wanted for one page (default 50). */
  pageSize?: number;
  /** At most this many events read for one page (default 1,000). */
  maxScanned?: number;
  /** LookupEvents' NextToken from the previous page. */
  nextToken?: string;
}

export interface HistoryEvent {
  eventId: string;
  eventName: string;
  eventTime?: Date;
  eventSource: string;
  userName: string;
  accessKeyId?: string;
  readOnly?: boolean;
  resources: { type: string; name: string }[];
  /** The record's errorCode and errorMessage when AWS refused the call. */
  errorCode?: string;
  errorMessage?: string;
  sourceIPAddress?: string;
  /** The CloudTrail record as LookupEvents returned it (JSON text). */
  cloudTrailEvent: string;
}

export interface HistoryPage {
  events: HistoryEvent[];
  /** Pass back as `nextToken` for the next page; undefined at the end of the trail. */
  nextToken?: string;
  /** How many events were read to find this page's matches. */
  scanned: number;
  /** Which filter keyhold applied (the others were applied here). */
  serverFilter?: LookupAttribute;
}

/** The one lookup attribute to send: the filter that narrows the trail most. */
export function serverAttribute(f: EventFilters): LookupAttribute | undefined {
  if (f.resourceName) return { AttributeKey: "ResourceName", AttributeValue: f.resourceName };
  if (f.eventName) return { AttributeKey: "EventName", AttributeValue: f.eventName };
  if (f.userName) return { AttributeKey: "Username", AttributeValue: f.userName };
  if (f.readOnly !== undefined) return { AttributeKey: "ReadOnly", AttributeValue: String(f.readOnly) };
  return undefined;
}

/** Whether an event passes every filter (the server's attribute included: checking it again is harmless). */
export function matches(e: Event, f: EventFilters): boolean {
  if (f.eventName && e.EventName !== f.eventName) return false;
  if (f.userName && e.Username !== f.userName) return false;
  if (f.resourceName && !(e.Resources ?? []).some((r) => r.ResourceName === f.resourceName)) return false;
  if (f.readOnly !== undefined && e.ReadOnly !== String(f.readOnly)) return false;
  return true;
}

/** Filters with blank fields dropped and values trimmed, as typed into the console. */
export function normalizeFilters(f: EventFilters): EventFilters {
  const text = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());
  return {
    eventName: text(f.eventName),
    userName: text(f.userName),
    resourceName: text(f.resourceName),
    readOnly: f.readOnly,
    startTime: f.startTime,
    endTime: f.endTime,
  };
}

export function historyEvent(e: Event): HistoryEvent {
  let record: { errorMessage?: unknown; sourceIPAddress?: unknown } = {};
  try {
    record = JSON.parse(e.CloudTrailEvent ?? "{}") as typeof record;
  } catch {
    // A record that is not JSON is still shown as text.
  }
  return {
    eventId: e.EventId ?? "",
    eventName: e.EventName ?? "",
    eventTime: e.EventTime,
    eventSource: e.EventSource ?? "",
    userName: e.Username ?? "",
    accessKeyId: e.AccessKeyId,
    readOnly: e.ReadOnly === undefined ? undefined : e.ReadOnly === "true",
    resources: (e.Resources ?? []).map((r) => ({ type: r.ResourceType ?? "", name: r.ResourceName ?? "" })),
    errorCode: errorCodeOf(e),
    errorMessage: typeof record.errorMessage === "string" ? record.errorMessage : undefined,
    sourceIPAddress: typeof record.sourceIPAddress === "string" ? record.sourceIPAddress : undefined,
    cloudTrailEvent: e.CloudTrailEvent ?? "",
  };
}

export async function eventHistory(
  clients: Pick<DataClients, "cloudTrail">,
  filters: EventFilters,
  options: HistoryOptions = {},
): Promise<HistoryPage> {
  const f = normalizeFilters(filters);
  const pageSize = Math.max(options.pageSize ?? 50, 1);
  const maxScanned = Math.max(options.maxScanned ?? 1000, 1);
  const serverFilter = serverAttribute(f);
  const events: HistoryEvent[] = [];
  let token = options.nextToken;
  let scanned = 0;
  // Whole LookupEvents pages are taken, so the NextToken handed back never skips an event.
  do {
    const page = await clients.cloudTrail.send(
      new LookupEventsCommand({
        LookupAttributes: serverFilter ? [serverFilter] : undefined,
        StartTime: f.startTime,
        EndTime: f.endTime,
        MaxResults: 50,
        NextToken: token,
      }),
    );
    for (const e of page.Events ?? []) if (matches(e, f)) events.push(historyEvent(e));
    scanned += page.Events?.length ?? 0;
    token = page.NextToken;
  } while (token && events.length < pageSize && scanned < maxScanned);
  return { events, nextToken: token, scanned, serverFilter };
}
