/** Input rules CreateTrail and UpdateTrail share. */
import { ServiceError } from "../../errors.js";
import { bool, str } from "../../validation/schema.js";

/** CloudTrail's S3KeyPrefix: at most 200 characters; keyhold also refuses a trailing "/", which would double the separator. */
export function checkPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === "") return undefined;
  if (prefix.length > 200 || prefix.endsWith("/") || prefix.startsWith("/")) {
    throw new ServiceError(
      "InvalidS3PrefixException",
      `S3 key prefix ${prefix} is not valid: at most 200 characters, not starting or ending with '/'.`,
    );
  }
  return prefix;
}

/** What keyhold does not deliver to is refused, not dropped: SNS notifications, CloudWatch Logs, organization trails. */
export function refuseUndelivered(input: {
  SnsTopicName?: string;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  IsOrganizationTrail?: boolean;
}): void {
  if (input.SnsTopicName)
    throw new ServiceError("UnsupportedOperationException", "keyhold delivers trails to S3 only: SNS notifications are not sent.");
  if (input.CloudWatchLogsLogGroupArn || input.CloudWatchLogsRoleArn) {
    throw new ServiceError("UnsupportedOperationException", "keyhold delivers trails to S3 only: CloudWatch Logs delivery is not served.");
  }
  if (input.IsOrganizationTrail) throw new ServiceError("UnsupportedOperationException", "keyhold does not serve organization trails.");
}

/** The members CreateTrail and UpdateTrail share, with the model's bounds (CreateTrail adds TagsList). */
export const TRAIL_SETTINGS = {
  Name: str({ min: 1, max: 2048 }),
  S3BucketName: str({ min: 1, max: 2048 }),
  S3KeyPrefix: str({ max: 2048 }),
  SnsTopicName: str(),
  IncludeGlobalServiceEvents: bool(),
  IsMultiRegionTrail: bool(),
  EnableLogFileValidation: bool(),
  CloudWatchLogsLogGroupArn: str(),
  CloudWatchLogsRoleArn: str(),
  KmsKeyId: str({ max: 2048 }),
  IsOrganizationTrail: bool(),
};
