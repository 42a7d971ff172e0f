/**
 * The console's data layer (console/src/data) against a real keyhold through the SDK v3 clients:
 * what depends on a key (buckets, objects, secret versions, grants, aliases, hourly use from the
 * trail) and event history with the console's filters. No browser: these are the functions the
 * pages call.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  KMSClient,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutBucketEncryptionCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { ManualClock } from "../src/clock.js";
import type * as Data from "../console/src/data/index.js";
import type { DataClients } from "../console/src/data/index.js";
import { ACCOUNT_ID, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";
import { loadConsoleModule } from "./console-modules.js";

const { keyDependencies, countByHour, HOUR_MS, eventHistory, serverAttribute, keyNames, namesKey } =
  await loadConsoleModule<typeof Data>("console/src/data/index.ts");

/** Clients for every service the console calls, signing as `credentials` at the server's time. */
function clientsFor(url: string, clock: ManualClock, credentials: Creds = ROOT_CREDS): DataClients {
  const common = { endpoint: url, region: "us-east-1", credentials, maxAttempts: 1, systemClockOffset: clock.now() - Date.now() };
  return {
    kms: new KMSClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    secretsManager: new SecretsManagerClient(common),
    cloudTrail: new CloudTrailClient(common),
  };
}

function destroy(c: DataClients): void {
  c.kms.destroy();
  c.s3.destroy();
  c.secretsManager.destroy();
  c.cloudTrail.destroy();
}

