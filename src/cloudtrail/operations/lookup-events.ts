import type { LookupEventsRequest, LookupEventsResponse } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { int, list, str, struct, timestamp } from "../../validation/schema.js";
import type { LookupKey } from "../../audit/queries.js";
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
const TOKEN_PREFIX = "khct1:";

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
  async run(reader, call, input) {
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
    let beforeSeq: number | undefined;
    if (input.NextToken !== undefined) {
      const text = /^[A-Za-z0-9_-]+$/.test(input.NextToken) ? Buffer.from(input.NextToken, "base64url").toString("utf8") : "";
      beforeSeq = text.startsWith(TOKEN_PREFIX) ? Number(text.slice(TOKEN_PREFIX.length)) : NaN;
      if (!Number.isSafeInteger(beforeSeq) || beforeSeq < 1) throw new ServiceError("InvalidNextTokenException");
    }
    // keyhold records management events only; there are no Insights events to return.
    if (input.EventCategory === "insight") return { Events: [] };

    const { events, more } = reader.lookup({
      accountId: call.accountId,
      region: call.region,
      attribute: attribute && { key: attribute.AttributeKey as LookupKey, value: attribute.AttributeValue! },
      startTime: start,
      endTime: end,
      beforeSeq,
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
      NextToken: more ? Buffer.from(TOKEN_PREFIX + events[events.length - 1]!.seq).toString("base64url") : undefined,
    };
  },
});
