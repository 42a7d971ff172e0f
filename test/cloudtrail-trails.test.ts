/**
 * CloudTrail trails: the trail operations through @aws-sdk/client-cloudtrail (each refusal too),
 * and delivery of log and digest files to keyhold's S3, judged by AWS's own validator,
 * `aws cloudtrail validate-logs`: every file valid, then a modified, deleted or inserted log or
 * digest file reported as the validator reports it on AWS.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createPublicKey, createVerify } from "node:crypto";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  ListTrailsCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from "@aws-sdk/client-cloudtrail";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListKeysCommand,
} from "@aws-sdk/client-kms";
import { ManualClock } from "../src/clock.js";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { AWS_REGIONS } from "../src/regions.js";
import { iamClient, makeUser, policy } from "./iam.js";
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";
import { awsEnv, requireTool } from "./process.js";
import { bytesOf, s3Client } from "./s3.js";

const REGION = "us-east-1";

function cloudTrail(url: string, region = REGION): CloudTrailClient {
  return new CloudTrailClient({
    endpoint: url,
    region,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
}

/** The bucket policy AWS documents for CloudTrail: the service principal may read the ACL and put under AWSLogs/<account>/. */
function trailBucketPolicy(bucket: string, trailArn: string, prefix = ""): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AWSCloudTrailAclCheck",
        Effect: "Allow",
        Principal: { Service: "cloudtrail.amazonaws.com" },
        Action: "s3:GetBucketAcl",
        Resource: `arn:aws:s3:::${bucket}`,
        Condition: { StringEquals: { "aws:SourceArn": trailArn } },
      },
      {
        Sid: "AWSCloudTrailWrite",
        Effect: "Allow",
        Principal: { Service: "cloudtrail.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `arn:aws:s3:::${bucket}/${prefix}AWSLogs/${ACCOUNT_ID}/*`,
        Condition: { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trailArn } },
      },
    ],
  });
}

function trailArnOf(name: string, region = REGION): string {
  return `arn:aws:cloudtrail:${region}:${ACCOUNT_ID}:trail/${name}`;
}

/** A key policy: the account administers, and CloudTrail may make data keys with it (AWS's documented grant). */
function trailKeyPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "Allow CloudTrail to encrypt logs",
        Effect: "Allow",
        Principal: { Service: "cloudtrail.amazonaws.com" },
        Action: "kms:GenerateDataKey*",
        Resource: "*",
      },
    ],
  });
}

