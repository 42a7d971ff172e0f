import type { CreateTrailRequest, CreateTrailResponse } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../errors.js";
import { list, str, struct } from "../../validation/schema.js";
import { defineCloudTrailOperation } from "../operation.js";
import {
  DEFAULT_SELECTORS,
  MAX_TRAILS_PER_ACCOUNT,
  MAX_TRAILS_PER_REGION,
  checkTrailName,
  trailArn,
  trailView,
  type TrailBody,
} from "../service.js";
import { checkPrefix, refuseUndelivered, TRAIL_SETTINGS } from "./trail-input.js";

export const createTrail = defineCloudTrailOperation<CreateTrailRequest, CreateTrailResponse>({
  name: "CreateTrail",
  description: "Create a trail that delivers the account's management events, with signed digests, to an S3 bucket.",
  readOnly: false,
  input: struct(
    {
      ...TRAIL_SETTINGS,
      TagsList: list(struct({ Key: str({ min: 1, max: 128 }), Value: str({ max: 256 }) }, ["Key"]), { max: 50 }),
    },
    ["Name", "S3BucketName"],
  ),
  async run(ct, call, input) {
    checkTrailName(input.Name!);
    refuseUndelivered(input);
    if (input.TagsList && input.TagsList.length > 0) {
      throw new ServiceError("UnsupportedOperationException", "keyhold does not keep tags on trails; create the trail without TagsList.");
    }
    const prefix = checkPrefix(input.S3KeyPrefix);
    const includeGlobal = input.IncludeGlobalServiceEvents ?? true;
    const multiRegion = input.IsMultiRegionTrail ?? false;
    if (multiRegion && !includeGlobal) {
      throw new ServiceError("InvalidParameterCombinationException", "A multi-region trail must include global service events.");
    }
    const arn = trailArn(call.region, call.accountId, input.Name!);
    const all = await ct.list(call.accountId);
    const existing = all.filter((t) => t.homeRegion === call.region || t.isMultiRegionTrail);
    if (existing.some((t) => t.name === input.Name && t.homeRegion === call.region)) {
      throw new ServiceError("TrailAlreadyExistsException", `Trail ${arn} already exists for customer: ${call.accountId}`);
    }
    if (existing.filter((t) => t.homeRegion === call.region).length >= MAX_TRAILS_PER_REGION) {
      throw new ServiceError(
        "MaximumNumberOfTrailsExceededException",
        `The account already has ${MAX_TRAILS_PER_REGION} trails in ${call.region}.`,
      );
    }
    if (all.length >= MAX_TRAILS_PER_ACCOUNT) {
      throw new ServiceError(
        "MaximumNumberOfTrailsExceededException",
        `The account already has ${MAX_TRAILS_PER_ACCOUNT} trails over all regions, keyhold's limit.`,
      );
    }
    const trail: TrailBody = {
      name: input.Name!,
      accountId: call.accountId,
      homeRegion: call.region,
      arn,
      s3BucketName: input.S3BucketName!,
      s3KeyPrefix: prefix,
      includeGlobalServiceEvents: includeGlobal,
      isMultiRegionTrail: multiRegion,
      logFileValidationEnabled: input.EnableLogFileValidation ?? false,
      eventSelectors: DEFAULT_SELECTORS.map((s) => ({ ...s, ExcludeManagementEventSources: [] })),
      hasCustomEventSelectors: false,
      // As on AWS, a new trail does not log until StartLogging.
      isLogging: false,
      cursor: {},
      digests: {},
    };
    if (input.KmsKeyId) trail.kmsKeyId = await ct.checkKmsKey(trail, input.KmsKeyId);
    await ct.checkBucket(trail);
    if (!(await ct.create(trail))) {
      throw new ServiceError("TrailAlreadyExistsException", `Trail ${arn} already exists for customer: ${call.accountId}`);
    }
    call.trail.resources.push({ arn, type: "AWS::CloudTrail::Trail" });
    const view = trailView(trail);
    return {
      Name: view.Name,
      S3BucketName: view.S3BucketName,
      S3KeyPrefix: view.S3KeyPrefix,
      IncludeGlobalServiceEvents: view.IncludeGlobalServiceEvents,
      IsMultiRegionTrail: view.IsMultiRegionTrail,
      TrailARN: view.TrailARN,
      LogFileValidationEnabled: view.LogFileValidationEnabled,
      KmsKeyId: view.KmsKeyId,
      IsOrganizationTrail: false,
    };
  },
});
