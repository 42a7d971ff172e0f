import type {
  GetTrailStatusRequest,
  GetTrailStatusResponse,
  StartLoggingRequest,
  StartLoggingResponse,
  StopLoggingRequest,
  StopLoggingResponse,
} from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { str, struct } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";

export const startLogging = defineCloudTrailOperation<StartLoggingRequest, StartLoggingResponse>({
  name: "StartLogging",
  description: "Start delivering the trail's events: those from now on.",
  readOnly: false,
  input: struct({ Name: str({ min: 1, max: 2048 }) }, ["Name"]),
  async run(ct, call, input) {
    const { doc, body } = await ct.findForChange(call, input.Name!);
    call.trail.resources.push({ arn: body.arn, type: "AWS::CloudTrail::Trail" });
    if (body.isLogging) return {};
    // Before it checks the bucket again: a policy changed while the trail was stopped is refused now, not at the first delivery.
    await ct.checkBucket(body);
    const now = ct.clock.now();
    // The trail reads on from each chain's end: the events of before (the retained history, or those while it was stopped) are not its.
    const cursor = await ct.chainEnds();
    if (!(await ct.save(doc, { ...body, isLogging: true, startLoggingTime: now, cursor }))) {
      throw new ServiceError("ConflictException", "The trail changed meanwhile; try again.");
    }
    return {};
  },
});

export const stopLogging = defineCloudTrailOperation<StopLoggingRequest, StopLoggingResponse>({
  name: "StopLogging",
  description: "Stop delivering the trail's events; events meanwhile are not delivered later.",
  readOnly: false,
  input: struct({ Name: str({ min: 1, max: 2048 }) }, ["Name"]),
  async run(ct, call, input) {
    const { doc, body } = await ct.findForChange(call, input.Name!);
    call.trail.resources.push({ arn: body.arn, type: "AWS::CloudTrail::Trail" });
    if (!body.isLogging) return {};
    if (!(await ct.save(doc, { ...body, isLogging: false, stopLoggingTime: ct.clock.now() }))) {
      throw new ServiceError("ConflictException", "The trail changed meanwhile; try again.");
    }
    return {};
  },
});

function date(time: number | undefined): Date | undefined {
  return time === undefined ? undefined : new Date(time);
}

function text(time: number | undefined): string | undefined {
  return time === undefined ? undefined : new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const getTrailStatus = defineCloudTrailOperation<GetTrailStatusRequest, GetTrailStatusResponse>({
  name: "GetTrailStatus",
  description: "Whether the trail logs, and when it last delivered log and digest files (or why it could not).",
  readOnly: true,
  input: struct({ Name: str({ min: 1, max: 2048 }) }, ["Name"]),
  async run(ct, call, input) {
    const t = (await ct.find(call, input.Name!)).body;
    return {
      IsLogging: t.isLogging,
      LatestDeliveryError: t.latestDeliveryError,
      LatestDigestDeliveryError: t.latestDigestDeliveryError,
      LatestDeliveryTime: date(t.latestDeliveryTime),
      LatestDigestDeliveryTime: date(t.latestDigestDeliveryTime),
      StartLoggingTime: date(t.startLoggingTime),
      StopLoggingTime: date(t.stopLoggingTime),
      LatestDeliveryAttemptTime: text(t.latestDeliveryAttemptTime),
      // The time of the last attempt when it succeeded, an empty string when it failed (as CloudTrail answers).
      LatestDeliveryAttemptSucceeded:
        t.latestDeliveryAttemptTime === undefined ? undefined : t.latestDeliveryError ? "" : text(t.latestDeliveryAttemptTime),
      TimeLoggingStarted: text(t.startLoggingTime),
      TimeLoggingStopped: text(t.stopLoggingTime),
    };
  },
});