describe("CloudTrail trails", () => {
  let server: TestServer;
  const dataDir = tempDir();
  let ct: CloudTrailClient;
  let s3: S3Client;
  const clock = new ManualClock(Date.now());

  before(async () => {
    server = await startTestServer({ clock, dataDir });
    ct = cloudTrail(server.url);
    s3 = s3Client(server.url);
  });
  after(async () => {
    ct.destroy();
    s3.destroy();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("CreateTrail refuses a bad name, a missing bucket, a bucket whose policy does not let CloudTrail write, a duplicate and unserved deliveries", async () => {
    await rejects(() => ct.send(new CreateTrailCommand({ Name: "a", S3BucketName: "trail-refusals" })), "InvalidTrailNameException");
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "bad--name", S3BucketName: "trail-refusals" })),
      "InvalidTrailNameException",
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "no-such-trail-bucket" })),
      "S3BucketDoesNotExistException",
    );
    await s3.send(new CreateBucketCommand({ Bucket: "trail-refusals" }));
    const noPolicy = await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals" })),
      "InsufficientS3BucketPolicyException",
    );
    assert.equal(noPolicy.$metadata?.httpStatusCode, 400);
    // A policy for another trail's ARN (aws:SourceArn) does not let this one write.
    await s3.send(
      new PutBucketPolicyCommand({ Bucket: "trail-refusals", Policy: trailBucketPolicy("trail-refusals", trailArnOf("other")) }),
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals" })),
      "InsufficientS3BucketPolicyException",
    );
    // Nor does one granting the account's root: the service principal is not the account.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: "trail-refusals",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
              Action: "s3:*",
              Resource: ["arn:aws:s3:::trail-refusals", "arn:aws:s3:::trail-refusals/*"],
            },
          ],
        }),
      }),
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals" })),
      "InsufficientS3BucketPolicyException",
    );

    // Nor one granting everyone of the account (aws:PrincipalAccount): a service principal has no account of its own.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: "trail-refusals",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: "*",
              Action: "s3:*",
              Resource: ["arn:aws:s3:::trail-refusals", "arn:aws:s3:::trail-refusals/*"],
              Condition: { StringEquals: { "aws:PrincipalAccount": ACCOUNT_ID } },
            },
          ],
        }),
      }),
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals" })),
      "InsufficientS3BucketPolicyException",
    );
    // A policy naming CloudTrail by aws:PrincipalServiceName under Principal "*" lets it in, as on AWS.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: "trail-refusals",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: "*",
              Action: ["s3:GetBucketAcl", "s3:PutObject"],
              Resource: ["arn:aws:s3:::trail-refusals", "arn:aws:s3:::trail-refusals/*"],
              Condition: { StringEquals: { "aws:PrincipalServiceName": "cloudtrail.amazonaws.com" } },
            },
          ],
        }),
      }),
    );
    await ct.send(new CreateTrailCommand({ Name: "by-service-name", S3BucketName: "trail-refusals" }));
    await ct.send(new DeleteTrailCommand({ Name: "by-service-name" }));

    await s3.send(
      new PutBucketPolicyCommand({ Bucket: "trail-refusals", Policy: trailBucketPolicy("trail-refusals", trailArnOf("refused")) }),
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals", SnsTopicName: "topic" })),
      "UnsupportedOperationException",
    );
    await rejects(
      () =>
        ct.send(
          new CreateTrailCommand({
            Name: "refused",
            S3BucketName: "trail-refusals",
            IsMultiRegionTrail: true,
            IncludeGlobalServiceEvents: false,
          }),
        ),
      "InvalidParameterCombinationException",
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals", S3KeyPrefix: "logs/" })),
      "InvalidS3PrefixException",
    );
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals", KmsKeyId: "alias/none" })),
      "KmsKeyNotFoundException",
    );
    const kms = server.client();
    const plainKey = await kms.send(new CreateKeyCommand({ Description: "default policy: no CloudTrail" }));
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals", KmsKeyId: plainKey.KeyMetadata!.Arn })),
      "InsufficientEncryptionPolicyException",
    );

    const created = await ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals" }));
    assert.equal(created.TrailARN, trailArnOf("refused"));
    assert.equal(created.LogFileValidationEnabled, false);
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "refused", S3BucketName: "trail-refusals" })),
      "TrailAlreadyExistsException",
    );
    await ct.send(new DeleteTrailCommand({ Name: "refused" }));
    await rejects(() => ct.send(new GetTrailCommand({ Name: "refused" })), "TrailNotFoundException");
  });

  it("a bucket policy that insists on SSE-KMS takes a trail with a KmsKeyId and refuses one without", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "trail-kms-only" }));
    const allowed = JSON.parse(trailBucketPolicy("trail-kms-only", trailArnOf("kms-only"))) as { Statement: object[] };
    allowed.Statement.push({
      Sid: "DenyUnlessKms",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: "arn:aws:s3:::trail-kms-only/*",
      Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } },
    });
    await s3.send(new PutBucketPolicyCommand({ Bucket: "trail-kms-only", Policy: JSON.stringify(allowed) }));
    await rejects(
      () => ct.send(new CreateTrailCommand({ Name: "kms-only", S3BucketName: "trail-kms-only" })),
      "InsufficientS3BucketPolicyException",
    );
    const key = await server.client().send(new CreateKeyCommand({ Description: "kms-only trail", Policy: trailKeyPolicy() }));
    const created = await ct.send(
      new CreateTrailCommand({ Name: "kms-only", S3BucketName: "trail-kms-only", KmsKeyId: key.KeyMetadata!.KeyId }),
    );
    assert.equal(created.KmsKeyId, key.KeyMetadata!.Arn);
    // Turning SSE-KMS off is refused too: the policy would refuse every delivery.
    await rejects(() => ct.send(new UpdateTrailCommand({ Name: "kms-only", KmsKeyId: "" })), "InsufficientS3BucketPolicyException");
    await ct.send(new DeleteTrailCommand({ Name: "kms-only" }));
  });

  it("trail operations: describe, get, list, status, start/stop, selectors, update, delete — and their refusals", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "trail-crud" }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: "trail-crud", Policy: trailBucketPolicy("trail-crud", trailArnOf("crud")) }));
    await ct.send(
      new CreateTrailCommand({ Name: "crud", S3BucketName: "trail-crud", EnableLogFileValidation: true, IsMultiRegionTrail: true }),
    );

    const described = await ct.send(new DescribeTrailsCommand({}));
    const crud = described.trailList!.find((t) => t.Name === "crud");
    assert.ok(crud);
    assert.deepEqual(
      [crud.TrailARN, crud.S3BucketName, crud.HomeRegion, crud.IsMultiRegionTrail, crud.LogFileValidationEnabled],
      [trailArnOf("crud"), "trail-crud", REGION, true, true],
    );
    // A multi-region trail is seen from another region as a shadow trail; changed only from its home region.
    const west = cloudTrail(server.url, "us-west-2");
    try {
      const shadows = await west.send(new DescribeTrailsCommand({}));
      assert.deepEqual(
        shadows.trailList!.map((t) => t.TrailARN),
        [trailArnOf("crud")],
      );
      assert.deepEqual((await west.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList, []);
      await rejects(() => west.send(new StartLoggingCommand({ Name: trailArnOf("crud") })), "InvalidHomeRegionException");
      await rejects(() => west.send(new GetTrailCommand({ Name: "crud" })), "TrailNotFoundException");
    } finally {
      west.destroy();
    }
    assert.equal((await ct.send(new GetTrailCommand({ Name: trailArnOf("crud") }))).Trail!.S3BucketName, "trail-crud");
    await rejects(() => ct.send(new GetTrailCommand({ Name: "arn:aws:cloudtrail:us-east-1:bad" })), "CloudTrailARNInvalidException");
    await rejects(() => ct.send(new GetTrailStatusCommand({ Name: "missing" })), "TrailNotFoundException");
    const listed = await ct.send(new ListTrailsCommand({}));
    assert.ok(listed.Trails!.some((t) => t.TrailARN === trailArnOf("crud") && t.HomeRegion === REGION));
    await rejects(() => ct.send(new ListTrailsCommand({ NextToken: "made-up" })), "InvalidTokenException");

    assert.equal((await ct.send(new GetTrailStatusCommand({ Name: "crud" }))).IsLogging, false);
    await ct.send(new StartLoggingCommand({ Name: "crud" }));
    const logging = await ct.send(new GetTrailStatusCommand({ Name: "crud" }));
    assert.equal(logging.IsLogging, true);
    assert.ok(logging.StartLoggingTime instanceof Date);
    await ct.send(new StopLoggingCommand({ Name: "crud" }));
    const stopped = await ct.send(new GetTrailStatusCommand({ Name: "crud" }));
    assert.equal(stopped.IsLogging, false);
    assert.ok(stopped.StopLoggingTime instanceof Date);

    await rejects(
      () =>
        ct.send(
          new PutEventSelectorsCommand({
            TrailName: "crud",
            EventSelectors: [{ ReadWriteType: "All", DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::trail-crud/"] }] }],
          }),
        ),
      "InvalidEventSelectorsException",
    );
    await rejects(() => ct.send(new PutEventSelectorsCommand({ TrailName: "crud", EventSelectors: [] })), "InvalidEventSelectorsException");
    await rejects(
      () => ct.send(new PutEventSelectorsCommand({ TrailName: "crud", EventSelectors: [{ ReadWriteType: "Sometimes" as "All" }] })),
      "InvalidEventSelectorsException",
    );
    await rejects(
      () =>
        ct.send(
          new PutEventSelectorsCommand({ TrailName: "crud", EventSelectors: [{ ExcludeManagementEventSources: ["iam.amazonaws.com"] }] }),
        ),
      "InvalidEventSelectorsException",
    );
    const put = await ct.send(
      new PutEventSelectorsCommand({
        TrailName: "crud",
        EventSelectors: [
          { ReadWriteType: "WriteOnly", IncludeManagementEvents: true, ExcludeManagementEventSources: ["kms.amazonaws.com"] },
        ],
      }),
    );
    assert.equal(put.TrailARN, trailArnOf("crud"));
    const selectors = await ct.send(new GetEventSelectorsCommand({ TrailName: "crud" }));
    assert.deepEqual(
      selectors.EventSelectors!.map((s) => [s.ReadWriteType, s.IncludeManagementEvents, s.ExcludeManagementEventSources]),
      [["WriteOnly", true, ["kms.amazonaws.com"]]],
    );
    assert.equal((await ct.send(new GetTrailCommand({ Name: "crud" }))).Trail!.HasCustomEventSelectors, true);

    await rejects(
      () => ct.send(new UpdateTrailCommand({ Name: "crud", S3BucketName: "no-such-trail-bucket" })),
      "S3BucketDoesNotExistException",
    );
    await rejects(
      () => ct.send(new UpdateTrailCommand({ Name: "crud", S3BucketName: "trail-refusals" })),
      "InsufficientS3BucketPolicyException",
    );
    await rejects(() => ct.send(new UpdateTrailCommand({ Name: "missing" })), "TrailNotFoundException");
    const updated = await ct.send(new UpdateTrailCommand({ Name: "crud", EnableLogFileValidation: false }));
    assert.equal(updated.LogFileValidationEnabled, false);
    assert.equal((await ct.send(new GetTrailCommand({ Name: "crud" }))).Trail!.LogFileValidationEnabled, false);

    await ct.send(new DeleteTrailCommand({ Name: "crud" }));
    await rejects(() => ct.send(new DeleteTrailCommand({ Name: "crud" })), "TrailNotFoundException");
    assert.ok(!(await ct.send(new ListTrailsCommand({}))).Trails!.some((t) => t.Name === "crud"));
  });

  it("trail operations are authorized on the trail's ARN: a policy scoped to one trail allows that trail only", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "trail-scoped" }));
    const bothTrails = JSON.parse(trailBucketPolicy("trail-scoped", trailArnOf("scoped"))) as { Statement: { Condition: object }[] };
    for (const st of bothTrails.Statement) st.Condition = {};
    await s3.send(new PutBucketPolicyCommand({ Bucket: "trail-scoped", Policy: JSON.stringify(bothTrails) }));
    await ct.send(new CreateTrailCommand({ Name: "scoped", S3BucketName: "trail-scoped" }));
    await ct.send(new CreateTrailCommand({ Name: "unscoped", S3BucketName: "trail-scoped" }));
    const iam = iamClient(server.url);
    const creds = await makeUser(iam, "trail-reader", {
      read: policy(
        { Effect: "Allow", Action: ["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus"], Resource: trailArnOf("scoped") },
        { Effect: "Allow", Action: "cloudtrail:DescribeTrails", Resource: "*" },
      ),
    });
    const reader = new CloudTrailClient({ endpoint: server.url, region: REGION, credentials: creds, maxAttempts: 1 });
    try {
      assert.equal((await reader.send(new GetTrailCommand({ Name: "scoped" }))).Trail!.Name, "scoped");
      assert.equal((await reader.send(new GetTrailCommand({ Name: trailArnOf("scoped") }))).Trail!.Name, "scoped");
      assert.equal((await reader.send(new GetTrailStatusCommand({ Name: "scoped" }))).IsLogging, false);
      assert.ok((await reader.send(new DescribeTrailsCommand({}))).trailList!.length >= 2);
      const denied = await rejects(() => reader.send(new GetTrailCommand({ Name: "unscoped" })), "AccessDeniedException");
      assert.match(denied.message, /cloudtrail:GetTrail on resource: arn:aws:cloudtrail:us-east-1:111122223333:trail\/unscoped/);
      await rejects(() => reader.send(new StartLoggingCommand({ Name: "scoped" })), "AccessDeniedException");
      await rejects(() => reader.send(new CreateTrailCommand({ Name: "mine", S3BucketName: "trail-scoped" })), "AccessDeniedException");
      await rejects(() => reader.send(new DeleteTrailCommand({ Name: "scoped" })), "AccessDeniedException");
      await rejects(() => reader.send(new ListPublicKeysCommand({})), "AccessDeniedException");
    } finally {
      reader.destroy();
      iam.destroy();
    }
    await ct.send(new DeleteTrailCommand({ Name: "scoped" }));
    await ct.send(new DeleteTrailCommand({ Name: "unscoped" }));
  });

  it("ListPublicKeys returns the digest-signing key as PKCS#1 DER with its validity window; refuses a reversed range and a made-up token", async () => {
    const keys = await ct.send(new ListPublicKeysCommand({}));
    assert.equal(keys.PublicKeyList!.length, 1);
    const [k] = keys.PublicKeyList!;
    const der = Buffer.from(k!.Value!);
    const key = createPublicKey({ key: der, format: "der", type: "pkcs1" });
    assert.equal(key.asymmetricKeyType, "rsa");
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
    assert.match(k!.Fingerprint!, /^[0-9a-f]{64}$/);
    assert.ok(k!.ValidityStartTime! <= k!.ValidityEndTime!);
    await rejects(
      () => ct.send(new ListPublicKeysCommand({ StartTime: new Date(Date.now()), EndTime: new Date(Date.now() - 3_600_000) })),
      "InvalidTimeRangeException",
    );
    await rejects(() => ct.send(new ListPublicKeysCommand({ NextToken: "made-up" })), "InvalidTokenException");
  });

  describe("delivery, judged by aws cloudtrail validate-logs", () => {
    const bucket = "trail-delivery";
    const name = "audited";
    const arn = trailArnOf(name);
    let startTime: string;
    let kmsKeyArn: string;

    /** Runs the AWS CLI's validator against keyhold (CloudTrail at --endpoint-url, S3 through AWS_ENDPOINT_URL_S3). */
    /**
     * Runs the AWS CLI's validator against keyhold (CloudTrail at --endpoint-url, S3 through
     * AWS_ENDPOINT_URL_S3). Asynchronously: the server answering it runs in this process.
     */
    function validate(trailArn = arn, region = REGION): Promise<{ status: number; stdout: string; stderr: string }> {
      const args = [
        "cloudtrail",
        "validate-logs",
        "--endpoint-url",
        server.url,
        "--region",
        region,
        "--trail-arn",
        trailArn,
        "--start-time",
        startTime,
        "--verbose",
      ];
      const child = spawn("aws", args, { env: { ...awsEnv(), AWS_ENDPOINT_URL_S3: server.url } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
      return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
      });
    }

    async function keys(prefix: string): Promise<string[]> {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key!).sort();
    }

    async function fetch(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: await bytesOf(got.Body), metadata: got.Metadata ?? {} };
    }

    async function restore(key: string, original: { body: Buffer; metadata: Record<string, string> }): Promise<void> {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: original.body, Metadata: original.metadata }));
    }

    /** Some KMS calls (events for the trail), then a delivery a couple of seconds later on the server's clock. */
    async function activityThenDelivery(calls: number): Promise<{ logFiles: string[]; digestFiles: string[]; errors: string[] }> {
      const kms = server.client();
      for (let i = 0; i < calls; i++) await kms.send(new ListKeysCommand({}));
      await kms.send(new EncryptCommand({ KeyId: kmsKeyArn, Plaintext: Buffer.from("audited") }));
      clock.advance(2_000);
      return server.keyhold.trails.tick();
    }

    before(async () => {
      startTime = new Date(clock.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      const kms = server.client();
      const key = await kms.send(new CreateKeyCommand({ Description: "trail files", Policy: trailKeyPolicy() }));
      kmsKeyArn = key.KeyMetadata!.Arn!;
      await kms.send(new CreateAliasCommand({ AliasName: "alias/trail-files", TargetKeyId: kmsKeyArn }));
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: trailBucketPolicy(bucket, arn) }));
      const created = await ct.send(
        new CreateTrailCommand({ Name: name, S3BucketName: bucket, EnableLogFileValidation: true, KmsKeyId: "alias/trail-files" }),
      );
      assert.equal(created.KmsKeyId, kmsKeyArn);
      await ct.send(new StartLoggingCommand({ Name: name }));
      // Three deliveries, each with log files and a digest chained to the one before.
      for (let i = 0; i < 3; i++) {
        const report = await activityThenDelivery(2 + i);
        assert.deepEqual(report.errors, []);
        assert.ok(report.logFiles.length >= 1, "log files were delivered");
        assert.ok(
          report.digestFiles.some((d) => d.includes(`/${ACCOUNT_ID}_CloudTrail-Digest_${REGION}_${name}_${REGION}_`)),
          report.digestFiles.join(),
        );
      }
    });

    it("writes CloudTrail's key layout, SSE-KMS with the trail's key, the signature in the digest's metadata, digests chained", async () => {
      const logs = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail/${REGION}/`);
      const digests = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/${REGION}/`);
      assert.ok(logs.length >= 3);
      assert.equal(digests.length, 3);
      for (const k of logs)
        assert.match(
          k,
          new RegExp(
            `^AWSLogs/${ACCOUNT_ID}/CloudTrail/${REGION}/\\d{4}/\\d{2}/\\d{2}/${ACCOUNT_ID}_CloudTrail_${REGION}_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
          ),
        );
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: digests[0]! }));
      assert.equal(head.ServerSideEncryption, "aws:kms");
      assert.equal(head.SSEKMSKeyId, kmsKeyArn);
      const log = JSON.parse(gunzipSync((await fetch(logs[0]!)).body).toString("utf8")) as {
        Records: { eventSource: string; recipientAccountId: string }[];
      };
      assert.ok(log.Records.length > 0);
      assert.ok(log.Records.every((r) => r.recipientAccountId === ACCOUNT_ID));

      const [first, second] = [await fetch(digests[0]!), await fetch(digests[1]!)];
      assert.equal(first.metadata["signature-algorithm"], "SHA256withRSA");
      const d1 = JSON.parse(gunzipSync(first.body).toString("utf8")) as Record<string, unknown>;
      const d2text = gunzipSync(second.body).toString("utf8");
      const d2 = JSON.parse(d2text) as Record<string, unknown>;
      assert.equal(d1.previousDigestSignature, null);
      assert.equal(d2.previousDigestS3Object, digests[0]);
      assert.equal(d2.previousDigestSignature, first.metadata.signature);
      assert.equal(d2.digestStartTime, d1.digestEndTime);
      // The signature verifies with the key ListPublicKeys gives, over CloudTrail's string to sign.
      const listed = (await ct.send(new ListPublicKeysCommand({}))).PublicKeyList![0]!;
      assert.equal(d2.digestPublicKeyFingerprint, listed.Fingerprint);
      const publicKey = createPublicKey({
        key: Buffer.from(listed.Value!),
        format: "der",
        type: "pkcs1",
      });
      const hash = (await import("node:crypto")).createHash("sha256").update(d2text).digest("hex");
      const toSign = `${d2.digestEndTime}\n${bucket}/${digests[1]}\n${hash}\n${d2.previousDigestSignature}`;
      assert.ok(createVerify("sha256").update(toSign).verify(publicKey, Buffer.from(second.metadata.signature!, "hex")));

      const status = await ct.send(new GetTrailStatusCommand({ Name: name }));
      assert.ok(status.LatestDeliveryTime instanceof Date);
      assert.ok(status.LatestDigestDeliveryTime instanceof Date);
      assert.equal(status.LatestDeliveryError, undefined);
    });

    it("validate-logs reports every digest and log file valid", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const r = await validate();
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /3\/3 digest files valid/);
      const logs = /(\d+)\/(\d+) log files valid/.exec(r.stdout);
      assert.ok(logs && logs[1] === logs[2] && Number(logs[1]) >= 3, r.stdout);
      assert.doesNotMatch(r.stdout + r.stderr, /INVALID/);
    });

    it("validate-logs reports a modified log file: hash value doesn't match", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const [target] = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail/${REGION}/`);
      const original = await fetch(target!);
      const records = JSON.parse(gunzipSync(original.body).toString("utf8")) as { Records: { eventName: string }[] };
      records.Records[0]!.eventName = "NothingToSeeHere";
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: target!, Body: gzipSync(JSON.stringify(records)) }));
      try {
        const r = await validate();
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.stderr.includes(`Log file\ts3://${bucket}/${target}\tINVALID: hash value doesn't match`), r.stderr);
        assert.match(r.stdout, /3\/3 digest files valid/);
      } finally {
        await restore(target!, original);
      }
    });

    it("validate-logs reports a deleted log file: not found", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const all = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail/${REGION}/`);
      const target = all[all.length - 1]!;
      const original = await fetch(target);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: target }));
      try {
        const r = await validate();
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.stderr.includes(`Log file\ts3://${bucket}/${target}\tINVALID: not found`), r.stderr);
      } finally {
        await restore(target, original);
      }
    });

    it("validate-logs reports a modified digest file: signature verification failed", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const [, target] = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/${REGION}/`);
      const original = await fetch(target!);
      const digest = JSON.parse(gunzipSync(original.body).toString("utf8")) as { logFiles: unknown[] };
      // Hiding a log file from the chain: the digest no longer lists it, the signature no longer matches.
      digest.logFiles = [];
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: target!, Body: gzipSync(JSON.stringify(digest)), Metadata: original.metadata }),
      );
      try {
        const r = await validate();
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.stderr.includes(`Digest file\ts3://${bucket}/${target}\tINVALID: signature verification failed`), r.stderr);
        assert.match(r.stdout, /2\/3 digest files valid, 1\/3 digest files INVALID/);
      } finally {
        await restore(target!, original);
      }
    });

    it("validate-logs reports a deleted digest file: not found", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const [, target] = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/${REGION}/`);
      const original = await fetch(target!);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: target! }));
      try {
        const r = await validate();
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.stderr.includes(`Digest file\ts3://${bucket}/${target}\tINVALID: not found`), r.stderr);
      } finally {
        await restore(target!, original);
      }
    });

    it("validate-logs reports an inserted digest file (a forged newest digest): signature verification failed", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const digests = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/${REGION}/`);
      const newest = await fetch(digests[digests.length - 1]!);
      const forgedTime = new Date(clock.now() + 60_000);
      const stamp = forgedTime
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace(/[-:]/g, "");
      const ymd = forgedTime.toISOString().slice(0, 10).replace(/-/g, "/");
      const forgedKey = `AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/${REGION}/${ymd}/${ACCOUNT_ID}_CloudTrail-Digest_${REGION}_${name}_${REGION}_${stamp}.json.gz`;
      const digest = JSON.parse(gunzipSync(newest.body).toString("utf8")) as Record<string, unknown>;
      Object.assign(digest, {
        digestS3Object: forgedKey,
        digestStartTime: digest.digestEndTime,
        digestEndTime: forgedTime.toISOString().replace(/\.\d{3}Z$/, "Z"),
        previousDigestS3Object: digests[digests.length - 1],
        previousDigestSignature: newest.metadata.signature,
        logFiles: [],
      });
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: forgedKey,
          Body: gzipSync(JSON.stringify(digest)),
          // The forger has no private key: it reuses a signature it saw.
          Metadata: newest.metadata,
        }),
      );
      try {
        const r = await validate();
        assert.equal(r.status, 1, r.stdout);
        assert.ok(r.stderr.includes(`Digest file\ts3://${bucket}/${forgedKey}\tINVALID: signature verification failed`), r.stderr);
        assert.match(r.stdout, /3\/4 digest files valid, 1\/4 digest files INVALID/);
      } finally {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: forgedKey }));
      }
    });

    it("an inserted log file is not listed by any digest: validate-logs does not read it, as on AWS", async (t) => {
      if (!requireTool(t, "aws", "awscli")) return;
      const [first] = await keys(`AWSLogs/${ACCOUNT_ID}/CloudTrail/${REGION}/`);
      const inserted = first!.replace(/_[A-Za-z0-9]{16}\.json\.gz$/, "_INSERTEDBYHAND00.json.gz");
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: inserted, Body: gzipSync('{"Records":[]}') }));
      try {
        const r = await validate();
        assert.equal(r.status, 0, r.stderr);
        assert.ok(!r.stdout.includes(inserted), r.stdout);
        assert.match(r.stdout, /3\/3 digest files valid/);
      } finally {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: inserted }));
      }
    });

    /** The eventName and requestParameters.aliasName of every record in the delivered log files. */
    async function deliveredRecords(files: string[]): Promise<{ eventName: string; alias?: string }[]> {
      const out: { eventName: string; alias?: string }[] = [];
      for (const file of files) {
        const log = JSON.parse(gunzipSync((await fetch(file.slice(`s3://${bucket}/`.length))).body).toString("utf8")) as {
          Records: { eventName: string; requestParameters?: { aliasName?: string } | null }[];
        };
        for (const r of log.Records) out.push({ eventName: r.eventName, alias: r.requestParameters?.aliasName });
      }
      return out;
    }

    it("a restart neither repeats nor skips a record: the delivery cursor and digest chain are kept in the trail", async (t) => {
      const kms = server.client();
      await kms.send(new CreateAliasCommand({ AliasName: "alias/before-restart", TargetKeyId: kmsKeyArn }));
      clock.advance(2_000);
      const first = await deliveredRecords((await server.keyhold.trails.tick()).logFiles);
      assert.deepEqual(
        first.filter((r) => r.alias !== undefined).map((r) => r.alias),
        ["alias/before-restart"],
      );
      // Made after the last delivery and before the restart: delivered by the next process, once.
      await kms.send(new CreateAliasCommand({ AliasName: "alias/between", TargetKeyId: kmsKeyArn }));
      await server.keyhold.close();
      server = await startTestServer({ clock, dataDir });
      ct.destroy();
      s3.destroy();
      ct = cloudTrail(server.url);
      s3 = s3Client(server.url);
      clock.advance(2_000);
      const second = await deliveredRecords((await server.keyhold.trails.tick()).logFiles);
      assert.deepEqual(
        second.filter((r) => r.alias !== undefined).map((r) => r.alias),
        ["alias/between"],
      );
      assert.ok(!second.some((r) => r.eventName === "CreateTrail"));
      if (!requireTool(t, "aws", "awscli")) return;
      const r = await validate();
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /5\/5 digest files valid/);
    });

    it("a bucket policy that stops allowing CloudTrail stops delivery, reported in GetTrailStatus", async () => {
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: trailBucketPolicy(bucket, trailArnOf("someone-else")) }));
      await activityThenDelivery(1).then((report) => assert.equal(report.errors.length, 1));
      const status = await ct.send(new GetTrailStatusCommand({ Name: name }));
      assert.equal(status.LatestDeliveryError, "AccessDeniedException");
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: trailBucketPolicy(bucket, arn) }));
      const resumed = await activityThenDelivery(1);
      assert.deepEqual(resumed.errors, []);
      assert.equal((await ct.send(new GetTrailStatusCommand({ Name: name }))).LatestDeliveryError, undefined);
    });

    it("a multi-region trail keeps a digest chain per region; validate-logs --region checks each", async (t) => {
      const everywhere = trailArnOf("everywhere");
      await s3.send(new CreateBucketCommand({ Bucket: "trail-everywhere" }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: "trail-everywhere", Policy: trailBucketPolicy("trail-everywhere", everywhere) }));
      await ct.send(
        new CreateTrailCommand({
          Name: "everywhere",
          S3BucketName: "trail-everywhere",
          IsMultiRegionTrail: true,
          EnableLogFileValidation: true,
        }),
      );
      await ct.send(new StartLoggingCommand({ Name: "everywhere" }));
      const west = server.client("us-west-2");
      for (let round = 0; round < 2; round++) {
        await west.send(new CreateKeyCommand({ Description: `west ${round}` }));
        await server.client().send(new ListKeysCommand({}));
        clock.advance(2_000);
        const report = await server.keyhold.trails.tick();
        assert.deepEqual(report.errors, []);
        for (const region of [REGION, "us-west-2"]) {
          assert.ok(
            report.digestFiles.some((d) => d.startsWith(`s3://trail-everywhere/AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/${region}/`)),
            `a ${region} digest in ${report.digestFiles.join()}`,
          );
        }
      }
      const westLogs = await s3.send(
        new ListObjectsV2Command({ Bucket: "trail-everywhere", Prefix: `AWSLogs/${ACCOUNT_ID}/CloudTrail/us-west-2/` }),
      );
      const westRecords = JSON.parse(
        gunzipSync(
          await bytesOf((await s3.send(new GetObjectCommand({ Bucket: "trail-everywhere", Key: westLogs.Contents![0]!.Key! }))).Body),
        ).toString("utf8"),
      ) as { Records: { awsRegion: string }[] };
      assert.ok(westRecords.Records.every((r) => r.awsRegion === "us-west-2"));
      if (!requireTool(t, "aws", "awscli")) return;
      for (const region of [REGION, "us-west-2"]) {
        const r = await validate(everywhere, region);
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /2\/2 digest files valid/);
      }
    });

    it("a region with no log file for an hour still gets a digest, with no log files, chained to the last", async () => {
      // The validator's own calls in us-west-2 are events there: delivered first, then an hour of nothing.
      clock.advance(2_000);
      await server.keyhold.trails.tick();
      clock.advance(3_600_000);
      const report = await server.keyhold.trails.tick();
      assert.ok(!report.logFiles.some((f) => f.includes("/CloudTrail/us-west-2/")), report.logFiles.join());
      const west = report.digestFiles.filter((d) => d.includes("/CloudTrail-Digest/us-west-2/"));
      assert.equal(west.length, 1, report.digestFiles.join());
      // The server's clock is an hour ahead now: the client says so, as SigV4 needs.
      const ahead = s3Client(server.url, undefined, { systemClockOffset: clock.now() - Date.now() });
      try {
        const key = west[0]!.slice("s3://trail-everywhere/".length);
        const got = await ahead.send(new GetObjectCommand({ Bucket: "trail-everywhere", Key: key }));
        const digest = JSON.parse(gunzipSync(await bytesOf(got.Body)).toString("utf8")) as {
          logFiles: unknown[];
          previousDigestS3Object: string;
          newestEventTime: unknown;
        };
        assert.deepEqual(digest.logFiles, []);
        assert.equal(digest.newestEventTime, null);
        assert.match(digest.previousDigestS3Object, /CloudTrail-Digest\/us-west-2\//);
        assert.equal(got.Metadata?.["signature-algorithm"], "SHA256withRSA");
      } finally {
        ahead.destroy();
      }
    });
  });
});

