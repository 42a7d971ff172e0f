/** Buckets: CreateBucket, HeadBucket, ListBuckets, DeleteBucket, GetBucketLocation. */
import { createHash } from "node:crypto";
import { ServiceError } from "../../errors.js";
import { REGION_NAME } from "../../regions.js";
import { checkBucketName, notServed, optional, type S3Input, type S3Operation } from "../operation.js";

/** The canonical user id S3 shows as a bucket's owner: derived from the account, stable. */
export function canonicalId(accountId: string): string {
  return createHash("sha256").update(`keyhold-canonical-user:${accountId}`).digest("hex");
}

const OBJECT_OWNERSHIPS = new Set(["BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"]);

/**
 * A bucket is made as keyhold keeps every bucket — ACLs disabled (BucketOwnerEnforced), no Object
 * Lock — or not at all: whoever asks for a lock or an ACL must not believe they got one.
 */
function refuseUnservedBucket(input: S3Input): void {
  const ownership = optional(input, "ObjectOwnership");
  if (ownership !== undefined && !OBJECT_OWNERSHIPS.has(ownership)) {
    throw new ServiceError("InvalidArgument", `Invalid x-amz-object-ownership header: ${ownership}`);
  }
  if (ownership !== undefined && ownership !== "BucketOwnerEnforced") {
    throw notServed(`ObjectOwnership ${ownership}: keyhold's buckets have ACLs disabled (BucketOwnerEnforced)`);
  }
  const acl = optional(input, "ACL");
  const grants = ["GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP"].some(
    (m) => optional(input, m) !== undefined,
  );
  if ((acl !== undefined && acl !== "private") || grants) throw new ServiceError("InvalidBucketAclWithObjectOwnership");
  if (optional(input, "ObjectLockEnabledForBucket")?.toLowerCase() === "true") throw notServed("Object Lock");
}

export const createBucket: S3Operation = {
  name: "CreateBucket",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = optional(input, "Bucket") ?? "";
    checkBucketName(bucket);
    call.trail.input = { bucketName: bucket };
    const constraint = (input.CreateBucketConfiguration as { LocationConstraint?: string } | undefined)?.LocationConstraint || undefined;
    // As S3: us-east-1 is named by leaving the constraint out, so naming it (or no region at all) is invalid.
    if (constraint !== undefined && (constraint === "us-east-1" || !REGION_NAME.test(constraint))) {
      throw new ServiceError("InvalidLocationConstraint", `The specified location-constraint is not valid: ${constraint}.`);
    }
    const region = constraint ?? call.region;
    if (region !== call.region) {
      throw new ServiceError(
        "IllegalLocationConstraintException",
        `The ${region} location constraint is incompatible with the region ${call.region} this request was sent to.`,
      );
    }
    refuseUnservedBucket(input);
    await s3.authorize(call, "s3:CreateBucket", bucket, undefined);
    const created = await s3.createBucket(bucket, {
      owner: call.accountId,
      region,
      createdAt: call.time,
      encryption: { algorithm: "AES256", blocked: s3.allowSseCOnNewBuckets ? [] : ["SSE-C"] },
    });
    if (!created) {
      const existing = await s3.requireBucket(bucket);
      if (existing.body.owner === call.accountId) throw new ServiceError("BucketAlreadyOwnedByYou");
      throw new ServiceError("BucketAlreadyExists");
    }
    call.trail.resources.push({ arn: `arn:aws:s3:::${bucket}`, type: "AWS::S3::Bucket" });
    return { Location: `/${bucket}` };
  },
};

export const headBucket: S3Operation = {
  name: "HeadBucket",
  readOnly: true,
  async handle(s3, call, input) {
    const bucket = optional(input, "Bucket") ?? "";
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:ListBucket", bucket, body);
    return { BucketRegion: body.region };
  },
};

export const listBuckets: S3Operation = {
  name: "ListBuckets",
  readOnly: true,
  async handle(s3, call) {
    call.trail.input = {};
    await s3.authorizer.require(call, { action: "s3:ListAllMyBuckets", resource: "*" });
    const buckets = await s3.listBuckets(call.accountId);
    return {
      Owner: { ID: canonicalId(call.accountId), DisplayName: call.accountId },
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: new Date(b.body.createdAt), BucketRegion: b.body.region })) },
    };
  },
};

export const deleteBucket: S3Operation = {
  name: "DeleteBucket",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = optional(input, "Bucket") ?? "";
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:DeleteBucket", bucket, body);
    const objects = await s3.repo.listDocuments("s3-object", bucket, "", undefined, 1);
    const uploads = await s3.repo.listDocuments("s3-upload", bucket, "", undefined, 1);
    if (objects.items.length > 0 || uploads.items.length > 0) throw new ServiceError("BucketNotEmpty");
    await s3.repo.deleteDocument("s3-bucket", "global", bucket);
    return {};
  },
};

export const getBucketLocation: S3Operation = {
  name: "GetBucketLocation",
  readOnly: true,
  async handle(s3, call, input) {
    const bucket = optional(input, "Bucket") ?? "";
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:GetBucketLocation", bucket, body);
    // us-east-1 is the empty constraint, as S3 answers it.
    return { LocationConstraint: body.region === "us-east-1" ? "" : body.region };
  },
};
