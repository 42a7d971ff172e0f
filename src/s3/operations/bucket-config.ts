/** A bucket's default encryption (with BlockedEncryptionTypes) and its bucket policy. */
import { ServiceError } from "../../errors.js";
import { compilePolicy, PolicySyntaxError, type CompiledPolicy } from "../../iam/policy.js";
import { firstUnknownPrincipal } from "../../iam/principal-check.js";
import { checkContentMd5, optional, required, type S3Operation } from "../operation.js";
import type { BucketEncryption } from "../service.js";

interface EncryptionRule {
  ApplyServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string };
  BucketKeyEnabled?: string;
  BlockedEncryptionTypes?: { EncryptionType?: string[] };
}

/** Reads a ServerSideEncryptionConfiguration document against the current setting. */
function parseEncryption(document: unknown, current: BucketEncryption): BucketEncryption {
  const rules = (document as { Rule?: EncryptionRule[] } | undefined)?.Rule;
  if (!Array.isArray(rules) || rules.length !== 1)
    throw new ServiceError("MalformedXML", "A ServerSideEncryptionConfiguration holds exactly one Rule.");
  const rule = rules[0]!;
  const byDefault = rule.ApplyServerSideEncryptionByDefault;
  const algorithm = byDefault?.SSEAlgorithm;
  if (algorithm === undefined)
    throw new ServiceError("MalformedXML", "ApplyServerSideEncryptionByDefault with its SSEAlgorithm is required.");
  if (algorithm === "aws:kms:dsse")
    throw new ServiceError("NotImplemented", "keyhold does not implement dual-layer SSE-KMS (aws:kms:dsse).");
  if (algorithm !== "AES256" && algorithm !== "aws:kms")
    throw new ServiceError("MalformedXML", `SSEAlgorithm ${algorithm} is not AES256 or aws:kms.`);
  const kmsKeyId = byDefault?.KMSMasterKeyID || undefined;
  if (kmsKeyId !== undefined && algorithm !== "aws:kms") {
    throw new ServiceError(
      "InvalidArgument",
      "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
    );
  }
  const bucketKey = rule.BucketKeyEnabled;
  if (bucketKey !== undefined && bucketKey !== "true" && bucketKey !== "false")
    throw new ServiceError("MalformedXML", "BucketKeyEnabled is true or false.");
  let blocked = current.blocked;
  const types = rule.BlockedEncryptionTypes?.EncryptionType;
  if (types !== undefined) {
    for (const t of types)
      if (t !== "NONE" && t !== "SSE-C") throw new ServiceError("MalformedXML", `EncryptionType ${t} is not NONE or SSE-C.`);
    if (types.includes("NONE") && types.length > 1)
      throw new ServiceError("InvalidArgument", "EncryptionType NONE cannot be combined with another type.");
    blocked = types.includes("NONE") ? [] : [...new Set(types)];
  }
  return { algorithm, kmsKeyId, bucketKeyEnabled: bucketKey === undefined ? undefined : bucketKey === "true", blocked };
}

export const putBucketEncryption: S3Operation = {
  name: "PutBucketEncryption",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    checkContentMd5(input);
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutEncryptionConfiguration", bucket, body);
    const next = parseEncryption(input.ServerSideEncryptionConfiguration, body.encryption);
    await s3.updateBucket(bucket, (b) => (b.encryption = next));
    return {};
  },
};

export const getBucketEncryption: S3Operation = {
  name: "GetBucketEncryption",
  readOnly: true,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:GetEncryptionConfiguration", bucket, body);
    const e = body.encryption;
    return {
      Rule: [
        {
          ApplyServerSideEncryptionByDefault: { SSEAlgorithm: e.algorithm, KMSMasterKeyID: e.kmsKeyId },
          BucketKeyEnabled: e.bucketKeyEnabled ?? false,
          BlockedEncryptionTypes: { EncryptionType: e.blocked.length === 0 ? ["NONE"] : e.blocked },
        },
      ],
    };
  },
};

/** Back to S3's default, SSE-S3; whether SSE-C is blocked stays as it was. */
export const deleteBucketEncryption: S3Operation = {
  name: "DeleteBucketEncryption",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutEncryptionConfiguration", bucket, body);
    await s3.updateBucket(bucket, (b) => (b.encryption = { algorithm: "AES256", blocked: b.encryption.blocked }));
    return {};
  },
};

export const putBucketPolicy: S3Operation = {
  name: "PutBucketPolicy",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    checkContentMd5(input);
    const text = optional(input, "Policy") ?? "";
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:PutBucketPolicy", bucket, body);
    if (Buffer.byteLength(text, "utf8") > 20 * 1024) throw new ServiceError("MalformedPolicy", "Policies must be at most 20 KB.");
    let compiled: CompiledPolicy;
    try {
      compiled = compilePolicy(text, "resource");
    } catch (error) {
      if (error instanceof PolicySyntaxError || error instanceof ServiceError) throw new ServiceError("MalformedPolicy", error.message);
      throw error;
    }
    checkPolicyResources(text, bucket);
    if ((await firstUnknownPrincipal(compiled, s3.repo)) !== undefined)
      throw new ServiceError("MalformedPolicy", "Invalid principal in policy");
    await s3.updateBucket(bucket, (b) => (b.policy = text));
    return {};
  },
};

/** Every Resource of a bucket policy is the bucket or its objects, as S3 requires ("Policy has invalid resource"). */
function checkPolicyResources(text: string, bucket: string): void {
  const doc = JSON.parse(text) as { Statement?: unknown };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const s of statements as { Resource?: unknown; NotResource?: unknown }[]) {
    const resources = [s.Resource ?? s.NotResource].flat().filter((r): r is string => typeof r === "string");
    for (const r of resources) {
      if (r !== `arn:aws:s3:::${bucket}` && !r.startsWith(`arn:aws:s3:::${bucket}/`)) {
        throw new ServiceError("MalformedPolicy", `Policy has invalid resource: ${r} is not this bucket (${bucket}) or its objects.`);
      }
    }
  }
}

export const getBucketPolicy: S3Operation = {
  name: "GetBucketPolicy",
  readOnly: true,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:GetBucketPolicy", bucket, body);
    if (body.policy === undefined) throw new ServiceError("NoSuchBucketPolicy");
    return { Policy: body.policy };
  },
};

export const deleteBucketPolicy: S3Operation = {
  name: "DeleteBucketPolicy",
  readOnly: false,
  async handle(s3, call, input) {
    const bucket = required(input, "Bucket");
    call.trail.input = { bucketName: bucket };
    const { body } = await s3.requireBucket(bucket);
    await s3.authorize(call, "s3:DeleteBucketPolicy", bucket, body);
    await s3.updateBucket(bucket, (b) => delete b.policy);
    return {};
  },
};