/** keyhold's cap on an account's trails over all regions (docs/audit.md). */
const ACCOUNT_CAP = 50;

describe("CloudTrail trails: what a new trail reads, what a pass costs, how many an account may have", () => {
  let server: TestServer;
  let s3: S3Client;
  const clock = new ManualClock(Date.now());
  const bucket = "trail-limits";

  before(async () => {
    server = await startTestServer({ clock });
    s3 = s3Client(server.url);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // Any trail of the account may write here: the trails of these tests have many names and regions.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "cloudtrail.amazonaws.com" },
              Action: ["s3:GetBucketAcl", "s3:PutObject"],
              Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
            },
          ],
        }),
      }),
    );
  });
  after(async () => {
    s3.destroy();
    await server.stop();
  });

  async function eventNames(files: string[]): Promise<string[]> {
    const names: string[] = [];
    for (const file of files) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: file.slice(`s3://${bucket}/`.length) }));
      const log = JSON.parse(gunzipSync(await bytesOf(got.Body)).toString("utf8")) as { Records: { eventName: string }[] };
      names.push(...log.Records.map((r) => r.eventName));
    }
    return names;
  }

  it("a trail delivers the events from when it starts logging: none of the history, none while it was stopped", async () => {
    const ct = cloudTrail(server.url);
    const kms = server.client();
    try {
      // All in one second of the server's clock, as events a moment before StartLogging are.
      for (let i = 0; i < 5; i++) await kms.send(new ListAliasesCommand({}));
      await ct.send(new CreateTrailCommand({ Name: "from-now", S3BucketName: bucket }));
      await ct.send(new StartLoggingCommand({ Name: "from-now" }));
      for (let i = 0; i < 3; i++) await kms.send(new ListKeysCommand({}));
      const first = await server.keyhold.trails.tick();
      await ct.send(new StopLoggingCommand({ Name: "from-now" }));
      for (let i = 0; i < 4; i++) await kms.send(new DescribeKeyCommand({ KeyId: "alias/none" })).catch(() => undefined);
      await ct.send(new StartLoggingCommand({ Name: "from-now" }));
      await kms.send(new ListKeysCommand({}));
      clock.advance(2_000);
      const report = await server.keyhold.trails.tick();
      assert.deepEqual([...first.errors, ...report.errors], []);
      const names = await eventNames([...first.logFiles, ...report.logFiles]);
      assert.equal(names.filter((n) => n === "ListAliases").length, 0, names.join());
      assert.equal(names.filter((n) => n === "DescribeKey").length, 0, names.join());
      assert.equal(names.filter((n) => n === "ListKeys").length, 4, names.join());
    } finally {
      await ct.send(new DeleteTrailCommand({ Name: "from-now" }));
      ct.destroy();
    }
  });

  it("a pass reads each audit chain once for all the trails, and an idle pass reads no record", async () => {
    const store = server.keyhold.audit.store;
    const chains = (await store.chains()).length;
    const original = store.records.bind(store);
    let reads = 0;
    let rows = 0;
    store.records = async function* (chain: string, from?: number) {
      reads++;
      for await (const row of original(chain, from)) {
        rows++;
        yield row;
      }
    };
    const clients = [REGION, "us-west-2"].map((region) => cloudTrail(server.url, region));
    try {
      for (const client of clients) {
        for (let i = 0; i < 5; i++) {
          await client.send(new CreateTrailCommand({ Name: `many-${i}`, S3BucketName: bucket }));
          await client.send(new StartLoggingCommand({ Name: `many-${i}` }));
        }
      }
      const kms = server.client();
      for (let i = 0; i < 20; i++) await kms.send(new ListKeysCommand({}));
      clock.advance(2_000);
      reads = 0;
      rows = 0;
      const report = await server.keyhold.trails.tick();
      assert.deepEqual(report.errors, []);
      // Each us-east-1 trail got its region's events (the 20 ListKeys, the StartLogging of later trails).
      assert.equal(report.logFiles.length, 10);
      assert.equal(reads, chains, "one read per chain, not one per trail");
      // From the first trail's start on: the later CreateTrail and StartLogging calls, the 20 ListKeys.
      assert.ok(rows < 50, `only the new records are read: ${rows}`);
      clock.advance(2_000);
      reads = 0;
      rows = 0;
      const idle = await server.keyhold.trails.tick();
      assert.deepEqual(idle.logFiles, []);
      assert.equal(reads, chains);
      assert.equal(rows, 0, "an idle pass hands no record over");
    } finally {
      store.records = original;
      for (const client of clients) {
        for (let i = 0; i < 5; i++) await client.send(new DeleteTrailCommand({ Name: `many-${i}` }));
        client.destroy();
      }
    }
  });

  it(`CreateTrail refuses an account's trail past ${ACCOUNT_CAP} over all regions, though each region has room`, async () => {
    const clients: CloudTrailClient[] = [];
    const made: { client: CloudTrailClient; name: string }[] = [];
    try {
      // Ten regions of five trails each: the per-region quota alone would allow 170 (34 regions).
      const regions = [...AWS_REGIONS].filter((r) => r !== "us-east-1" && r !== "us-west-2");
      for (let r = 0; made.length < ACCOUNT_CAP; r++) {
        const client = cloudTrail(server.url, regions[r]!);
        clients.push(client);
        for (let i = 0; i < 5 && made.length < ACCOUNT_CAP; i++) {
          await client.send(new CreateTrailCommand({ Name: `capped-${i}`, S3BucketName: bucket }));
          made.push({ client, name: `capped-${i}` });
        }
      }
      const fresh = cloudTrail(server.url, regions[ACCOUNT_CAP / 5]!);
      clients.push(fresh);
      const refused = await rejects(
        () => fresh.send(new CreateTrailCommand({ Name: "one-too-many", S3BucketName: bucket })),
        "MaximumNumberOfTrailsExceededException",
      );
      assert.equal(refused.$metadata?.httpStatusCode, 400);
      assert.match(refused.message, /50 trails/);
      await rejects(() => fresh.send(new GetTrailCommand({ Name: "one-too-many" })), "TrailNotFoundException");
      // Deleting one makes room again.
      await made[0]!.client.send(new DeleteTrailCommand({ Name: made[0]!.name }));
      made.shift();
      await fresh.send(new CreateTrailCommand({ Name: "one-too-many", S3BucketName: bucket }));
      made.push({ client: fresh, name: "one-too-many" });
    } finally {
      for (const { client, name } of made) await client.send(new DeleteTrailCommand({ Name: name }));
      for (const client of clients) client.destroy();
    }
  });
});