describe("key names", () => {
  const names = keyNames(`arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, ["alias/app"]);
  it("matches a key by id, ARN, alias name and alias ARN, and nothing else", () => {
    assert.ok(namesKey("1234abcd-12ab-34cd-56ef-1234567890ab", names));
    assert.ok(namesKey(names.arn, names));
    assert.ok(namesKey("alias/app", names));
    assert.ok(namesKey(`arn:aws:kms:us-east-1:${ACCOUNT_ID}:alias/app`, names));
    assert.ok(!namesKey(`arn:aws:kms:eu-west-1:${ACCOUNT_ID}:alias/app`, names));
    assert.ok(!namesKey(`arn:aws:kms:us-east-1:444455556666:alias/app`, names));
    assert.ok(!namesKey("alias/app2", names));
    assert.ok(!namesKey(undefined, names));
    assert.ok(!namesKey("", names));
  });
});

describe("hourly counts", () => {
  it("puts each event in its UTC hour and operation, most used first, and counts errors", () => {
    const h0 = Date.UTC(2026, 0, 1, 10);
    const at = (ms: number, EventName: string, errorCode?: string) => ({
      EventName,
      EventTime: new Date(ms),
      CloudTrailEvent: JSON.stringify(errorCode ? { errorCode } : {}),
    });
    const usage = countByHour(
      [
        at(h0 + 1, "Encrypt"),
        at(h0 + HOUR_MS - 1, "Encrypt"),
        at(h0 + HOUR_MS, "Encrypt"),
        at(h0 + 2 * HOUR_MS + 5, "Decrypt", "InvalidCiphertextException"),
        at(h0 - 1, "Encrypt"), // before the window
      ],
      h0,
      h0 + 2 * HOUR_MS + 10,
    );
    assert.deepEqual(usage.hours, [h0, h0 + HOUR_MS, h0 + 2 * HOUR_MS]);
    assert.deepEqual(
      usage.series.map((s) => [s.operation, s.total, s.perHour]),
      [
        ["Encrypt", 3, [2, 1, 0]],
        ["Decrypt", 1, [0, 0, 1]],
      ],
    );
    assert.equal(usage.total, 4);
    assert.equal(usage.errors, 1);
    assert.equal(usage.truncated, false);
  });
});

describe("console data against keyhold", () => {
  let server: TestServer;
  let clock: ManualClock;
  let key: KeyMetadata;
  let other: KeyMetadata;
  /** The start of the hour the setup ran in; the next hour holds the direct Encrypt/Decrypt calls. */
  let setupHour: number;

  before(async () => {
    // The setup runs 10 minutes into an hour three hours ago; the direct calls an hour later.
    setupHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
    clock = new ManualClock(setupHour + 10 * 60 * 1000);
    server = await startTestServer({ clock });
    const c = clientsFor(server.url, clock);
    key = (await c.kms.send(new CreateKeyCommand({ Description: "app data" }))).KeyMetadata!;
    other = (await c.kms.send(new CreateKeyCommand({ Description: "unrelated" }))).KeyMetadata!;
    await c.kms.send(new CreateAliasCommand({ AliasName: "alias/app-data", TargetKeyId: key.KeyId }));
    await c.kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: `arn:aws:iam::${ACCOUNT_ID}:root`,
        Operations: ["Decrypt"],
        Name: "reader",
      }),
    );

    const kmsDefault = (Bucket: string, KMSMasterKeyID: string) =>
      c.s3.send(
        new PutBucketEncryptionCommand({
          Bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID } }],
          },
        }),
      );
    const put = (Bucket: string, Key: string, extra: Record<string, string> = {}) =>
      c.s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...extra }));
    for (const b of ["by-alias", "by-arn", "plain", "other-key"]) await c.s3.send(new CreateBucketCommand({ Bucket: b }));
    // Default encryption naming the key by alias (3 objects) and by ARN (1 object, plus 1 under another key).
    await kmsDefault("by-alias", "alias/app-data");
    for (const k of ["a/1", "a/2", "a/3"]) await put("by-alias", k);
    await kmsDefault("by-arn", key.Arn!);
    await put("by-arn", "b/1");
    await put("by-arn", "b/other", { ServerSideEncryption: "aws:kms", SSEKMSKeyId: other.KeyId! });
    // SSE-S3 by default: one object names the key by id on its own, one is not under any KMS key.
    await put("plain", "p/kms", { ServerSideEncryption: "aws:kms", SSEKMSKeyId: key.KeyId! });
    await put("plain", "p/s3");
    await kmsDefault("other-key", other.Arn!);
    await put("other-key", "o/1");

    // A secret under the key by alias: two versions (AWSCURRENT and AWSPREVIOUS).
    await c.secretsManager.send(new CreateSecretCommand({ Name: "db/password", KmsKeyId: "alias/app-data", SecretString: "one" }));
    await c.secretsManager.send(new PutSecretValueCommand({ SecretId: "db/password", SecretString: "two" }));
    // A secret moved to another key: its labelled versions are re-encrypted, the deprecated one stays under the key.
    await c.secretsManager.send(new CreateSecretCommand({ Name: "moved", KmsKeyId: key.KeyId, SecretString: "v1" }));
    await c.secretsManager.send(new PutSecretValueCommand({ SecretId: "moved", SecretString: "v2" }));
    await c.secretsManager.send(new PutSecretValueCommand({ SecretId: "moved", SecretString: "v3" }));
    await c.secretsManager.send(new UpdateSecretCommand({ SecretId: "moved", KmsKeyId: other.Arn }));
    // A secret under another key is no dependency.
    await c.secretsManager.send(new CreateSecretCommand({ Name: "elsewhere", KmsKeyId: other.KeyId, SecretString: "x" }));
    destroy(c);

    // The next hour: direct use, two Encrypts, a Decrypt and a refused Decrypt (wrong context).
    clock.advance(HOUR_MS);
    const d = clientsFor(server.url, clock);
    const blob = (
      await d.kms.send(new EncryptCommand({ KeyId: "alias/app-data", Plaintext: Buffer.from("hi"), EncryptionContext: { a: "1" } }))
    ).CiphertextBlob!;
    await d.kms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: Buffer.from("hi") }));
    await d.kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { a: "1" } }));
    await assert.rejects(d.kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { a: "2" } })), {
      name: "InvalidCiphertextException",
    });
    destroy(d);
    clock.advance(HOUR_MS);
  });

  after(async () => {
    await server?.stop();
  });

  it("lists the buckets whose default encryption names the key, by alias or ARN", async () => {
    const c = clientsFor(server.url, clock);
    const deps = await keyDependencies(c, "alias/app-data", { usage: { now: clock.now(), days: 1 } });
    destroy(c);
    assert.equal(deps.key.Arn, key.Arn);
    assert.ok(deps.buckets.ok);
    assert.deepEqual(deps.buckets.value.buckets.map((b) => [b.bucket, b.keyRef]).sort(), [
      ["by-alias", "alias/app-data"],
      ["by-arn", key.Arn],
    ]);
    assert.equal(deps.buckets.value.examined, 4);

    // Objects: 3 + 1 under default encryption, 1 named explicitly by key id in an SSE-S3 bucket.
    assert.ok(deps.objects.ok);
    assert.equal(deps.objects.value.count, 5);
    assert.equal(deps.objects.value.atLeast, false);
    assert.equal(deps.objects.value.examined, 8);
    assert.deepEqual(
      deps.objects.value.perBucket.sort((a, b) => a.bucket.localeCompare(b.bucket)),
      [
        { bucket: "by-alias", count: 3 },
        { bucket: "by-arn", count: 1 },
        { bucket: "plain", count: 1 },
      ],
    );
    assert.ok(deps.objects.value.samples.some((s) => s.bucket === "plain" && s.key === "p/kms"));

    // Secrets: db/password's two versions; moved's deprecated first version (no label), no longer configured.
    assert.ok(deps.secrets.ok);
    const secrets = Object.fromEntries(deps.secrets.value.secrets.map((s) => [s.name, s]));
    assert.deepEqual(Object.keys(secrets).sort(), ["db/password", "moved"]);
    assert.equal(secrets["db/password"]!.configured, true);
    assert.deepEqual(secrets["db/password"]!.versions.map((v) => v.stages.join()).sort(), ["AWSCURRENT", "AWSPREVIOUS"]);
    assert.equal(secrets["moved"]!.configured, false);
    assert.deepEqual(
      secrets["moved"]!.versions.map((v) => v.stages),
      [[]],
    );
    assert.equal(deps.secrets.value.versionCount, 3);
    assert.equal(deps.secrets.value.examined, 3);

    assert.ok(deps.grants.ok);
    assert.deepEqual(
      deps.grants.value.grants.map((g) => g.Name),
      ["reader"],
    );
    assert.ok(deps.aliases.ok);
    assert.deepEqual(
      deps.aliases.value.map((a) => a.AliasName),
      ["alias/app-data"],
    );
  });

  it("counts the key's use per hour and operation from the trail", async () => {
    const c = clientsFor(server.url, clock);
    const deps = await keyDependencies(c, key.KeyId!, { usage: { now: clock.now(), days: 1 } });
    destroy(c);
    assert.ok(deps.usage.ok);
    const usage = deps.usage.value;
    const setup = usage.hours.indexOf(setupHour);
    const direct = usage.hours.indexOf(setupHour + HOUR_MS);
    assert.ok(setup >= 0 && direct === setup + 1);
    const perHour = (op: string, i: number) => usage.series.find((s) => s.operation === op)?.perHour[i] ?? 0;
    // The setup hour: S3's GenerateDataKey for each of the 5 objects put under the key, and
    // Secrets Manager's for each of the 4 versions it sealed under it (db/password ×2, moved ×3
    // minus none: moved's 3 versions were sealed under the key before it moved) = 5 + 2 + 3.
    assert.equal(perHour("GenerateDataKey", setup), 10);
    assert.equal(perHour("CreateKey", setup), 1);
    assert.equal(perHour("CreateAlias", setup), 1);
    assert.equal(perHour("CreateGrant", setup), 1);
    // The next hour: the direct calls, the refused one among them.
    assert.equal(perHour("Encrypt", direct), 2);
    assert.equal(perHour("Decrypt", direct), 2);
    assert.equal(perHour("GenerateDataKey", direct), 0);
    assert.ok(usage.errors >= 1);
    assert.equal(usage.truncated, false);
  });

  it("says 'at least' when the object search stops at its bound, searching the buckets that name the key first", async () => {
    const c = clientsFor(server.url, clock);
    const deps = await keyDependencies(c, key.Arn!, { maxObjects: 2, usage: { now: clock.now(), days: 1 } });
    destroy(c);
    assert.ok(deps.objects.ok);
    assert.equal(deps.objects.value.examined, 2);
    assert.equal(deps.objects.value.count, 2);
    assert.equal(deps.objects.value.atLeast, true);
  });

  it("shows each refused part with AWS's message and still the parts that are allowed", async () => {
    const root = iamClient(server.url, ROOT_CREDS, { systemClockOffset: clock.now() - Date.now() });
    const creds = await makeUser(root, "key-viewer", {
      kms: policy({ Effect: "Allow", Action: ["kms:DescribeKey", "kms:ListAliases", "kms:ListGrants"], Resource: "*" }),
    });
    root.destroy();
    const c = clientsFor(server.url, clock, creds);
    const deps = await keyDependencies(c, key.Arn!, { usage: { now: clock.now(), days: 1 } });
    destroy(c);
    assert.ok(deps.grants.ok && deps.aliases.ok);
    assert.ok(!deps.buckets.ok);
    assert.equal(deps.buckets.error.code, "AccessDenied");
    assert.match(deps.buckets.error.message, /not authorized|denied/i);
    assert.ok(!deps.objects.ok);
    assert.ok(!deps.secrets.ok);
    assert.equal(deps.secrets.error.code, "AccessDeniedException");
    assert.ok(!deps.usage.ok);
    assert.equal(deps.usage.error.code, "AccessDeniedException");
  });

  describe("event history", () => {
    it("sends the most selective filter to keyhold and applies the others", async () => {
      assert.deepEqual(serverAttribute({ eventName: "Encrypt", resourceName: "arn:x" }), {
        AttributeKey: "ResourceName",
        AttributeValue: "arn:x",
      });
      assert.deepEqual(serverAttribute({ userName: "bob", readOnly: true }), { AttributeKey: "Username", AttributeValue: "bob" });
      assert.deepEqual(serverAttribute({ readOnly: false }), { AttributeKey: "ReadOnly", AttributeValue: "false" });
      assert.equal(serverAttribute({}), undefined);

      const c = clientsFor(server.url, clock);
      // Decrypts of the key: Secrets Manager's two when "moved" changed key, then the direct two.
      const page = await eventHistory(c, { eventName: "Decrypt", resourceName: key.Arn! });
      assert.equal(page.events.length, 4);
      assert.equal(page.events.filter((e) => e.userName === "root" && e.eventTime!.getTime() >= setupHour + HOUR_MS).length, 2);
      assert.ok(page.events.every((e) => e.eventName === "Decrypt" && e.resources.some((r) => r.name === key.Arn)));
      const refused = page.events.filter((e) => e.errorCode !== undefined);
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.errorCode, "InvalidCiphertextException");
      assert.equal(JSON.parse(refused[0]!.cloudTrailEvent).eventName, "Decrypt");

      // User name and read-only together: root's writes on the key, no reads among them.
      const writes = await eventHistory(c, { userName: "root", readOnly: false, resourceName: key.Arn! });
      assert.ok(writes.events.length > 0);
      assert.ok(writes.events.every((e) => e.userName === "root" && e.readOnly === false));
      assert.ok(writes.events.some((e) => e.eventName === "CreateKey"));
      assert.ok(!writes.events.some((e) => e.eventName === "DescribeKey"));

      // The time range: only the hour of the direct calls holds Encrypts of the key.
      const inHour = await eventHistory(c, {
        eventName: "Encrypt",
        startTime: new Date(setupHour + HOUR_MS),
        endTime: new Date(setupHour + 2 * HOUR_MS),
      });
      assert.equal(inHour.events.length, 2);
      const before = await eventHistory(c, { eventName: "Encrypt", endTime: new Date(setupHour + HOUR_MS) });
      assert.equal(before.events.length, 0);
      destroy(c);
    });

    it("pages with LookupEvents' token, never repeating or skipping an event", async () => {
      const c = clientsFor(server.url, clock);
      const all = await eventHistory(c, {}, { pageSize: 10_000, maxScanned: 10_000 });
      assert.equal(all.nextToken, undefined);
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await eventHistory(c, {}, { pageSize: 20, nextToken: token, maxScanned: 40 });
        seen.push(...page.events.map((e) => e.eventId));
        token = page.nextToken;
        pages++;
      } while (token);
      destroy(c);
      assert.ok(pages > 1);
      // The paging calls themselves are recorded as they go, but only after the listing began:
      // every event of the first listing appears once, in the same order.
      const firstListing = new Set(all.events.map((e) => e.eventId));
      const seenOfFirst = seen.filter((id) => firstListing.has(id));
      assert.equal(new Set(seen).size, seen.length);
      assert.deepEqual(
        seenOfFirst,
        all.events.map((e) => e.eventId),
      );
    });

    it("reports a bad time range with CloudTrail's error", async () => {
      const c = clientsFor(server.url, clock);
      await assert.rejects(eventHistory(c, { startTime: new Date(clock.now()), endTime: new Date(clock.now() - HOUR_MS) }), {
        name: "InvalidTimeRangeException",
      });
      destroy(c);
    });
  });
});
