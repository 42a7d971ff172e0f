/**
 * Secrets Manager rotation through @aws-sdk/client-secrets-manager: an HTTP rotation service
 * (the four steps, calling back the API with the SDK, as AWS's templates do) with signed events,
 * the built-in PostgreSQL rotators against a throw-away PostgreSQL that checks passwords, the
 * built-in IAM access-key rotator, failures left on AWSPENDING and retried by the scheduler,
 * one node per rotation, and each refusal with AWS's error code.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { ManualClock, DAY_MS } from "../src/clock.js";
import { RETRY_MS } from "../src/secretsmanager/rotation/runner.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../src/secretsmanager/rotation/functions.js";
import { ACCOUNT_ID, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";

const REGION = "us-east-1";
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${name}`;
const TOKEN_1 = "11111111-aaaa-4aaa-8aaa-111111111111";

let clock: ManualClock;

type Sender = { send: SecretsManagerClient["send"]; destroy(): void };

/** A client that signs at keyhold's (moved) time. */
function smAs(url: string, credentials: Creds = ROOT_CREDS): Sender {
  const clients = new Map<number, SecretsManagerClient>();
  const current = () => {
    const offset = clock.now() - Date.now();
    const bucket = Math.round(offset / 60_000);
    let c = clients.get(bucket);
    if (!c) {
      c = new SecretsManagerClient({ endpoint: url, region: REGION, credentials, maxAttempts: 1, systemClockOffset: offset });
      clients.set(bucket, c);
    }
    return c;
  };
  return {
    send: ((command: Parameters<SecretsManagerClient["send"]>[0]) => current().send(command)) as SecretsManagerClient["send"],
    destroy: () => {
      for (const c of clients.values()) c.destroy();
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** What a receiver does to know keyhold sent the event: HMAC-SHA256 over `timestamp.body`, compared in constant time. */
function signatureValid(key: string, timestamp: string | undefined, body: string, header: string | undefined): boolean {
  if (timestamp === undefined || header === undefined || !header.startsWith("v1=")) return false;
  const expected = createHmac("sha256", Buffer.from(key, "base64url")).update(`${timestamp}.${body}`).digest();
  const given = Buffer.from(header.slice(3), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * An HTTP rotation service: AWS's rotation template for a password kept in `store`, behind the
 * ten-line wrapper the README speaks of. It verifies keyhold's signature and calls back the
 * Secrets Manager API with its own credentials.
 */
class RotationService {
  server!: Server;
  url = "";
  key = "";
  readonly events: Record<string, unknown>[] = [];
  readonly refused: number[] = [];
  /** The "database": the password the service's user has. */
  password = "";
  failTest = false;

  constructor(private readonly sm: Sender) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        if (!signatureValid(this.key, req.headers[TIMESTAMP_HEADER] as string, body, req.headers[SIGNATURE_HEADER] as string)) {
          this.refused.push(Date.now());
          res.writeHead(401).end();
          return;
        }
        const event = JSON.parse(body) as { SecretId: string; ClientRequestToken: string; Step: string };
        this.events.push(event);
        try {
          await this.step(event);
          res.writeHead(200).end("{}");
        } catch (error) {
          res.writeHead(500).end(String(error));
        }
      })();
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/rotate`;
  }

  private async step(e: { SecretId: string; ClientRequestToken: string; Step: string }): Promise<void> {
    const { SecretId, ClientRequestToken: token } = e;
    switch (e.Step) {
      case "createSecret": {
        await this.sm.send(new GetSecretValueCommand({ SecretId, VersionStage: "AWSCURRENT" }));
        try {
          await this.sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: "AWSPENDING" }));
          return;
        } catch (error) {
          if ((error as Error).name !== "ResourceNotFoundException") throw error;
        }
        const { RandomPassword } = await this.sm.send(new GetRandomPasswordCommand({ ExcludePunctuation: true }));
        await this.sm.send(
          new PutSecretValueCommand({ SecretId, ClientRequestToken: token, SecretString: RandomPassword, VersionStages: ["AWSPENDING"] }),
        );
        return;
      }
      case "setSecret": {
        const pending = await this.sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: "AWSPENDING" }));
        this.password = pending.SecretString!;
        return;
      }
      case "testSecret": {
        if (this.failTest) throw new Error("the new password does not work");
        const pending = await this.sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: "AWSPENDING" }));
        assert.equal(this.password, pending.SecretString);
        return;
      }
      case "finishSecret": {
        const described = await this.sm.send(new DescribeSecretCommand({ SecretId }));
        const current = Object.entries(described.VersionIdsToStages!).find(([, s]) => s.includes("AWSCURRENT"))![0];
        if (current === token) return;
        await this.sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId,
            VersionStage: "AWSCURRENT",
            MoveToVersionId: token,
            RemoveFromVersionId: current,
          }),
        );
        return;
      }
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("Secrets Manager rotation", () => {
  let server: TestServer;
  let sm: Sender;
  let service: RotationService;

  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    sm = smAs(server.url);
    service = new RotationService(sm);
    await service.start();
    service.key = await server.keyhold.secretsManager.rotation!.functions!.create(ACCOUNT_ID, "my-rotator", service.url, clock.now());
  });
  after(async () => {
    await service.stop();
    sm.destroy();
    await server.stop();
  });

  const stagesOf = async (id: string) => (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages ?? {};
  const value = async (id: string, stage = "AWSCURRENT") =>
    (await sm.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage }))).SecretString;

  it("an HTTP rotation service rotates end to end: signed Lambda events, AWSCURRENT moves, AWSPREVIOUS keeps the old value", async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: "svc/password", SecretString: "first-password" }));
    service.password = "first-password";
    const rotated = await sm.send(
      new RotateSecretCommand({
        SecretId: "svc/password",
        ClientRequestToken: TOKEN_1,
        RotationLambdaARN: fnArn("my-rotator"),
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    assert.equal(rotated.VersionId, TOKEN_1);
    assert.equal(rotated.ARN, created.ARN);
    // Exactly the event a Lambda gets, the four steps in order.
    assert.deepEqual(
      service.events.map((e) => Object.keys(e).sort().join(",")),
      Array(4).fill("ClientRequestToken,SecretId,Step"),
    );
    assert.deepEqual(
      service.events.map((e) => e.Step),
      ["createSecret", "setSecret", "testSecret", "finishSecret"],
    );
    assert.ok(service.events.every((e) => e.SecretId === created.ARN && e.ClientRequestToken === TOKEN_1));
    assert.equal(await value("svc/password"), service.password);
    assert.notEqual(service.password, "first-password");
    assert.equal(await value("svc/password", "AWSPREVIOUS"), "first-password");
    const stages = await stagesOf("svc/password");
    assert.deepEqual(stages[TOKEN_1]!.sort(), ["AWSCURRENT", "AWSPENDING"]);
    assert.deepEqual(stages[created.VersionId!], ["AWSPREVIOUS"]);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: "svc/password" }));
    assert.equal(described.RotationEnabled, true);
    assert.equal(described.RotationLambdaARN, fnArn("my-rotator"));
    assert.deepEqual(described.RotationRules, { AutomaticallyAfterDays: 30 });
    assert.ok(Math.abs(described.LastRotatedDate!.getTime() - clock.now()) < 1000);
    const midnight = Math.floor(clock.now() / DAY_MS) * DAY_MS;
    assert.equal(described.NextRotationDate!.getTime(), midnight + 30 * DAY_MS);
    // A retry of the same request starts nothing new.
    const again = await sm.send(new RotateSecretCommand({ SecretId: "svc/password", ClientRequestToken: TOKEN_1 }));
    assert.equal(again.VersionId, TOKEN_1);
    assert.equal(service.events.length, 4);
  });

  it("the receiver detects a request whose signature is not keyhold's", async () => {
    const body = JSON.stringify({ SecretId: "x", ClientRequestToken: TOKEN_1, Step: "createSecret" });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const good = createHmac("sha256", Buffer.from(service.key, "base64url")).update(`${timestamp}.${body}`).digest("hex");
    const forged = createHmac("sha256", Buffer.alloc(32, 7)).update(`${timestamp}.${body}`).digest("hex");
    const before = service.events.length;
    for (const [headers, payload] of [
      [{ [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${forged}` }, body],
      [{ [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${good}` }, body.replace("createSecret", "finishSecret")],
      [{ [TIMESTAMP_HEADER]: String(Number(timestamp) + 1), [SIGNATURE_HEADER]: `v1=${good}` }, body],
      [{ [TIMESTAMP_HEADER]: timestamp }, body],
    ] as const) {
      const res = await fetch(service.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: payload });
      assert.equal(res.status, 401);
    }
    assert.equal(service.events.length, before);
    // The genuine signature passes the same check.
    assert.equal(signatureValid(service.key, timestamp, body, `v1=${good}`), true);
  });

  it("a failing testSecret leaves AWSCURRENT as it was and AWSPENDING on the new version; RotationFailed is in the trail; the scheduler retries", async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: "svc/failing", SecretString: "keep-me" }));
    service.password = "keep-me";
    service.failTest = true;
    const token = "22222222-bbbb-4bbb-8bbb-222222222222";
    const events = service.events.length;
    await sm.send(
      new RotateSecretCommand({
        SecretId: "svc/failing",
        ClientRequestToken: token,
        RotationLambdaARN: fnArn("my-rotator"),
        RotationRules: { ScheduleExpression: "rate(10 days)" },
      }),
    );
    assert.deepEqual(
      service.events.slice(events).map((e) => e.Step),
      ["createSecret", "setSecret", "testSecret"],
    );
    assert.equal(await value("svc/failing"), "keep-me");
    const stages = await stagesOf("svc/failing");
    assert.deepEqual(stages[created.VersionId!], ["AWSCURRENT"]);
    assert.deepEqual(stages[token], ["AWSPENDING"]);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: "svc/failing" }));
    assert.equal(described.LastRotatedDate, undefined);
    assert.equal(described.RotationEnabled, true);
    // A rotation in progress refuses another, as AWS does.
    const busy = await rejects(() => sm.send(new RotateSecretCommand({ SecretId: "svc/failing" })), "InvalidRequestException");
    assert.match(busy.message, /previous rotation isn't complete/);

    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: REGION,
      credentials: ROOT_CREDS,
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    });
    try {
      const records = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "RotationFailed" }] }))
      ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!));
      const failed = records.find((r) => r.resources?.[0]?.ARN === created.ARN);
      assert.ok(failed, "RotationFailed event for the secret");
      assert.equal(failed.eventType, "AwsServiceEvent");
      assert.equal(failed.eventSource, "secretsmanager.amazonaws.com");
      assert.equal(failed.serviceEventDetails.step, "testSecret");
      const raw = JSON.stringify(records);
      assert.ok(!raw.includes(token) && !raw.includes("keep-me") && !raw.includes(service.password));
    } finally {
      trail.destroy();
    }

    // Not before its retry time; then with the same version id, and it completes.
    service.failTest = false;
    await server.keyhold.secretsScheduler.tick();
    assert.deepEqual((await stagesOf("svc/failing"))[token], ["AWSPENDING"]);
    clock.advance(RETRY_MS + 1000);
    await server.keyhold.secretsScheduler.tick();
    const after = await stagesOf("svc/failing");
    assert.deepEqual(after[token]!.sort(), ["AWSCURRENT", "AWSPENDING"]);
    assert.deepEqual(after[created.VersionId!], ["AWSPREVIOUS"]);
    assert.equal(await value("svc/failing"), service.password);
    assert.ok(server.logs.every((l) => !l.includes(service.password) && !l.includes("keep-me")));
  });

  it("the scheduler rotates when the schedule comes, on exactly one claimant", async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: "svc/scheduled", SecretString: "scheduled-0" }));
    const mine = () => service.events.filter((e) => e.SecretId === created.ARN).length;
    service.password = "scheduled-0";
    const rotated = await sm.send(
      new RotateSecretCommand({
        SecretId: "svc/scheduled",
        RotationLambdaARN: fnArn("my-rotator"),
        RotationRules: { ScheduleExpression: "cron(0 3 ? * MON *)" },
        RotateImmediately: false,
      }),
    );
    assert.equal(rotated.VersionId, undefined);
    assert.equal(mine(), 0);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: "svc/scheduled" }));
    const next = described.NextRotationDate!;
    assert.equal(next.getUTCDay(), 1);
    assert.equal(next.getUTCHours(), 3);
    assert.equal(next.getUTCMinutes(), 0);
    assert.ok(next.getTime() > clock.now() && next.getTime() <= clock.now() + 7 * DAY_MS);
    // Two nodes read the secret at once: the first claim wins, the second is refused by the revision.
    const smService = server.keyhold.secretsManager;
    const a = (await smService.load(ACCOUNT_ID, REGION, "svc/scheduled"))!;
    const b = (await smService.load(ACCOUNT_ID, REGION, "svc/scheduled"))!;
    const token = "33333333-cccc-4ccc-8ccc-333333333333";
    assert.equal(await smService.rotation!.claim(a, token, a.body.rotation!), true);
    assert.equal(await smService.rotation!.claim(b, token, b.body.rotation!), false);
    // While the claim is held, a scheduler pass (another node's) does not run it behind the claimant's back.
    await server.keyhold.secretsScheduler.tick();
    assert.equal(mine(), 0);
    await smService.rotation!.run(a, token);
    assert.equal(mine(), 4);
    assert.equal(await value("svc/scheduled"), service.password);
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: "svc/scheduled" }))).NextRotationDate!.getTime(), next.getTime());
    // Before its time nothing happens; when the date comes, the scheduler itself rotates it.
    await server.keyhold.secretsScheduler.tick();
    assert.equal(mine(), 4);
    clock.set(next.getTime() + 60_000);
    await server.keyhold.secretsScheduler.tick();
    assert.equal(mine(), 8);
    assert.equal(await value("svc/scheduled"), service.password);
    const after = await sm.send(new DescribeSecretCommand({ SecretId: "svc/scheduled" }));
    assert.equal(after.NextRotationDate!.getTime(), next.getTime() + 7 * DAY_MS);
  });

  it("CancelRotateSecret turns rotation off", async () => {
    await sm.send(new CreateSecretCommand({ Name: "svc/cancel", SecretString: "c0" }));
    await sm.send(
      new RotateSecretCommand({
        SecretId: "svc/cancel",
        RotationLambdaARN: fnArn("my-rotator"),
        RotationRules: { AutomaticallyAfterDays: 1 },
        RotateImmediately: false,
      }),
    );
    const cancelled = await sm.send(new CancelRotateSecretCommand({ SecretId: "svc/cancel" }));
    const mine = () => service.events.filter((e) => e.SecretId === cancelled.ARN).length;
    assert.match(cancelled.ARN!, /svc\/cancel/);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: "svc/cancel" }));
    assert.equal(described.RotationEnabled, false);
    assert.equal(described.NextRotationDate, undefined);
    clock.advance(3 * DAY_MS);
    await server.keyhold.secretsScheduler.tick();
    assert.equal(mine(), 0);
    assert.equal(await value("svc/cancel"), "c0");
  });

  it("refuses what AWS refuses: unknown function, malformed ARN, bad schedules, a secret pending deletion", async () => {
    await sm.send(new CreateSecretCommand({ Name: "svc/refusals", SecretString: "r0" }));
    const rotate = (input: Partial<ConstructorParameters<typeof RotateSecretCommand>[0]>) =>
      sm.send(new RotateSecretCommand({ SecretId: "svc/refusals", RotationLambdaARN: fnArn("my-rotator"), ...input }));
    let e = await rejects(() => rotate({ RotationLambdaARN: fnArn("nobody") }), "InvalidRequestException");
    assert.match(e.message, /cannot invoke the specified Lambda function/);
    e = await rejects(() => rotate({ RotationLambdaARN: "arn:aws:lambda:us-east-1:111122223333:nope" }), "InvalidParameterException");
    assert.match(e.message, /Lambda function ARN/);
    await rejects(
      () => rotate({ RotationLambdaARN: `arn:aws:lambda:eu-west-1:${ACCOUNT_ID}:function:my-rotator` }),
      "InvalidRequestException",
    );
    for (const ScheduleExpression of [
      "rate(2 hours)",
      "rate(0 days)",
      "rate(5 weeks)",
      "cron(0 3 * * * *)",
      "cron(0 3 ? * MON)",
      "cron(0 1,2 * * ? *)",
      "cron(0 3 32 * ? *)",
    ]) {
      e = await rejects(() => rotate({ RotationRules: { ScheduleExpression } }), "InvalidParameterException");
    }
    await rejects(
      () => rotate({ RotationRules: { AutomaticallyAfterDays: 3, ScheduleExpression: "rate(3 days)" } }),
      "InvalidParameterException",
    );
    await rejects(() => rotate({ RotationRules: { ScheduleExpression: "rate(6 hours)", Duration: "7h" } }), "InvalidParameterException");
    await rejects(() => rotate({ RotationRules: { ScheduleExpression: "rate(1 day)", Duration: "25h" } }), "InvalidParameterException");
    // Outside the model's bounds and patterns (AutomaticallyRotateAfterDaysType 1–1000, ScheduleExpressionType's
    // pattern, DurationType [0-9]+h): refused at the edge with ValidationException, as AWS's constraint checks do.
    for (const RotationRules of [{ AutomaticallyAfterDays: 1001 }, { ScheduleExpression: "rate(1 day);" }, { Duration: "3d" }]) {
      const err = await rejects(() => rotate({ RotationRules }), "ValidationException");
      assert.equal(err.$metadata?.httpStatusCode, 400);
    }
    // A secret scheduled for deletion is not rotated.
    await sm.send(new CreateSecretCommand({ Name: "svc/deleted", SecretString: "d0" }));
    await sm.send(new DeleteSecretCommand({ SecretId: "svc/deleted", RecoveryWindowInDays: 7 }));
    e = await rejects(
      () => sm.send(new RotateSecretCommand({ SecretId: "svc/deleted", RotationLambdaARN: fnArn("my-rotator") })),
      "InvalidRequestException",
    );
    assert.match(e.message, /marked for deletion/);
    // Nothing of the refused calls was stored.
    const described = await sm.send(new DescribeSecretCommand({ SecretId: "svc/refusals" }));
    assert.equal(described.RotationEnabled, false);
    assert.equal(described.RotationLambdaARN, undefined);
    assert.equal((await sm.send(new ListSecretVersionIdsCommand({ SecretId: "svc/refusals" }))).Versions!.length, 1);
  });

  it("IAM access keys: the new key works, the old one is deactivated, deleted and refused", async () => {
    const iam = iamClient(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    try {
      await iam.send(new CreateUserCommand({ UserName: "app-user" }));
      await iam.send(
        new PutUserPolicyCommand({
          UserName: "app-user",
          PolicyName: "self",
          PolicyDocument: policy({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }),
        }),
      );
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "app-user" }));
      const oldCreds = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
      const asUser = (c: Creds) =>
        new IAMClient({
          endpoint: server.url,
          region: REGION,
          credentials: c,
          maxAttempts: 1,
          systemClockOffset: clock.now() - Date.now(),
        });
      const before = asUser(oldCreds);
      assert.equal((await before.send(new GetUserCommand({}))).User!.UserName, "app-user");
      before.destroy();
      await sm.send(
        new CreateSecretCommand({
          Name: "iam/app-user",
          SecretString: JSON.stringify({
            UserName: "app-user",
            AccessKeyId: oldCreds.accessKeyId,
            SecretAccessKey: oldCreds.secretAccessKey,
          }),
        }),
      );
      await sm.send(new RotateSecretCommand({ SecretId: "iam/app-user", RotationLambdaARN: fnArn("keyhold-rotation-iam-access-key") }));
      const current = JSON.parse((await value("iam/app-user"))!) as { UserName: string; AccessKeyId: string; SecretAccessKey: string };
      assert.notEqual(current.AccessKeyId, oldCreds.accessKeyId);
      assert.equal(JSON.parse((await value("iam/app-user", "AWSPREVIOUS"))!).AccessKeyId, oldCreds.accessKeyId);
      const fresh = asUser({ accessKeyId: current.AccessKeyId, secretAccessKey: current.SecretAccessKey });
      assert.equal((await fresh.send(new GetUserCommand({}))).User!.UserName, "app-user");
      fresh.destroy();
      const stale = asUser(oldCreds);
      await rejects(() => stale.send(new GetUserCommand({})), "InvalidClientTokenId");
      stale.destroy();

      // A secret naming another user's key id without that key's secret is not rotated: no key is made for that user.
      await iam.send(new CreateUserCommand({ UserName: "admin-user" }));
      const admin = (await iam.send(new CreateAccessKeyCommand({ UserName: "admin-user" }))).AccessKey!;
      const forged = await sm.send(
        new CreateSecretCommand({
          Name: "iam/forged",
          SecretString: JSON.stringify({ UserName: "admin-user", AccessKeyId: admin.AccessKeyId, SecretAccessKey: "guessed" }),
        }),
      );
      await sm.send(new RotateSecretCommand({ SecretId: "iam/forged", RotationLambdaARN: fnArn("keyhold-rotation-iam-access-key") }));
      assert.equal((await iam.send(new ListAccessKeysCommand({ UserName: "admin-user" }))).AccessKeyMetadata!.length, 1);
      const stages = (await sm.send(new DescribeSecretCommand({ SecretId: "iam/forged" }))).VersionIdsToStages!;
      assert.deepEqual(Object.keys(stages), [forged.VersionId]);
      assert.ok(
        server.logs.some((l) => /iam\/forged.* failed at createSecret: The current value's SecretAccessKey is not the secret/.test(l)),
      );
    } finally {
      iam.destroy();
    }
  });

  it("keyhold rotation-function create | list | delete registers functions per account, the key shown once", async () => {
    const dir = tempDir();
    const main = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
    const env = { ...process.env, KEYHOLD_DATA_DIR: dir, KEYHOLD_ACCOUNT_ID: ACCOUNT_ID };
    const run = (...args: string[]) => spawnSync(process.execPath, [main, "rotation-function", ...args], { encoding: "utf8", env });
    const uninitialized = run("list");
    assert.notEqual(uninitialized.status, 0);
    assert.match(uninitialized.stderr, /not initialized/);
    await (await startTestServer({ dataDir: dir })).stop();
    const created = run("create", "--name", "pg-rotator", "--url", "http://127.0.0.1:9/rotate");
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`RotationLambdaARN: arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:pg-rotator`));
    const key = /^  ([A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    const listed = run("list");
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^pg-rotator  http:\/\/127\.0\.0\.1:9\/rotate  created /m);
    assert.ok(!listed.stdout.includes(key), "the key is shown at creation only");
    for (const args of [
      ["create", "--name", "pg-rotator", "--url", "http://127.0.0.1:9/x"],
      ["create", "--name", "keyhold-mine", "--url", "http://127.0.0.1:9/x"],
      ["create", "--name", "bad name", "--url", "http://127.0.0.1:9/x"],
      ["create", "--name", "ftp", "--url", "ftp://127.0.0.1/x"],
      ["create", "--name", "x", "--url", "http://127.0.0.1:9/", "--account-id", "999999999999"],
    ]) {
      const r = run(...args);
      assert.notEqual(r.status, 0, args.join(" "));
      assert.ok(r.stderr.length > 0 && !r.stderr.includes("    at "), r.stderr);
    }
    // The server sees the registered function: RotateSecret accepts its ARN (the service is unreachable, so the rotation fails and waits).
    const again = await startTestServer({ dataDir: dir });
    const client = new SecretsManagerClient({ endpoint: again.url, region: REGION, credentials: ROOT_CREDS, maxAttempts: 1 });
    try {
      await client.send(new CreateSecretCommand({ Name: "uses-cli-function", SecretString: "v0" }));
      await client.send(new RotateSecretCommand({ SecretId: "uses-cli-function", RotationLambdaARN: fnArn("pg-rotator") }));
      const stages = (await client.send(new DescribeSecretCommand({ SecretId: "uses-cli-function" }))).VersionIdsToStages!;
      assert.equal(Object.keys(stages).length, 1, "createSecret failed: no new version");
      assert.ok(again.logs.some((l) => /rotation of .* failed at createSecret: rotation function pg-rotator could not be reached/.test(l)));
    } finally {
      client.destroy();
      await again.stop();
    }
    const deleted = run("delete", "--name", "pg-rotator");
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.equal(run("list").stdout, "");
    assert.notEqual(run("delete", "--name", "pg-rotator").status, 0);
  });
});

describe("Secrets Manager rotation of PostgreSQL passwords (built-in rotators)", () => {
  const missing = postgresMissing();
  let postgres: TestPostgres | undefined;
  let server: TestServer;
  let sm: Sender;
  let admin: pg.Client;
  const SUPER = "super-secret-pw";

  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    sm = smAs(server.url);
    if (missing) return;
    postgres = await startPostgres({ password: SUPER });
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    postgres?.stop();
    sm.destroy();
    await server.stop();
  });

  const login = async (user: string, password: string): Promise<boolean> => {
    const c = new pg.Client({ host: "127.0.0.1", port: postgres!.port, user, password, database: "postgres" });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => {});
    }
  };
  const rds = (username: string, password: string, extra: object = {}) =>
    JSON.stringify({ engine: "postgres", host: "127.0.0.1", port: postgres!.port, username, password, dbname: "postgres", ...extra });
  const current = async (id: string, stage = "AWSCURRENT") =>
    JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage }))).SecretString!) as {
      username: string;
      password: string;
    };

  it("single user: the application logs in with the new password, the old one is refused, AWSPREVIOUS holds it", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    // A username that is SQL if pasted: quoted as an identifier, it is only a name.
    const user = `app"; DROP ROLE keyhold; --`;
    await admin.query(`CREATE ROLE ${admin.escapeIdentifier(user)} WITH LOGIN PASSWORD 'old-password'`);
    assert.equal(await login(user, "old-password"), true);
    assert.equal(await login(user, "wrong"), false);
    await sm.send(new CreateSecretCommand({ Name: "db/app", SecretString: rds(user, "old-password") }));
    await sm.send(new RotateSecretCommand({ SecretId: "db/app", RotationLambdaARN: fnArn("keyhold-rotation-postgresql-single-user") }));
    const now = await current("db/app");
    assert.equal(now.username, user);
    assert.notEqual(now.password, "old-password");
    assert.equal(await login(user, now.password), true);
    assert.equal(await login(user, "old-password"), false);
    assert.equal((await current("db/app", "AWSPREVIOUS")).password, "old-password");
    assert.equal((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'keyhold'")).rowCount, 1);
    assert.ok(server.logs.every((l) => !l.includes(now.password)));
  });

  it("single user: a role that cannot log in fails the rotation; the database and AWSCURRENT stay as they were", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    await admin.query(`CREATE ROLE locked WITH NOLOGIN PASSWORD 'locked-password'`);
    const hash = async () =>
      (await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'locked'")).rows[0].rolpassword as string;
    const before = await hash();
    const created = await sm.send(new CreateSecretCommand({ Name: "db/locked", SecretString: rds("locked", "locked-password") }));
    await sm.send(new RotateSecretCommand({ SecretId: "db/locked", RotationLambdaARN: fnArn("keyhold-rotation-postgresql-single-user") }));
    assert.equal(await hash(), before);
    assert.equal((await current("db/locked")).password, "locked-password");
    const stages = (await sm.send(new DescribeSecretCommand({ SecretId: "db/locked" }))).VersionIdsToStages!;
    assert.deepEqual(stages[created.VersionId!], ["AWSCURRENT"]);
    assert.equal(Object.values(stages).filter((s) => s.includes("AWSPENDING") && !s.includes("AWSCURRENT")).length, 1);
  });

  it("alternating users: the _clone user is made by the master and takes over; the original keeps working until the next rotation", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    await admin.query(`CREATE ROLE alt WITH LOGIN PASSWORD 'alt-password'`);
    const master = await sm.send(new CreateSecretCommand({ Name: "db/master", SecretString: rds("keyhold", SUPER) }));
    await sm.send(new CreateSecretCommand({ Name: "db/alt", SecretString: rds("alt", "alt-password", { masterarn: master.ARN }) }));
    const lambda = fnArn("keyhold-rotation-postgresql-multi-user");
    await sm.send(new RotateSecretCommand({ SecretId: "db/alt", RotationLambdaARN: lambda }));
    const first = await current("db/alt");
    assert.equal(first.username, "alt_clone");
    assert.equal(await login("alt_clone", first.password), true);
    assert.equal(await login("alt", "alt-password"), true);
    const member = await admin.query(
      "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'alt' AND u.rolname = 'alt_clone'",
    );
    assert.equal(member.rowCount, 1);
    await sm.send(new RotateSecretCommand({ SecretId: "db/alt" }));
    const second = await current("db/alt");
    assert.equal(second.username, "alt");
    assert.notEqual(second.password, "alt-password");
    assert.equal(await login("alt", second.password), true);
    assert.equal(await login("alt", "alt-password"), false);
    assert.equal(await login("alt_clone", first.password), true);
    assert.equal((await current("db/alt", "AWSPREVIOUS")).username, "alt_clone");
  });

  it("alternating users: the master is the one the caller of RotateSecret may read; another written into the value is refused", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const alt = await sm.send(new DescribeSecretCommand({ SecretId: "db/alt" }));
    const iam = iamClient(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    const creds = await makeUser(iam, "alt-rotator", {
      p: policy({ Effect: "Allow", Action: ["secretsmanager:RotateSecret", "secretsmanager:GetSecretValue"], Resource: alt.ARN }),
    });
    iam.destroy();
    const asRotator = smAs(server.url, creds);
    try {
      await rejects(() => asRotator.send(new RotateSecretCommand({ SecretId: "db/alt" })), "AccessDeniedException");
    } finally {
      asRotator.destroy();
    }
    // Someone who may only write the value points masterarn at another secret: the rotator refuses it.
    const other = await sm.send(new CreateSecretCommand({ Name: "db/other-master", SecretString: rds("keyhold", SUPER) }));
    const now = await current("db/alt");
    await sm.send(new PutSecretValueCommand({ SecretId: "db/alt", SecretString: JSON.stringify({ ...now, masterarn: other.ARN }) }));
    const runner = server.keyhold.secretsManager.rotation!;
    const secret = (await server.keyhold.secretsManager.load(ACCOUNT_ID, REGION, "db/alt"))!;
    const token = "44444444-dddd-4ddd-8ddd-444444444444";
    assert.equal(await runner.claim(secret, token, secret.body.rotation!), true);
    const outcome = await runner.run(secret, token);
    assert.equal(outcome.succeeded, false);
    assert.match(outcome.failure!, /masterarn is not the master secret RotateSecret was called with/);
  });

  it("the secret can only name a rotation through a valid built-in name", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    await rejects(
      () => sm.send(new RotateSecretCommand({ SecretId: "db/app", RotationLambdaARN: fnArn("keyhold-rotation-mysql-single-user") })),
      "InvalidRequestException",
    );
  });
});
