import type {
  GetEventSelectorsRequest,
  GetEventSelectorsResponse,
  PutEventSelectorsRequest,
  PutEventSelectorsResponse,
} from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { bool, list, str, struct, type Schema } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";
import type { EventSelector } from "../service.js";

const READ_WRITE = ["ReadOnly", "WriteOnly", "All"];
/** The event sources CloudTrail lets a selector leave out of management events. */
const EXCLUDABLE = ["kms.amazonaws.com", "rdsdata.amazonaws.com"];

const selectorSchema: Schema = struct({
  ReadWriteType: str(),
  IncludeManagementEvents: bool(),
  DataResources: list(struct({ Type: str(), Values: list(str()) })),
  ExcludeManagementEventSources: list(str()),
});

export const putEventSelectors = defineCloudTrailOperation<PutEventSelectorsRequest, PutEventSelectorsResponse>({
  name: "PutEventSelectors",
  description: "Choose which management events (read, write or both; excluding KMS events or not) the trail delivers.",
  readOnly: false,
  input: struct(
    {
      TrailName: str({ min: 1, max: 2048 }),
      EventSelectors: list(selectorSchema),
      AdvancedEventSelectors: list(struct({ Name: str(), FieldSelectors: list(struct({ Field: str() })) })),
    },
    ["TrailName"],
  ),
  async run(ct, call, input) {
    const { doc, body } = await ct.findForChange(call, input.TrailName!);
    if (input.AdvancedEventSelectors !== undefined) {
      throw new ServiceError("InvalidEventSelectorsException", "keyhold serves basic event selectors only: use EventSelectors.");
    }
    const given = input.EventSelectors ?? [];
    if (given.length < 1 || given.length > 5) throw new ServiceError("InvalidEventSelectorsException", "Give from 1 to 5 event selectors.");
    const selectors: EventSelector[] = given.map((s) => {
      const readWrite = s.ReadWriteType ?? "All";
      if (!READ_WRITE.includes(readWrite))
        throw new ServiceError("InvalidEventSelectorsException", `ReadWriteType must be one of ${READ_WRITE.join(", ")}.`);
      // keyhold records management events only: a data event selector would select nothing, silently.
      if (s.DataResources && s.DataResources.length > 0) {
        throw new ServiceError(
          "InvalidEventSelectorsException",
          "keyhold records management events only: DataResources cannot be selected.",
        );
      }
      const excluded = s.ExcludeManagementEventSources ?? [];
      for (const source of excluded) {
        if (!EXCLUDABLE.includes(source)) {
          throw new ServiceError("InvalidEventSelectorsException", `ExcludeManagementEventSources takes only ${EXCLUDABLE.join(" and ")}.`);
        }
      }
      return {
        ReadWriteType: readWrite as EventSelector["ReadWriteType"],
        IncludeManagementEvents: s.IncludeManagementEvents ?? true,
        ExcludeManagementEventSources: excluded,
      };
    });
    if (!(await ct.save(doc, { ...body, eventSelectors: selectors, hasCustomEventSelectors: true }))) {
      throw new ServiceError("ConflictException", "The trail changed meanwhile; try again.");
    }
    call.trail.resources.push({ arn: body.arn, type: "AWS::CloudTrail::Trail" });
    return { TrailARN: body.arn, EventSelectors: selectors.map(view) };
  },
});

function view(s: EventSelector) {
  return {
    ReadWriteType: s.ReadWriteType,
    IncludeManagementEvents: s.IncludeManagementEvents,
    DataResources: [],
    ExcludeManagementEventSources: s.ExcludeManagementEventSources,
  };
}

export const getEventSelectors = defineCloudTrailOperation<GetEventSelectorsRequest, GetEventSelectorsResponse>({
  name: "GetEventSelectors",
  description: "The trail's event selectors.",
  readOnly: true,
  input: struct({ TrailName: str({ min: 1, max: 2048 }) }, ["TrailName"]),
  async run(ct, call, input) {
    const { body } = await ct.find(call, input.TrailName!);
    return { TrailARN: body.arn, EventSelectors: body.eventSelectors.map(view) };
  },
});
