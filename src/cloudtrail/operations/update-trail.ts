import type { UpdateTrailRequest, UpdateTrailResponse } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { struct } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";
import { trailView } from "../service.js";
import { checkPrefix, refuseUndelivered, TRAIL_SETTINGS } from "./trail-input.js";

export const updateTrail = defineCloudTrailOperation<UpdateTrailRequest, UpdateTrailResponse>({
  name: "UpdateTrail",
  description: "Change where a trail delivers, whether it signs digests, its regions and its KMS key.",
  readOnly: false,
  input: struct(
    {
      ...TRAIL_SETTINGS,
    },
    ["Name"],
  ),
  async run(ct, call, input) {
    const { doc, body } = await ct.findForChange(call, input.Name!);
    refuseUndelivered(input);
    const trail = { ...body };
    if (input.S3BucketName !== undefined) trail.s3BucketName = input.S3BucketName;
    if (input.S3KeyPrefix !== undefined) trail.s3KeyPrefix = checkPrefix(input.S3KeyPrefix);
    if (input.IncludeGlobalServiceEvents !== undefined) trail.includeGlobalServiceEvents = input.IncludeGlobalServiceEvents;
    if (input.IsMultiRegionTrail !== undefined) trail.isMultiRegionTrail = input.IsMultiRegionTrail;
    if (trail.isMultiRegionTrail && !trail.includeGlobalServiceEvents) {
      throw new ServiceError("InvalidParameterCombinationException", "A multi-region trail must include global service events.");
    }
    if (input.EnableLogFileValidation !== undefined) trail.logFileValidationEnabled = input.EnableLogFileValidation;
    // An empty KmsKeyId turns SSE-KMS off, as CloudTrail reads it.
    if (input.KmsKeyId !== undefined) trail.kmsKeyId = input.KmsKeyId === "" ? undefined : await ct.checkKmsKey(trail, input.KmsKeyId);
    if (input.S3BucketName !== undefined || input.S3KeyPrefix !== undefined || input.KmsKeyId !== undefined) await ct.checkBucket(trail);
    if (!(await ct.save(doc, trail))) throw new ServiceError("ConflictException", "The trail changed meanwhile; try again.");
    call.trail.resources.push({ arn: trail.arn, type: "AWS::CloudTrail::Trail" });
    const { HomeRegion: _h, HasCustomEventSelectors: _c, HasInsightSelectors: _i, ...view } = trailView(trail);
    return view;
  },
});
