/**
 * The regions keyhold serves. A request signed for any well-formed name used to be served, so a
 * typo (`--region us-east-9`) showed an empty account instead of an error. keyhold now serves the
 * regions of AWS's commercial partition (the ARNs it writes are `arn:aws:…`), taken from botocore's
 * `data/endpoints.json` (partition "aws", botocore 1.43), plus private names an operator adds with
 * KEYHOLD_EXTRA_REGIONS. The table changes a few times a year; it is kept here, not read at build
 * time, so keyhold's behaviour does not depend on the Python installed on the build machine.
 */

/** The regions of the AWS partition `aws`. */
export const AWS_REGIONS: ReadonlySet<string> = new Set([
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
]);

/**
 * The shape of a region name, at most 32 characters (an extra region must have it too: SDKs build
 * host names from it, and it enters ARNs and audit records).
 */
export const REGION_NAME = /^(?=[a-z0-9-]{1,32}$)[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** AWS's regions and the extra ones. */
export function servedRegions(extra: readonly string[] = []): ReadonlySet<string> {
  return extra.length === 0 ? AWS_REGIONS : new Set([...AWS_REGIONS, ...extra]);
}
