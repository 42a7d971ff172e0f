/** Secrets Manager through @aws-sdk/client-secrets-manager: every served operation and its refusals. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
  ValidateResourcePolicyCommand,
  ReplicateSecretToRegionsCommand,
  type GetRandomPasswordCommandInput,
  type ListSecretsCommandInput,
} from "@aws-sdk/client-secrets-manager";
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";

const ARN_PATTERN = new RegExp(`^arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:([A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$`);
const TOKEN_A = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
const TOKEN_B = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";

/** The tests move keyhold's clock by days; clients sign at keyhold's time, as a client with a synchronized clock would. */
let clock: ManualClock;

type Sender = { send: SecretsManagerClient["send"]; destroy(): void };

/** A Secrets Manager client that signs at the injected clock's time, however far it has moved. */
function smAs(url: string, credentials: Creds = ROOT_CREDS): Sender {
  const clients = new Map<number, SecretsManagerClient>();
  const current = () => {
    const offset = clock.now() - Date.now();
    const bucket = Math.round(offset / 60_000);
    let c = clients.get(bucket);
    if (!c) {
      c = new SecretsManagerClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1, systemClockOffset: offset });
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

/** Every file under a directory, recursively. */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else out.push(path);
  }
  return out;
}

describe("Secrets Manager", () => {
  let server: TestServer;
  let sm: Sender;
  let kms: KMSClient;

  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    sm = smAs(server.url);
    const kmsClients = new Map<number, KMSClient>();
    // KMS, IAM and CloudTrail calls come after the clock has moved: each signs at keyhold's time.
    kms = {
      send: (command: never) => {
        const offset = clock.now() - Date.now();
        const bucket = Math.round(offset / 60_000);
        if (!kmsClients.has(bucket)) kmsClients.set(bucket, server.client("us-east-1", { systemClockOffset: offset }));
        return kmsClients.get(bucket)!.send(command);
      },
    } as unknown as KMSClient;
  });
  after(async () => {
    sm.destroy();
    await server.stop();
  });

  const stagesOf = async (id: string) => (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages ?? {};

  it("CreateSecret makes an ARN with a random suffix, a first AWSCURRENT version, and refuses a taken name", async () => {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: "app/db",
        SecretString: '{"user":"app","password":"p1"}',
        Description: "Database",
        ClientRequestToken: TOKEN_A,
      }),
    );
    assert.match(created.ARN!, ARN_PATTERN);
    assert.equal(ARN_PATTERN.exec(created.ARN!)![1], "app/db");
    assert.equal(created.Name, "app/db");
    assert.equal(created.VersionId, TOKEN_A);

    // A retry with the same token and value succeeds (the SDK's idempotency); another value under it does not.
    const again = await sm.send(
      new CreateSecretCommand({ Name: "app/db", SecretString: '{"user":"app","password":"p1"}', ClientRequestToken: TOKEN_A }),
    );
    assert.equal(again.ARN, created.ARN);
    assert.equal(again.VersionId, TOKEN_A);
    await rejects(
      () => sm.send(new CreateSecretCommand({ Name: "app/db", SecretString: "other", ClientRequestToken: TOKEN_A })),
      "ResourceExistsException",
    );
    await rejects(() => sm.send(new CreateSecretCommand({ Name: "app/db", SecretString: "x" })), "ResourceExistsException");
    await rejects(() => sm.send(new CreateSecretCommand({ Name: "bad name!" })), "InvalidParameterException");
    await rejects(
      () => sm.send(new CreateSecretCommand({ Name: "both", SecretString: "a", SecretBinary: Buffer.from("b") })),
      "InvalidParameterException",
    );
    await rejects(() => sm.send(new CreateSecretCommand({ Name: "big", SecretString: "é".repeat(40000) })), "InvalidParameterException");
    await rejects(() => sm.send(new CreateSecretCommand({ Name: "x".repeat(513) })), "ValidationException");

    const described = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    assert.equal(described.Name, "app/db");
    assert.equal(described.Description, "Database");
    assert.equal(described.KmsKeyId, undefined);
    assert.equal(described.RotationEnabled, false);
    assert.deepEqual(described.VersionIdsToStages, { [TOKEN_A]: ["AWSCURRENT"] });
    assert.equal(described.CreatedDate!.getTime(), clock.now());

    // A secret without a value has no version until one is put.
    const empty = await sm.send(new CreateSecretCommand({ Name: "empty" }));
    assert.equal(empty.VersionId, undefined);
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: "empty" })), "ResourceNotFoundException");
    await rejects(() => sm.send(new DescribeSecretCommand({ SecretId: "nope" })), "ResourceNotFoundException");
  });

  it("GetSecretValue by name, full ARN, partial ARN, VersionId and VersionStage; binary secrets", async () => {
    const { ARN } = await sm.send(new DescribeSecretCommand({ SecretId: "app/db" }));
    for (const id of ["app/db", ARN!, ARN!.slice(0, -7)]) {
      const v = await sm.send(new GetSecretValueCommand({ SecretId: id }));
      assert.equal(v.SecretString, '{"user":"app","password":"p1"}');
      assert.equal(v.ARN, ARN);
      assert.deepEqual(v.VersionStages, ["AWSCURRENT"]);
    }
    // A full ARN with another suffix names another (deleted and re-created) secret: not this one.
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: ARN!.slice(0, -6) + "ZZZZZZ" })), "ResourceNotFoundException");
    await rejects(
      () => sm.send(new GetSecretValueCommand({ SecretId: ARN!.replace("us-east-1", "eu-west-1") })),
      "ResourceNotFoundException",
    );
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "app/db", VersionId: TOKEN_A }))).VersionId, TOKEN_A);
    await rejects(
      () => sm.send(new GetSecretValueCommand({ SecretId: "app/db", VersionId: TOKEN_A, VersionStage: "AWSPREVIOUS" })),
      "ResourceNotFoundException",
    );
    await rejects(
      () => sm.send(new GetSecretValueCommand({ SecretId: "app/db", VersionStage: "AWSPENDING" })),
      "ResourceNotFoundException",
    );

    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await sm.send(new CreateSecretCommand({ Name: "binary", SecretBinary: bytes }));
    const bin = await sm.send(new GetSecretValueCommand({ SecretId: "binary" }));
    assert.deepEqual(Buffer.from(bin.SecretBinary!), bytes);
    assert.equal(bin.SecretString, undefined);
  });

  it("PutSecretValue moves AWSCURRENT and AWSPREVIOUS as AWS does, and is idempotent on its token", async () => {
    await sm.send(new CreateSecretCommand({ Name: "labels", SecretString: "v1", ClientRequestToken: TOKEN_A }));
    const v2 = await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "v2", ClientRequestToken: TOKEN_B }));
    assert.deepEqual(v2.VersionStages, ["AWSCURRENT"]);
    assert.deepEqual(await stagesOf("labels"), { [TOKEN_A]: ["AWSPREVIOUS"], [TOKEN_B]: ["AWSCURRENT"] });
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "labels", VersionStage: "AWSPREVIOUS" }))).SecretString, "v1");

    // The same token and value: nothing changes; another value under it: refused.
    const retry = await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "v2", ClientRequestToken: TOKEN_B }));
    assert.equal(retry.VersionId, TOKEN_B);
    await rejects(
      () => sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "v2-changed", ClientRequestToken: TOKEN_B })),
      "ResourceExistsException",
    );
    await rejects(() => sm.send(new PutSecretValueCommand({ SecretId: "labels" })), "InvalidParameterException");

    // AWSPENDING on a new version leaves AWSCURRENT where it is.
    const pending = await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "v3", VersionStages: ["AWSPENDING"] }));
    assert.deepEqual(await stagesOf("labels"), {
      [TOKEN_A]: ["AWSPREVIOUS"],
      [TOKEN_B]: ["AWSCURRENT"],
      [pending.VersionId!]: ["AWSPENDING"],
    });

    // A fourth value becomes current: v2 is previous, v1 keeps no label (deprecated).
    const v4 = await sm.send(new PutSecretValueCommand({ SecretId: "labels", SecretString: "v4" }));
    assert.deepEqual(await stagesOf("labels"), {
      [TOKEN_B]: ["AWSPREVIOUS"],
      [v4.VersionId!]: ["AWSCURRENT"],
      [pending.VersionId!]: ["AWSPENDING"],
    });
    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "labels" }));
    assert.equal(listed.Versions!.length, 3);
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "labels", IncludeDeprecated: true }));
    assert.equal(all.Versions!.length, 4);
    const v1 = all.Versions!.find((v) => v.VersionId === TOKEN_A)!;
    assert.equal(v1.VersionStages, undefined);
    assert.match(v1.KmsKeyIds![0]!, /^arn:aws:kms:us-east-1:\d{12}:key\//);
    // A deprecated version stays readable by its id.
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "labels", VersionId: TOKEN_A }))).SecretString, "v1");
    const paged = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "labels", IncludeDeprecated: true, MaxResults: 3 }));
    assert.equal(paged.Versions!.length, 3);
    const rest = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: "labels", IncludeDeprecated: true, NextToken: paged.NextToken }),
    );
    assert.equal(rest.Versions!.length, 1);
    assert.equal(rest.NextToken, undefined);
    await rejects(() => sm.send(new ListSecretVersionIdsCommand({ SecretId: "labels", NextToken: "bm9wZQ" })), "InvalidNextTokenException");
  });

  it("UpdateSecretVersionStage moves a label only from where it is, and AWSCURRENT leaves AWSPREVIOUS behind", async () => {
    await sm.send(new CreateSecretCommand({ Name: "stage", SecretString: "one", ClientRequestToken: TOKEN_A }));
    await sm.send(new PutSecretValueCommand({ SecretId: "stage", SecretString: "two", ClientRequestToken: TOKEN_B }));
    // Rolling back: AWSCURRENT to the first version, which it must be told it leaves.
    await rejects(
      () => sm.send(new UpdateSecretVersionStageCommand({ SecretId: "stage", VersionStage: "AWSCURRENT", MoveToVersionId: TOKEN_A })),
      "InvalidParameterException",
    );
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "stage",
        VersionStage: "AWSCURRENT",
        MoveToVersionId: TOKEN_A,
        RemoveFromVersionId: TOKEN_B,
      }),
    );
    assert.deepEqual(await stagesOf("stage"), { [TOKEN_A]: ["AWSCURRENT"], [TOKEN_B]: ["AWSPREVIOUS"] });
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "stage" }))).SecretString, "one");

    // A label of one's own: attached, then removed; AWSCURRENT cannot be removed, only moved.
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: "stage", VersionStage: "blue", MoveToVersionId: TOKEN_B }));
    assert.deepEqual(await stagesOf("stage"), { [TOKEN_A]: ["AWSCURRENT"], [TOKEN_B]: ["AWSPREVIOUS", "blue"] });
    await rejects(
      () => sm.send(new UpdateSecretVersionStageCommand({ SecretId: "stage", VersionStage: "blue", RemoveFromVersionId: TOKEN_A })),
      "InvalidParameterException",
    );
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: "stage", VersionStage: "blue", RemoveFromVersionId: TOKEN_B }));
    assert.deepEqual(await stagesOf("stage"), { [TOKEN_A]: ["AWSCURRENT"], [TOKEN_B]: ["AWSPREVIOUS"] });
    await rejects(
      () => sm.send(new UpdateSecretVersionStageCommand({ SecretId: "stage", VersionStage: "AWSCURRENT", RemoveFromVersionId: TOKEN_A })),
      "InvalidParameterException",
    );
    await rejects(
      () => sm.send(new UpdateSecretVersionStageCommand({ SecretId: "stage", VersionStage: "x", MoveToVersionId: "c".repeat(32) })),
      "InvalidParameterException",
    );
  });

  it("UpdateSecret changes the description and value; versions without a label beyond 100 are removed once a day old", async () => {
    await sm.send(new CreateSecretCommand({ Name: "upd", SecretString: "first", ClientRequestToken: TOKEN_A }));
    const updated = await sm.send(new UpdateSecretCommand({ SecretId: "upd", Description: "changed", SecretString: "second" }));
    assert.ok(updated.VersionId);
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: "upd" }))).Description, "changed");
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "upd" }))).SecretString, "second");
    assert.deepEqual(await stagesOf("upd"), { [TOKEN_A]: ["AWSPREVIOUS"], [updated.VersionId!]: ["AWSCURRENT"] });

    clock.advance(2 * DAY_MS);
    // 2 versions + 99 = 101: the day-old deprecated first version is removed; the new ones stay.
    for (let i = 0; i < 99; i++) await sm.send(new PutSecretValueCommand({ SecretId: "upd", SecretString: `value ${i}` }));
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "upd", IncludeDeprecated: true }));
    assert.equal(all.Versions!.length, 100);
    assert.ok(!all.Versions!.some((v) => v.VersionId === TOKEN_A));
    // The next one removes the other day-old deprecated version; one more within the day would
    // make 101 versions with none removable: over the quota.
    await sm.send(new PutSecretValueCommand({ SecretId: "upd", SecretString: "value 99" }));
    const now = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "upd", IncludeDeprecated: true }));
    assert.equal(now.Versions!.length, 100);
    assert.ok(!now.Versions!.some((v) => v.VersionId === updated.VersionId));
    await rejects(() => sm.send(new PutSecretValueCommand({ SecretId: "upd", SecretString: "one too many" })), "LimitExceededException");
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "upd" }))).SecretString, "value 99");
  });

  it("ListSecrets filters (prefix, negation, tags, description, all), sorts and pages", async () => {
    const client = smAs(server.url);
    await client.send(new CreateSecretCommand({ Name: "list/alpha", Description: "Billing DB", Tags: [{ Key: "team", Value: "blue" }] }));
    await client.send(new CreateSecretCommand({ Name: "list/beta", Description: "orders cache", Tags: [{ Key: "team", Value: "red" }] }));
    await client.send(new CreateSecretCommand({ Name: "list/gamma", Tags: [{ Key: "owner", Value: "ops" }] }));
    const names = async (input: ListSecretsCommandInput) =>
      (await client.send(new ListSecretsCommand(input))).SecretList!.map((s) => s.Name);
    assert.deepEqual(await names({ Filters: [{ Key: "name", Values: ["list/"] }], SortBy: "name", SortOrder: "asc" }), [
      "list/alpha",
      "list/beta",
      "list/gamma",
    ]);
    assert.deepEqual(await names({ Filters: [{ Key: "name", Values: ["list/"] }], SortBy: "name", SortOrder: "desc" }), [
      "list/gamma",
      "list/beta",
      "list/alpha",
    ]);
    assert.deepEqual(await names({ Filters: [{ Key: "name", Values: ["List/"] }] }), []);
    assert.deepEqual(await names({ Filters: [{ Key: "description", Values: ["billing"] }] }), ["list/alpha"]);
    assert.deepEqual(await names({ Filters: [{ Key: "tag-key", Values: ["team"] }], SortBy: "name", SortOrder: "asc" }), [
      "list/alpha",
      "list/beta",
    ]);
    assert.deepEqual(await names({ Filters: [{ Key: "tag-value", Values: ["red"] }] }), ["list/beta"]);
    assert.deepEqual(
      await names({
        Filters: [
          { Key: "name", Values: ["list/"] },
          { Key: "tag-key", Values: ["!team"] },
        ],
      }),
      ["list/gamma"],
    );
    assert.deepEqual(await names({ Filters: [{ Key: "all", Values: ["orders"] }] }), ["list/beta"]);
    assert.deepEqual(
      await names({
        Filters: [
          { Key: "name", Values: ["list/"] },
          { Key: "primary-region", Values: ["us-east"] },
        ],
        SortBy: "name",
        SortOrder: "asc",
      }),
      ["list/alpha", "list/beta", "list/gamma"],
    );
    assert.deepEqual(await names({ Filters: [{ Key: "primary-region", Values: ["eu-"] }] }), []);
    await rejects(() => client.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["a*b"] }] })), "ValidationException");

    const first = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["list/"] }], SortBy: "name", SortOrder: "asc", MaxResults: 2 }),
    );
    assert.deepEqual(
      first.SecretList!.map((s) => s.Name),
      ["list/alpha", "list/beta"],
    );
    assert.deepEqual(first.SecretList![0]!.Tags, [{ Key: "team", Value: "blue" }]);
    const second = await client.send(
      new ListSecretsCommand({
        Filters: [{ Key: "name", Values: ["list/"] }],
        SortBy: "name",
        SortOrder: "asc",
        NextToken: first.NextToken,
      }),
    );
    assert.deepEqual(
      second.SecretList!.map((s) => s.Name),
      ["list/gamma"],
    );
    await rejects(() => client.send(new ListSecretsCommand({ NextToken: "garbage" })), "InvalidNextTokenException");
    client.destroy();
  });

  it("BatchGetSecretValue reads several secrets and reports each one it cannot", async () => {
    await sm.send(new CreateSecretCommand({ Name: "batch/a", SecretString: "A" }));
    await sm.send(new CreateSecretCommand({ Name: "batch/b", SecretString: "B" }));
    const byIds = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ["batch/a", "batch/b", "batch/missing"] }));
    assert.deepEqual(
      byIds.SecretValues!.map((v) => [v.Name, v.SecretString]),
      [
        ["batch/a", "A"],
        ["batch/b", "B"],
      ],
    );
    assert.deepEqual(
      byIds.Errors!.map((e) => [e.SecretId, e.ErrorCode]),
      [["batch/missing", "ResourceNotFoundException"]],
    );
    const byFilter = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: "name", Values: ["batch/"] }], MaxResults: 1 }));
    assert.equal(byFilter.SecretValues!.length, 1);
    assert.ok(byFilter.NextToken);
    await rejects(
      () => sm.send(new BatchGetSecretValueCommand({ SecretIdList: ["batch/a"], Filters: [{ Key: "name", Values: ["batch/"] }] })),
      "InvalidParameterException",
    );
    await rejects(() => sm.send(new BatchGetSecretValueCommand({})), "InvalidParameterException");
  });

  it("DeleteSecret schedules 7–30 days out: the secret refuses use, keeps its name, restores, and is purged at the end", async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "bye" }));
    await rejects(() => sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 6 })), "InvalidParameterException");
    await rejects(() => sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 31 })), "InvalidParameterException");
    await rejects(
      () => sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })),
      "InvalidParameterException",
    );
    const deleted = await sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }));
    assert.equal(deleted.DeletionDate!.getTime(), clock.now() + 7 * DAY_MS);
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: "doomed" }))).DeletedDate!.getTime(), clock.now());
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: "doomed" })), "InvalidRequestException");
    await rejects(() => sm.send(new PutSecretValueCommand({ SecretId: "doomed", SecretString: "x" })), "InvalidRequestException");
    await rejects(() => sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "again" })), "InvalidRequestException");
    await rejects(() => sm.send(new DeleteSecretCommand({ SecretId: "doomed" })), "InvalidRequestException");
    const listed = async (include: boolean) =>
      (await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: include, Filters: [{ Key: "name", Values: ["doomed"] }] })))
        .SecretList!.length;
    assert.equal(await listed(false), 0);
    assert.equal(await listed(true), 1);

    await sm.send(new RestoreSecretCommand({ SecretId: "doomed" }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "doomed" }))).SecretString, "bye");
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: "doomed" }))).DeletedDate, undefined);

    // Scheduled again: a day short of the window nothing happens; at its end the secret is gone.
    await sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }));
    clock.advance(6 * DAY_MS);
    assert.deepEqual(await server.keyhold.secretsScheduler.tick(), []);
    clock.advance(DAY_MS);
    assert.deepEqual(await server.keyhold.secretsScheduler.tick(), [created.ARN]);
    await rejects(() => sm.send(new DescribeSecretCommand({ SecretId: "doomed" })), "ResourceNotFoundException");
    await rejects(() => sm.send(new RestoreSecretCommand({ SecretId: "doomed" })), "ResourceNotFoundException");
    // The name is free again, under a new ARN.
    const reborn = await sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "hello again" }));
    assert.notEqual(reborn.ARN, created.ARN);
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: created.ARN })), "ResourceNotFoundException");

    // Without recovery: gone at once.
    const forced = await sm.send(new DeleteSecretCommand({ SecretId: "doomed", ForceDeleteWithoutRecovery: true }));
    assert.equal(forced.DeletionDate!.getTime(), clock.now());
    await rejects(() => sm.send(new DescribeSecretCommand({ SecretId: "doomed" })), "ResourceNotFoundException");
  });

  it("GetRandomPassword honours every parameter", async () => {
    const charsOf = async (input: GetRandomPasswordCommandInput) => (await sm.send(new GetRandomPasswordCommand(input))).RandomPassword!;
    const def = await charsOf({});
    assert.equal(def.length, 32);
    assert.equal((await charsOf({ PasswordLength: 4096 })).length, 4096);
    assert.match(await charsOf({ PasswordLength: 200, ExcludePunctuation: true }), /^[A-Za-z0-9]{200}$/);
    assert.match(
      await charsOf({ PasswordLength: 200, ExcludeNumbers: true, ExcludePunctuation: true, ExcludeUppercase: true }),
      /^[a-z]{200}$/,
    );
    assert.match(
      await charsOf({ PasswordLength: 200, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true }),
      /^[0-9]{200}$/,
    );
    assert.match(
      await charsOf({ PasswordLength: 300, ExcludeCharacters: "abcdefghijklmnopqrstuvwxyz0123456789", ExcludePunctuation: true }),
      /^[A-Z]{300}$/,
    );
    assert.ok((await charsOf({ PasswordLength: 500, IncludeSpace: true, ExcludePunctuation: true })).includes(" "));
    // Each type included appears, even in a password as short as the number of types.
    for (let i = 0; i < 20; i++) {
      const p = await charsOf({ PasswordLength: 4 });
      assert.match(p, /[a-z]/);
      assert.match(p, /[A-Z]/);
      assert.match(p, /[0-9]/);
      assert.match(p, /[^A-Za-z0-9]/);
    }
    await rejects(() => sm.send(new GetRandomPasswordCommand({ PasswordLength: 3 })), "InvalidParameterException");
    assert.equal((await charsOf({ PasswordLength: 3, RequireEachIncludedType: false })).length, 3);
    await rejects(
      () =>
        sm.send(
          new GetRandomPasswordCommand({ ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true }),
        ),
      "InvalidParameterException",
    );
    await rejects(() => sm.send(new GetRandomPasswordCommand({ PasswordLength: 4097 })), "ValidationException");
    await rejects(() => sm.send(new GetRandomPasswordCommand({ PasswordLength: 0 })), "ValidationException");
  });

  it("TagResource and UntagResource; aws: tag keys are reserved", async () => {
    await sm.send(new CreateSecretCommand({ Name: "tagged", Tags: [{ Key: "a", Value: "1" }] }));
    await sm.send(
      new TagResourceCommand({
        SecretId: "tagged",
        Tags: [
          { Key: "b", Value: "2" },
          { Key: "a", Value: "3" },
        ],
      }),
    );
    assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: "tagged" }))).Tags, [
      { Key: "a", Value: "3" },
      { Key: "b", Value: "2" },
    ]);
    await sm.send(new UntagResourceCommand({ SecretId: "tagged", TagKeys: ["a"] }));
    assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: "tagged" }))).Tags, [{ Key: "b", Value: "2" }]);
    await rejects(
      () => sm.send(new TagResourceCommand({ SecretId: "tagged", Tags: [{ Key: "aws:x", Value: "1" }] })),
      "InvalidParameterException",
    );
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await rejects(() => sm.send(new TagResourceCommand({ SecretId: "tagged", Tags: many })), "LimitExceededException");
  });

  it("encrypts each version under the aws/secretsmanager key by default, or the secret's key; a disabled key refuses reads and writes", async () => {
    const managed = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/secretsmanager" }))).KeyMetadata!;
    assert.equal(managed.KeyManager, "AWS");
    const key = (await kms.send(new CreateKeyCommand({ Description: "secrets" }))).KeyMetadata!;
    await sm.send(new CreateSecretCommand({ Name: "cmk", SecretString: "under my key", KmsKeyId: key.KeyId }));
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: "cmk" }))).KmsKeyId, key.KeyId);
    const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "cmk" }));
    assert.deepEqual(versions.Versions![0]!.KmsKeyIds, [key.Arn]);

    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const read = await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: "cmk" })), "DecryptionFailure");
    assert.match(read.message, /disabled/);
    await rejects(() => sm.send(new PutSecretValueCommand({ SecretId: "cmk", SecretString: "new" })), "EncryptionFailure");
    // A refused UpdateSecret changes nothing, not even the description it also carried.
    await rejects(
      () => sm.send(new UpdateSecretCommand({ SecretId: "cmk", Description: "half", SecretString: "new" })),
      "EncryptionFailure",
    );
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: "cmk" }))).Description, undefined);
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "cmk" }))).SecretString, "under my key");

    await rejects(
      () => sm.send(new CreateSecretCommand({ Name: "nokey", SecretString: "x", KmsKeyId: "alias/none" })),
      "EncryptionFailure",
    );
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!;
    await rejects(
      () => sm.send(new CreateSecretCommand({ Name: "signkey", SecretString: "x", KmsKeyId: signing.KeyId })),
      "EncryptionFailure",
    );

    // Changing the key re-encrypts the versions in use under the new one.
    const other = (await kms.send(new CreateKeyCommand({ Description: "other" }))).KeyMetadata!;
    await sm.send(new UpdateSecretCommand({ SecretId: "cmk", KmsKeyId: other.Arn }));
    const after = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "cmk" }));
    assert.deepEqual(after.Versions![0]!.KmsKeyIds, [other.Arn]);
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "cmk" }))).SecretString, "under my key");
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
  });

  it("writes no secret value to the data directory in plaintext", async () => {
    const value = "plaintext-canary-7f3c9e1d-never-on-disk";
    await sm.send(new CreateSecretCommand({ Name: "canary", SecretString: value }));
    await sm.send(new PutSecretValueCommand({ SecretId: "canary", SecretString: value + "-2" }));
    await sm.send(new CreateSecretCommand({ Name: "canary-bin", SecretBinary: Buffer.from(value) }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: "canary" }))).SecretString, value + "-2");
    const needles = [Buffer.from(value), Buffer.from(value, "utf16le"), Buffer.from(Buffer.from(value).toString("base64").slice(0, 24))];
    const scanned = files(server.dataDir);
    assert.ok(scanned.some((f) => f.endsWith("keyhold.db")));
    for (const file of scanned) {
      const bytes = readFileSync(file);
      for (const needle of needles) assert.equal(bytes.indexOf(needle), -1, `${file} holds the secret value`);
    }
  });

  it("authorizes with Secrets Manager's actions and condition keys, on behalf of the caller for KMS too", async () => {
    const iam = iamClient(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    await sm.send(new CreateSecretCommand({ Name: "authz/blue", SecretString: "blue value", Tags: [{ Key: "team", Value: "blue" }] }));
    await sm.send(new CreateSecretCommand({ Name: "authz/red", SecretString: "red value", Tags: [{ Key: "team", Value: "red" }] }));
    const key = (await kms.send(new CreateKeyCommand({ Description: "team key" }))).KeyMetadata!;
    await sm.send(
      new CreateSecretCommand({ Name: "authz/cmk", SecretString: "cmk value", KmsKeyId: key.Arn, Tags: [{ Key: "team", Value: "blue" }] }),
    );
    const creds = await makeUser(iam, "blue-reader", {
      read: policy({
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: "*",
        Condition: { StringEquals: { "secretsmanager:ResourceTag/team": "blue" } },
      }),
    });
    const user = smAs(server.url, creds);
    try {
      // The default key's policy lets Secrets Manager use it for any principal of the account.
      assert.equal((await user.send(new GetSecretValueCommand({ SecretId: "authz/blue" }))).SecretString, "blue value");
      const denied = await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "authz/red" })), "AccessDeniedException");
      assert.match(denied.message, /secretsmanager:GetSecretValue/);
      await rejects(() => user.send(new PutSecretValueCommand({ SecretId: "authz/blue", SecretString: "x" })), "AccessDeniedException");
      // No existence oracle: a name that is not there is refused like one the user may not read.
      await rejects(() => user.send(new DescribeSecretCommand({ SecretId: "authz/none" })), "AccessDeniedException");
      await rejects(() => user.send(new ListSecretsCommand({})), "AccessDeniedException");
      // A customer key's policy delegates to IAM: without kms:Decrypt the value stays closed.
      const kmsDenied = await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "authz/cmk" })), "AccessDeniedException");
      assert.equal(kmsDenied.message, "Access to KMS is not allowed");

      // kms:Decrypt through Secrets Manager only (kms:ViaService): enough for the secret.
      await iam.send(
        new PutUserPolicyCommand({
          UserName: "blue-reader",
          PolicyName: "kms",
          PolicyDocument: policy({
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: key.Arn,
            Condition: {
              StringEquals: {
                "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                "kms:EncryptionContext:SecretARN": (await sm.send(new DescribeSecretCommand({ SecretId: "authz/cmk" }))).ARN,
              },
            },
          }),
        }),
      );
      assert.equal((await user.send(new GetSecretValueCommand({ SecretId: "authz/cmk" }))).SecretString, "cmk value");

      // VersionStage condition: a Deny on AWSPREVIOUS.
      await iam.send(
        new PutUserPolicyCommand({
          UserName: "blue-reader",
          PolicyName: "no-previous",
          PolicyDocument: policy({
            Effect: "Deny",
            Action: "secretsmanager:GetSecretValue",
            Resource: "*",
            Condition: { StringEquals: { "secretsmanager:VersionStage": "AWSPREVIOUS" } },
          }),
        }),
      );
      await rejects(
        () => user.send(new GetSecretValueCommand({ SecretId: "authz/blue", VersionStage: "AWSPREVIOUS" })),
        "AccessDeniedException",
      );

      // SecretId condition: the secret only by its ARN, never by a name someone could re-create.
      await iam.send(
        new PutUserPolicyCommand({
          UserName: "blue-reader",
          PolicyName: "arn-only",
          PolicyDocument: policy({
            Effect: "Deny",
            Action: "secretsmanager:*",
            Resource: "*",
            Condition: { StringNotLike: { "secretsmanager:SecretId": "arn:aws:secretsmanager:*" } },
          }),
        }),
      );
      const blueArn = (await sm.send(new DescribeSecretCommand({ SecretId: "authz/blue" }))).ARN!;
      await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "authz/blue" })), "AccessDeniedException");
      assert.equal((await user.send(new GetSecretValueCommand({ SecretId: blueArn }))).SecretString, "blue value");
    } finally {
      user.destroy();
      iam.destroy();
    }
  });

  it("resource policies: put (BlockPublicPolicy), get, validate, delete, and they decide access", async () => {
    const iam = iamClient(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: "policy/s", SecretString: "by policy" }));
    const creds = await makeUser(iam, "policy-user");
    const userArn = `arn:aws:iam::${ACCOUNT_ID}:user/policy-user`;
    const user = smAs(server.url, creds);
    try {
      await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "policy/s" })), "AccessDeniedException");
      const allowUser = policy({ Effect: "Allow", Principal: { AWS: userArn }, Action: "secretsmanager:GetSecretValue", Resource: "*" });
      const publicPolicy = policy({ Effect: "Allow", Principal: "*", Action: "secretsmanager:GetSecretValue", Resource: "*" });
      await rejects(
        () => sm.send(new PutResourcePolicyCommand({ SecretId: "policy/s", ResourcePolicy: publicPolicy, BlockPublicPolicy: true })),
        "PublicPolicyException",
      );
      await rejects(
        () => sm.send(new PutResourcePolicyCommand({ SecretId: "policy/s", ResourcePolicy: "{not json" })),
        "MalformedPolicyDocumentException",
      );
      // A principal that does not exist would grant whoever is made later under its name.
      const ghost = policy({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/ghost` },
        Action: "secretsmanager:GetSecretValue",
        Resource: "*",
      });
      await rejects(
        () => sm.send(new PutResourcePolicyCommand({ SecretId: "policy/s", ResourcePolicy: ghost })),
        "MalformedPolicyDocumentException",
      );
      const check = await sm.send(new ValidateResourcePolicyCommand({ SecretId: "policy/s", ResourcePolicy: publicPolicy }));
      assert.equal(check.PolicyValidationPassed, false);
      assert.equal(check.ValidationErrors!.length, 1);
      assert.equal((await sm.send(new ValidateResourcePolicyCommand({ ResourcePolicy: allowUser }))).PolicyValidationPassed, true);
      await rejects(() => sm.send(new ValidateResourcePolicyCommand({ ResourcePolicy: "[]" })), "MalformedPolicyDocumentException");

      const put = await sm.send(new PutResourcePolicyCommand({ SecretId: "policy/s", ResourcePolicy: allowUser, BlockPublicPolicy: true }));
      assert.equal(put.ARN, ARN);
      assert.equal((await sm.send(new GetResourcePolicyCommand({ SecretId: "policy/s" }))).ResourcePolicy, allowUser);
      // The resource policy alone lets the user in, within the account.
      assert.equal((await user.send(new GetSecretValueCommand({ SecretId: "policy/s" }))).SecretString, "by policy");
      await sm.send(new DeleteResourcePolicyCommand({ SecretId: "policy/s" }));
      assert.equal((await sm.send(new GetResourcePolicyCommand({ SecretId: "policy/s" }))).ResourcePolicy, undefined);
      await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "policy/s" })), "AccessDeniedException");
    } finally {
      user.destroy();
      iam.destroy();
    }
  });

  it("shares a secret with another account through its resource policy and a customer key's policy, never the aws/secretsmanager key", async () => {
    const { createAccount } = await import("../src/app.js");
    const { testConfig } = await import("./helpers.js");
    const b = await createAccount(testConfig(server.dataDir), "777788889999");
    const iamB = iamClient(server.url, b, { systemClockOffset: clock.now() - Date.now() });
    const reader = await makeUser(iamB, "reader", {
      read: policy({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "kms:Decrypt"], Resource: "*" }),
    });
    const asB = smAs(server.url, reader);
    try {
      const keyPolicy = JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" },
          { Effect: "Allow", Principal: { AWS: "arn:aws:iam::777788889999:root" }, Action: "kms:Decrypt", Resource: "*" },
        ],
      });
      const key = (await kms.send(new CreateKeyCommand({ Description: "shared", Policy: keyPolicy }))).KeyMetadata!;
      const shared = await sm.send(new CreateSecretCommand({ Name: "xacct/cmk", SecretString: "for b", KmsKeyId: key.Arn }));
      const managed = await sm.send(new CreateSecretCommand({ Name: "xacct/default", SecretString: "not for b" }));
      // Without a resource policy another account is refused, whatever its own policies say.
      await rejects(() => asB.send(new GetSecretValueCommand({ SecretId: shared.ARN })), "AccessDeniedException");
      const share = policy({
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::777788889999:root" },
        Action: "secretsmanager:GetSecretValue",
        Resource: "*",
      });
      await sm.send(new PutResourcePolicyCommand({ SecretId: shared.ARN, ResourcePolicy: share, BlockPublicPolicy: true }));
      await sm.send(new PutResourcePolicyCommand({ SecretId: managed.ARN, ResourcePolicy: share, BlockPublicPolicy: true }));
      assert.equal((await asB.send(new GetSecretValueCommand({ SecretId: shared.ARN }))).SecretString, "for b");
      // The aws/secretsmanager key serves only its own account (kms:CallerAccount), as on AWS.
      const viaManaged = await rejects(() => asB.send(new GetSecretValueCommand({ SecretId: managed.ARN })), "AccessDeniedException");
      assert.equal(viaManaged.message, "Access to KMS is not allowed");
      // By name, B looks in its own account.
      await rejects(() => asB.send(new GetSecretValueCommand({ SecretId: "xacct/cmk" })), "ResourceNotFoundException");
    } finally {
      asB.destroy();
      iamB.destroy();
    }
  });

  it("refuses RotateSecret without a rotation function, and replication to a region that is not served", async () => {
    // Rotation is served (secretsmanager-rotation.test.ts); without a function it has nothing to run.
    const r = await rejects(() => sm.send(new RotateSecretCommand({ SecretId: "app/db" })), "InvalidRequestException");
    assert.match(r.message, /No Lambda rotation function ARN/);
    // Replication is served (secretsmanager-replication.test.ts); a region that is not one is refused.
    await rejects(
      () => sm.send(new ReplicateSecretToRegionsCommand({ SecretId: "app/db", AddReplicaRegions: [{ Region: "nowhere-1" }] })),
      "InvalidParameterException",
    );
  });

  it("records every call in the audit trail without values or request tokens, and the KMS calls made for it", async () => {
    const value = "audit-canary-value-0c1d";
    const token = "cccccccc-3333-4333-8333-cccccccccccc";
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: "audited", SecretString: value, ClientRequestToken: token }));
    await sm.send(new GetSecretValueCommand({ SecretId: "audited" }));
    await sm.send(new PutSecretValueCommand({ SecretId: "audited", SecretString: value + "2" }));
    const password = (await sm.send(new GetRandomPasswordCommand({}))).RandomPassword!;
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: "audited-missing" })), "ResourceNotFoundException");
    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: ROOT_CREDS,
      maxAttempts: 1,
      systemClockOffset: clock.now() - Date.now(),
    });
    try {
      const events = (
        await trail.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "secretsmanager.amazonaws.com" }],
            MaxResults: 50,
          }),
        )
      ).Events!.map((e) => ({ raw: e.CloudTrailEvent!, record: JSON.parse(e.CloudTrailEvent!) }));
      const create = events.find((e) => e.record.eventName === "CreateSecret" && e.record.requestParameters?.name === "audited")!;
      assert.ok(create);
      assert.equal(create.record.readOnly, false);
      assert.deepEqual(create.record.resources, [{ accountId: ACCOUNT_ID, type: "AWS::SecretsManager::Secret", ARN }]);
      assert.equal(create.record.requestParameters.clientRequestToken, undefined);
      const get = events.find((e) => e.record.eventName === "GetSecretValue" && e.record.requestParameters?.secretId === "audited")!;
      assert.equal(get.record.responseElements, null);
      assert.ok(events.some((e) => e.record.eventName === "GetRandomPassword"));
      assert.ok(events.some((e) => e.record.errorCode === "ResourceNotFoundException"));
      for (const e of events) {
        assert.ok(!e.raw.includes(value), "no secret value in the trail");
        assert.ok(!e.raw.includes(password), "no random password in the trail");
        assert.ok(!e.raw.includes('"clientRequestToken"'), "no request token in requestParameters");
      }
      // The KMS calls made for the caller: GenerateDataKey and Decrypt, invoked by Secrets Manager, bound to the version.
      const managed = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/secretsmanager" }))).KeyMetadata!;
      const kmsEvents = (
        await trail.send(
          new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: managed.Arn! }], MaxResults: 50 }),
        )
      )
        .Events!.map((e) => JSON.parse(e.CloudTrailEvent!))
        .filter((r) => r.requestParameters?.encryptionContext?.SecretARN === ARN);
      assert.deepEqual(kmsEvents.map((r) => r.eventName).sort(), ["Decrypt", "GenerateDataKey", "GenerateDataKey"]);
      for (const r of kmsEvents) {
        assert.equal(r.userIdentity.invokedBy, "secretsmanager.amazonaws.com");
        assert.equal(r.requestParameters.keyId, managed.Arn);
        assert.match(r.requestParameters.encryptionContext.SecretVersionId, /^[0-9a-f-]{36}$/);
      }
      assert.ok(server.logs.every((line) => !line.includes(value)));
    } finally {
      trail.destroy();
    }
  });
});