describe("CloudTrail trails delivering to another S3-compatible endpoint", () => {
  // The other endpoint is a second keyhold: its S3 is reached only over the wire, signed with the configured key.
  let remote: TestServer;
  let server: TestServer;
  const clock = new ManualClock(Date.now());
  before(async () => {
    remote = await startTestServer();
    server = await startTestServer({
      clock,
      config: { trailS3Endpoint: remote.url, trailS3AccessKeyId: ACCESS_KEY_ID, trailS3SecretAccessKey: SECRET_ACCESS_KEY },
    });
  });
  after(async () => {
    await server.stop();
    await remote.stop();
  });

  it("CreateTrail checks the bucket there; delivery signs its PUTs; validate-logs reading that endpoint finds every file valid", async (t) => {
    const ct = cloudTrail(server.url);
    const remoteS3 = s3Client(remote.url);
    try {
      await rejects(
        () => ct.send(new CreateTrailCommand({ Name: "offsite", S3BucketName: "offsite-trail" })),
        "S3BucketDoesNotExistException",
      );
      await remoteS3.send(new CreateBucketCommand({ Bucket: "offsite-trail" }));
      const arn = (await ct.send(new CreateTrailCommand({ Name: "offsite", S3BucketName: "offsite-trail", EnableLogFileValidation: true })))
        .TrailARN!;
      await ct.send(new StartLoggingCommand({ Name: "offsite" }));
      const startTime = new Date(clock.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      for (let i = 0; i < 2; i++) {
        await server.client().send(new ListKeysCommand({}));
        clock.advance(2_000);
        const report = await server.keyhold.trails.tick();
        assert.deepEqual(report.errors, []);
        assert.equal(report.logFiles.length, 1);
      }
      const digests = await remoteS3.send(
        new ListObjectsV2Command({ Bucket: "offsite-trail", Prefix: `AWSLogs/${ACCOUNT_ID}/CloudTrail-Digest/` }),
      );
      assert.equal(digests.KeyCount, 2);
      const first = await remoteS3.send(new HeadObjectCommand({ Bucket: "offsite-trail", Key: digests.Contents![0]!.Key! }));
      assert.equal(first.Metadata?.["signature-algorithm"], "SHA256withRSA");
      assert.match(first.Metadata?.signature ?? "", /^[0-9a-f]{512}$/);
      // Nothing went to keyhold's own S3.
      await rejects(() => s3Client(server.url).send(new ListObjectsV2Command({ Bucket: "offsite-trail" })), "NoSuchBucket");
      if (!requireTool(t, "aws", "awscli")) return;
      const args = [
        "cloudtrail",
        "validate-logs",
        "--endpoint-url",
        server.url,
        "--region",
        REGION,
        "--trail-arn",
        arn,
        "--start-time",
        startTime,
      ];
      const child = spawn("aws", args, { env: { ...awsEnv(), AWS_ENDPOINT_URL_S3: remote.url } });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
      const status = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
      assert.equal(status, 0, out);
      assert.match(out, /2\/2 digest files valid/);
      assert.match(out, /2\/2 log files valid/);
    } finally {
      ct.destroy();
      remoteS3.destroy();
    }
  });
});

describe("CloudTrail trails on two nodes sharing PostgreSQL", () => {
  const missing = postgresMissing();
  let pg: TestPostgres;
  let one: TestServer;
  let two: TestServer;
  const shared = tempDir("keyhold-trail-cluster-");
  before(async () => {
    if (missing) return;
    pg = await startPostgres();
    const config = { databaseUrl: pg.url, masterKeyFile: join(shared, "master.key") };
    mkdirSync(join(shared, "objects"));
    for (const node of ["one", "two"]) {
      mkdirSync(join(shared, node, "s3"), { recursive: true });
      symlinkSync(join(shared, "objects"), join(shared, node, "s3", "objects"));
    }
    one = await startTestServer({ config, dataDir: join(shared, "one") });
    two = await startTestServer({ config, dataDir: join(shared, "two") });
  });
  after(async () => {
    if (!missing) {
      await one.stop();
      await two.stop();
      pg.stop();
    }
    rmSync(shared, { recursive: true, force: true });
  });

  it("a trail made on one node is the other's too; one node delivers both nodes' events, once; validate-logs finds every file valid", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const ct = cloudTrail(one.url);
    const s3 = s3Client(two.url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "cluster-trail" }));
      await s3.send(
        new PutBucketPolicyCommand({ Bucket: "cluster-trail", Policy: trailBucketPolicy("cluster-trail", trailArnOf("cluster")) }),
      );
      const arn = (await ct.send(new CreateTrailCommand({ Name: "cluster", S3BucketName: "cluster-trail", EnableLogFileValidation: true })))
        .TrailARN!;
      const startTime = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      const fromTwo = cloudTrail(two.url);
      try {
        await fromTwo.send(new StartLoggingCommand({ Name: "cluster" }));
      } finally {
        fromTwo.destroy();
      }
      await one.client().send(
        new CreateAliasCommand({
          AliasName: "alias/on-one",
          TargetKeyId: (await one.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!,
        }),
      );
      await two.client().send(
        new CreateAliasCommand({
          AliasName: "alias/on-two",
          TargetKeyId: (await two.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!,
        }),
      );
      // Both nodes tick: only the scheduler's lease holder delivers.
      const reports = [await one.keyhold.trails.tick(), await two.keyhold.trails.tick()];
      assert.deepEqual(
        reports.map((r) => r.digestFiles.length),
        reports.map((r) => (r.logFiles.length > 0 ? 1 : 0)),
      );
      const delivered = reports.flatMap((r) => r.logFiles);
      assert.ok(delivered.length >= 1);
      assert.equal(reports.filter((r) => r.logFiles.length > 0).length, 1, "exactly one node delivered");
      const aliases: string[] = [];
      for (const file of delivered) {
        const got = await s3.send(new GetObjectCommand({ Bucket: "cluster-trail", Key: file.slice("s3://cluster-trail/".length) }));
        const log = JSON.parse(gunzipSync(await bytesOf(got.Body)).toString("utf8")) as {
          Records: { requestParameters?: { aliasName?: string } | null }[];
        };
        for (const r of log.Records) if (r.requestParameters?.aliasName) aliases.push(r.requestParameters.aliasName);
      }
      assert.deepEqual(aliases.sort(), ["alias/on-one", "alias/on-two"]);
      if (!requireTool(t, "aws", "awscli")) return;
      const args = [
        "cloudtrail",
        "validate-logs",
        "--endpoint-url",
        two.url,
        "--region",
        REGION,
        "--trail-arn",
        arn,
        "--start-time",
        startTime,
      ];
      const child = spawn("aws", args, { env: { ...awsEnv(), AWS_ENDPOINT_URL_S3: one.url } });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
      const status = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
      assert.equal(status, 0, out);
      assert.match(out, /1\/1 digest files valid/);
    } finally {
      ct.destroy();
      s3.destroy();
    }
  });
});
