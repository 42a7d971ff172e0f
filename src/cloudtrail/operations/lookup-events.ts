import type { LookupEventsRequest, LookupEventsResponse } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { int, list, str, struct, timestamp } from "../../validation/schema.js";
import type { LookupKey } from "../../audit/store.js";
import { defineCloudTrailOperation } from "../operation.js";

const LOOKUP_KEYS: readonly LookupKey[] = [
  "EventId",
  "EventName",
  "ReadOnly",
  "Username",
  "ResourceType",
  "ResourceName",
  "EventSource",
  "AccessKeyId",
];
const TOKEN_PREFIX = "khct2:";

/** The NextToken: where each audit chain's part of the previous page ended. */
function decodeToken(token: string): Record<string, number> {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
  if (!text.startsWith(TOKEN_PREFIX)) throw new ServiceError("InvalidNextTokenException");
  let cursor: unknown;
  try {
    cursor = JSON.parse(text.slice(TOKEN_PREFIX.length));
  } catch {
    throw new ServiceError("InvalidNextTokenException");
  }
  if (typeof cursor !== "object" || cursor === null || Array.isArray(cursor)) throw new ServiceError("InvalidNextTokenException");
  const out: Record<string, number> = {};
  for (const [chain, seq] of Object.entries(cursor)) {
    if (!/^[\w.-]+$/.test(chain) || !Number.isSafeInteger(seq) || (seq as number) < 1) throw new ServiceError("InvalidNextTokenException");
    out[chain] = seq as number;
  }
  return out;
}

export const lookupEvents = defineCloudTrailOperation<LookupEventsRequest, LookupEventsResponse>({
  name: "LookupEvents",
  description: "Look up the account's audit events in the request's region, newest first.",
  readOnly: true,
  input: struct({
    LookupAttributes: list(struct({ AttributeKey: str(), AttributeValue: str({ min: 1, max: 2000 }) }, ["AttributeKey", "AttributeValue"])),
    StartTime: timestamp(),
    EndTime: timestamp(),
    EventCategory: str(),
    MaxResults: int(),
    NextToken: str(),
  }),
  async run(ct, call, input) {
    const attributes = input.LookupAttributes ?? [];
    if (attributes.length > 1) throw new ServiceError("InvalidLookupAttributesException", "LookupAttributes can hold only one attribute.");
    const attribute = attributes[0];
    if (attribute && !LOOKUP_KEYS.includes(attribute.AttributeKey as LookupKey)) {
      throw new ServiceError("InvalidLookupAttributesException", `AttributeKey must be one of ${LOOKUP_KEYS.join(", ")}.`);
    }
    if (input.EventCategory !== undefined && input.EventCategory !== "insight") {
      throw new ServiceError("InvalidEventCategoryException", "EventCategory must be 'insight'.");
    }
    const limit = input.MaxResults ?? 50;
    if (limit < 1 || limit > 50) throw new ServiceError("InvalidMaxResultsException");
    const start = input.StartTime?.getTime();
    const end = input.EndTime?.getTime();
    if (start !== undefined && end !== undefined && start > end) throw new ServiceError("InvalidTimeRangeException");
    const before = input.NextToken === undefined ? undefined : decodeToken(input.NextToken);
    // keyhold records management events only; there are no Insights events to return.
    if (input.EventCategory === "insight") return { Events: [] };

    const { events, cursor } = await ct.audit.lookup({
      accountId: call.accountId,
      region: call.region,
      attribute: attribute && { key: attribute.AttributeKey as LookupKey, value: attribute.AttributeValue! },
      startTime: start,
      endTime: end,
      before,
      limit,
    });
    return {
      Events: events.map((e) => ({
        EventId: e.eventId,
        EventName: e.eventName,
        ReadOnly: String(e.readOnly),
        AccessKeyId: e.accessKeyId,
        EventTime: new Date(e.eventTime),
        EventSource: e.eventSource,
        Username: e.username,
        Resources: e.resources.map((r) => ({ ResourceType: r.type, ResourceName: r.arn })),
        CloudTrailEvent: e.record,
      })),
      NextToken: cursor ? Buffer.from(TOKEN_PREFIX + JSON.stringify(cursor)).toString("base64url") : undefined,
    };
  },
});
