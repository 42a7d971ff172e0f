/**
 * Findings of the adversarial review of issue 19's hardening: each test fails on the code before
 * its fix.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { CreateRoleCommand, CreatePolicyCommand, PutUserPolicyCommand, CreateUserCommand } from "@aws-sdk/client-iam";
import { gunzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand } from "@aws-sdk/client-s3";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { AWS_REGIONS } from "../src/regions.js";
import { call, send } from "./raw-requests.js";
import { bytesOf, s3Client } from "./s3.js";
import { iamClient } from "./iam.js";

/** A policy document of about `chars` characters without whitespace. */
function bigDocument(chars: number, trust: boolean): string {
  const statement = trust
    ? { Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "sts:AssumeRole", Condition: {} as object }
    : { Effect: "Allow", Action: "kms:Encrypt", Resource: "*", Condition: {} as object };
  statement.Condition = { StringEquals: { "aws:PrincipalTag/team": "x".repeat(chars) } };
  return JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
}

describe("review findings: IAM policy sizes", () => {
  let server: TestServer;
  const dataDir = tempDir();
  before(async () => {
    server = await startTestServer({ dataDir });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("CreateRole refuses a trust policy over IAM's 2,048-character quota (ACLSizePerRole) and takes one within it", async () => {
    const iam = iamClient(server.url);
    try {
      const error = await rejects(
        () => iam.send(new CreateRoleCommand({ RoleName: "big-trust", AssumeRolePolicyDocument: bigDocument(100_000, true) })),
        "LimitExceededException",
      );
      assert.match(error.message, /ACLSizePerRole: 2048/);
      assert.equal(error.$metadata?.httpStatusCode, 409);
      await rejects(
        () => iam.send(new CreateRoleCommand({ RoleName: "big-trust", AssumeRolePolicyDocument: bigDocument(2100, true) })),
        "LimitExceededException",
      );
      const made = await iam.send(new CreateRoleCommand({ RoleName: "small-trust", AssumeRolePolicyDocument: bigDocument(1800, true) }));
      assert.equal(made.Role?.RoleName, "small-trust");
    } finally {
      iam.destroy();
    }
  });

  it("an identity policy over its quota is LimitExceeded whatever else is wrong with it (refused before it is compiled)", async () => {
    const iam = iamClient(server.url);
    try {
      await iam.send(new CreateUserCommand({ UserName: "quota" }));
      // Over quota and malformed (a Principal in an identity policy): the quota answers, as it is checked first.
      const malformed = bigDocument(10_000, true);
      await rejects(() => iam.send(new CreatePolicyCommand({ PolicyName: "big", PolicyDocument: malformed })), "LimitExceededException");
      await rejects(
        () => iam.send(new PutUserPolicyCommand({ UserName: "quota", PolicyName: "big", PolicyDocument: malformed })),
        "LimitExceededException",
      );
    } finally {
      iam.destroy();
    }
  });
});

describe("review findings: what an unauthenticated caller puts into another account's trail", () => {
  let server: TestServer;
  const dataDir = tempDir();
  before(async () => {
    server = await startTestServer({ dataDir });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a request with a bad signature is recorded for the access key's account without the region text it claimed unless it is a region's", async () => {
    // Access key ids are not secret (they are in presigned URLs and logs). The claimed scope's region
    // went verbatim into the record's awsRegion, which a multi-region trail of that account makes
    // an object key path and a digest chain of its own, delivered hourly from then on.
    for (const odd of ["evil region " + "x".repeat(4000), "aa-" + "a".repeat(4000) + "-1", "zz-made-up-1"]) await claimRegion(odd);
    async function claimRegion(odd: string): Promise<void> {
      const body = JSON.stringify({});
      const headers: Record<string, string> = {
        host: new URL(server.url).host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "TrentService.ListKeys",
        "x-amz-date": new Date()
          .toISOString()
          .replace(/[-:]/g, "")
          .replace(/\.\d{3}/, ""),
        authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/${new Date().toISOString().slice(0, 10).replace(/-/g, "")}/${odd}/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
      };
      const answer = await send(server.url, headers, body);
      assert.equal(answer.status, 400);
    }
    const regions: unknown[] = [];
    for (const chain of await server.keyhold.audit.store.chains()) {
      for await (const row of server.keyhold.audit.store.records(chain)) {
        const r = JSON.parse(row.record) as { errorCode?: string; awsRegion?: unknown; recipientAccountId?: string };
        if (r.errorCode !== undefined && r.recipientAccountId === ACCOUNT_ID) regions.push(r.awsRegion);
      }
    }
    assert.ok(regions.length > 0, "the refused request is recorded");
    for (const region of regions)
      assert.ok(region === null || /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(String(region)), `awsRegion ${String(region).slice(0, 40)}`);
    for (const region of regions)
      assert.ok(region === null || String(region).length <= 32, `awsRegion of ${String(region).length} characters`);
    // A made-up name of a region's form would start a digest chain of its own in a multi-region trail.
    for (const region of regions) assert.ok(region === null || AWS_REGIONS.has(String(region)), `awsRegion ${String(region).slice(0, 40)}`);
  });
});

describe("review findings: a signed request's region", () => {
  let server: TestServer;
  const dataDir = tempDir();
  before(async () => {
    server = await startTestServer({ dataDir });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a credential scope naming a 4 KB region of a region's form is refused as an invalid region; a real one works", async () => {
    const long = "aa-" + "a".repeat(4000) + "-1";
    const refused = await call(server.url, "TrentService.ListKeys", "{}", { region: long });
    assert.equal(refused.status, 400);
    assert.equal(refused.json().__type, "InvalidSignatureException");
    assert.match(String(refused.json().message), /valid region/);
    const served = await call(server.url, "TrentService.ListKeys", "{}", { region: "ap-southeast-7" });
    assert.equal(served.status, 200);
  });
});

describe("review findings: the key policy AWS documents for CloudTrail", () => {
  let server: TestServer;
  const dataDir = tempDir();
  before(async () => {
    server = await startTestServer({ dataDir });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("names the trail by aws:SourceArn and kms:EncryptionContext:aws:cloudtrail:arn: that trail delivers SSE-KMS files, another trail is refused", async () => {
    // Without these keys in CloudTrail's KMS request, the documented (confused-deputy-safe) policy
    // refused every trail, and a user had to grant the service principal the key unconditionally.
    const region = "us-east-1";
    const arnOf = (name: string) => `arn:aws:cloudtrail:${region}:${ACCOUNT_ID}:trail/${name}`;
    const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
    const ct = new CloudTrailClient({ endpoint: server.url, region, credentials, maxAttempts: 1 });
    const kms = server.client();
    const s3 = s3Client(server.url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "documented-trail" }));
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: "documented-trail",
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "cloudtrail.amazonaws.com" },
                Action: ["s3:GetBucketAcl", "s3:PutObject"],
                Resource: ["arn:aws:s3:::documented-trail", `arn:aws:s3:::documented-trail/AWSLogs/${ACCOUNT_ID}/*`],
                Condition: { StringLike: { "aws:SourceArn": `arn:aws:cloudtrail:*:${ACCOUNT_ID}:trail/*` } },
              },
            ],
          }),
        }),
      );
      const key = await kms.send(
        new CreateKeyCommand({
          Policy: JSON.stringify({
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
                Condition: {
                  StringEquals: { "aws:SourceArn": arnOf("documented"), "aws:SourceAccount": ACCOUNT_ID },
                  StringLike: { "kms:EncryptionContext:aws:cloudtrail:arn": `arn:aws:cloudtrail:*:${ACCOUNT_ID}:trail/*` },
                },
              },
            ],
          }),
        }),
      );
      const keyArn = key.KeyMetadata!.Arn!;
      const made = await ct.send(new CreateTrailCommand({ Name: "documented", S3BucketName: "documented-trail", KmsKeyId: keyArn }));
      assert.equal(made.KmsKeyId, keyArn);
      await rejects(
        () => ct.send(new CreateTrailCommand({ Name: "another", S3BucketName: "documented-trail", KmsKeyId: keyArn })),
        "InsufficientEncryptionPolicyException",
      );
      await ct.send(new StartLoggingCommand({ Name: "documented" }));
      await kms.send(new ListKeysCommand({}));
      const report = await server.keyhold.trails.tick();
      assert.deepEqual(report.errors, []);
      const file = report.logFiles.find((f) => f.startsWith("s3://documented-trail/"));
      assert.ok(file, "a log file was delivered");
      const object = await s3.send(new GetObjectCommand({ Bucket: "documented-trail", Key: file.slice("s3://documented-trail/".length) }));
      assert.equal(object.ServerSideEncryption, "aws:kms");
      assert.equal(object.SSEKMSKeyId, keyArn);
      const records = JSON.parse(gunzipSync(await bytesOf(object.Body)).toString("utf8")) as { Records: { eventName: string }[] };
      assert.ok(records.Records.some((r) => r.eventName === "ListKeys"));
    } finally {
      ct.destroy();
      kms.destroy();
      s3.destroy();
    }
  });
});
