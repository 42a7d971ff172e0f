import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { CloudTrailClient, LookupEventsCommand, type Event } from "@aws-sdk/client-cloudtrail";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  CreateGrantCommand,
  DeleteAliasCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GenerateRandomCommand,
  GetKeyLastUsageCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  SignCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, rejects, startTestServer, type TestServer } from "./helpers.js";
import { call } from "./raw-requests.js";
import { iamClient, policy, stsClient } from "./iam.js";
import { NEVER_LOGGED, redact } from "../src/audit/record.js";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("audit trail: CloudTrail records, LookupEvents, GetKeyLastUsage", () => {
  let server: TestServer;
  let kms: KMSClient;
  let trail: CloudTrailClient;
  let keyArn: string;
  let keyId: string;
  const lookup = async (key: string, value: string, extra: Record<string, unknown> = {}): Promise<Event[]> =>
    (await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: key as never, AttributeValue: value }], ...extra })))
      .Events!;
  before(async () => {
    server = await startTestServer();
    kms = server.client();
    trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const md = (await kms.send(new CreateKeyCommand({ Description: "audited" }))).KeyMetadata!;
    keyArn = md.Arn!;
    keyId = md.KeyId!;
  });
  after(async () => {
    trail.destroy();
    await server.stop();
  });

  it("records a successful call with the fields CloudTrail has, and the request id the caller saw", async () => {
    const out = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("audited plaintext"), EncryptionContext: { app: "audit" } }),
    );
    const events = await lookup("EventName", "Encrypt");
    assert.ok(events.length >= 1);
    const e = events[0]!;
    assert.equal(e.EventName, "Encrypt");
    assert.equal(e.EventSource, "kms.amazonaws.com");
    assert.equal(e.ReadOnly, "true");
    assert.equal(e.AccessKeyId, ACCESS_KEY_ID);
    assert.equal(e.Username, "root");
    assert.deepEqual(e.Resources, [{ ResourceType: "AWS::KMS::Key", ResourceName: keyArn }]);
    const r = JSON.parse(e.CloudTrailEvent!);
    assert.equal(r.eventVersion, "1.11");
    assert.deepEqual(r.userIdentity, {
      type: "Root",
      principalId: ACCOUNT_ID,
      arn: `arn:aws:iam::${ACCOUNT_ID}:root`,
      accountId: ACCOUNT_ID,
      accessKeyId: ACCESS_KEY_ID,
    });
    assert.match(r.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(r.eventSource, "kms.amazonaws.com");
    assert.equal(r.eventName, "Encrypt");
    assert.equal(r.awsRegion, "us-east-1");
    assert.equal(r.sourceIPAddress, "127.0.0.1");
    assert.match(r.userAgent, /aws-sdk-js/);
    // CloudTrail records the algorithm of an Encrypt the caller named none for.
    assert.deepEqual(r.requestParameters, { keyId, encryptionContext: { app: "audit" }, encryptionAlgorithm: "SYMMETRIC_DEFAULT" });
    assert.equal(r.responseElements, null);
    assert.equal(r.requestID, out.$metadata.requestId);
    assert.equal(r.eventID, e.EventId);
    assert.equal(r.readOnly, true);
    assert.deepEqual(r.resources, [{ accountId: ACCOUNT_ID, type: "AWS::KMS::Key", ARN: keyArn }]);
    assert.equal(r.eventType, "AwsApiCall");
    assert.equal(r.managementEvent, true);
    assert.equal(r.recipientAccountId, ACCOUNT_ID);
    assert.equal(r.eventCategory, "Management");
    assert.equal(r.errorCode, undefined);
    assert.equal(typeof r.additionalEventData.keyholdSequence, "number");
    assert.match(r.additionalEventData.keyholdPreviousHash, /^[0-9a-f]{64}$/);
    const { KeyMaterialId } = await kms.send(
      new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: { app: "audit" } }),
    );
    assert.match(KeyMaterialId!, /^[0-9a-f]{64}$/);
    assert.equal(r.additionalEventData.keyMaterialId, KeyMaterialId);
  });

  it("records the algorithms the caller left out and the key material each cryptographic call used, as CloudTrail does", async () => {
    const other = (await kms.send(new CreateKeyCommand({ Description: "destination" }))).KeyMetadata!;
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }));
    const named = await kms.send(
      new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, KeyId: keyArn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" }),
    );
    const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, DestinationKeyId: other.KeyId! }));
    const record = async (requestId: string | undefined) => {
      const events = [...(await lookup("EventSource", "kms.amazonaws.com", { MaxResults: 50 }))];
      const found = events.map((e) => JSON.parse(e.CloudTrailEvent!)).find((r) => r.requestID === requestId);
      assert.ok(found, `the event of request ${requestId}`);
      return found;
    };
    const gdk = await record(dataKey.$metadata.requestId);
    assert.deepEqual(gdk.requestParameters, { keyId, keySpec: "AES_256" });
    assert.equal(gdk.additionalEventData.keyMaterialId, dataKey.KeyMaterialId);
    const dec = await record(decrypted.$metadata.requestId);
    assert.deepEqual(dec.requestParameters, { encryptionAlgorithm: "SYMMETRIC_DEFAULT" });
    assert.equal(dec.additionalEventData.keyMaterialId, decrypted.KeyMaterialId);
    // What the caller named is recorded as named, once.
    const dn = await record(named.$metadata.requestId);
    assert.deepEqual(dn.requestParameters, { keyId: keyArn, encryptionAlgorithm: "SYMMETRIC_DEFAULT" });
    const r = await record(re.$metadata.requestId);
    assert.deepEqual(r.requestParameters, {
      destinationKeyId: other.KeyId,
      sourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      destinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
    });
    assert.equal(r.additionalEventData.sourceKeyMaterialId, dataKey.KeyMaterialId);
    assert.equal(r.additionalEventData.destinationKeyMaterialId, re.DestinationKeyMaterialId);
    assert.notEqual(re.DestinationKeyMaterialId, dataKey.KeyMaterialId);
    assert.equal(typeof r.additionalEventData.keyholdSequence, "number");
  });

  it("records a management call's response, and a validation failure with its error and no parameters", async () => {
    const created = await kms.send(new CreateKeyCommand({ Description: "shape" }));
    const ok = JSON.parse((await lookup("ResourceName", created.KeyMetadata!.Arn!))[0]!.CloudTrailEvent!);
    assert.equal(ok.eventName, "CreateKey");
    assert.equal(ok.readOnly, false);
    assert.equal(ok.requestParameters.description, "shape");
    assert.equal(ok.responseElements.keyMetadata.keyId, created.KeyMetadata!.KeyId);
    assert.equal(ok.responseElements.keyId, undefined, "CreateKey's answer names its key already");
    // A change whose answer names no key: CloudTrail records the key's ARN in responseElements.keyId.
    await kms.send(new DisableKeyCommand({ KeyId: created.KeyMetadata!.KeyId }));
    const disabled = JSON.parse((await lookup("EventName", "DisableKey"))[0]!.CloudTrailEvent!);
    assert.deepEqual(disabled.responseElements, { keyId: created.KeyMetadata!.Arn });
    // An alias's events name the alias (typed AWS::KMS::Key, as CloudTrail types it) and the key it named.
    await kms.send(new CreateAliasCommand({ AliasName: "alias/audited", TargetKeyId: created.KeyMetadata!.KeyId }));
    await kms.send(new DeleteAliasCommand({ AliasName: "alias/audited" }));
    const aliasArn = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:alias/audited`;
    const deleted = JSON.parse((await lookup("EventName", "DeleteAlias"))[0]!.CloudTrailEvent!);
    assert.deepEqual(deleted.responseElements, { keyId: created.KeyMetadata!.Arn });
    assert.deepEqual(deleted.resources, [
      { accountId: ACCOUNT_ID, type: "AWS::KMS::Key", ARN: aliasArn },
      { accountId: ACCOUNT_ID, type: "AWS::KMS::Key", ARN: created.KeyMetadata!.Arn },
    ]);
    assert.equal((await lookup("ResourceName", aliasArn)).length, 2, "CreateAlias and DeleteAlias, found by the alias");

    await rejects(() => kms.send(new CreateKeyCommand({ KeyUsage: "NOPE" as never })), "ValidationException");
    const failed = (await lookup("EventName", "CreateKey")).map((e) => JSON.parse(e.CloudTrailEvent!)).find((r) => r.errorCode);
    assert.ok(failed, "the failed call is in the trail");
    assert.equal(failed.errorCode, "ValidationException");
    assert.match(failed.errorMessage, /enum value set/);
    assert.equal(failed.requestParameters, null);
    assert.equal(failed.responseElements, null);
  });

  it("records a request whose signature fails, attributed to the access key and account it claimed", async () => {
    const res = await call(server.url, "TrentService.ListKeys", "{}", { secretAccessKey: "not-the-secret" });
    assert.equal(res.status, 400);
    const events = await lookup("EventName", "ListKeys");
    const r = JSON.parse(events.find((e) => JSON.parse(e.CloudTrailEvent!).errorCode)!.CloudTrailEvent!);
    assert.equal(r.errorCode, "InvalidSignatureException");
    assert.deepEqual(r.userIdentity, { type: "Unknown", accountId: ACCOUNT_ID, accessKeyId: ACCESS_KEY_ID });
    assert.equal(r.recipientAccountId, ACCOUNT_ID);
    assert.equal(r.requestID, res.headers["x-amzn-requestid"]);
  });

  it("never records plaintexts, data keys, ciphertexts, random bytes, grant tokens, secret access keys or session tokens", async () => {
    const secrets: Buffer[] = [Buffer.from("the launch codes are 0000-0000-0000")];
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: secrets[0] }));
    secrets.push(Buffer.from(enc.CiphertextBlob!));
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    secrets.push(Buffer.from(dk.Plaintext!), Buffer.from(dk.CiphertextBlob!));
    const dkw = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 48 }));
    secrets.push(Buffer.from(dkw.CiphertextBlob!));
    secrets.push(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: dkw.CiphertextBlob }))).Plaintext!));
    const re = await kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: keyId }));
    secrets.push(Buffer.from(re.CiphertextBlob!));
    secrets.push(Buffer.from((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 64 }))).Plaintext!));
    const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: "ECC_NIST_P256" }));
    secrets.push(Buffer.from(pair.PrivateKeyPlaintext!), Buffer.from(pair.PrivateKeyCiphertextBlob!));
    // What a signature is made over, and a MAC's message and tag.
    const signer = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.KeyId!;
    const signed = Buffer.from("wire 1,000,000 to account 42");
    const signature = await kms.send(new SignCommand({ KeyId: signer, Message: signed, SigningAlgorithm: "ECDSA_SHA_256" }));
    secrets.push(signed, Buffer.from(signature.Signature!));
    const macKey = (await kms.send(new CreateKeyCommand({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }))).KeyMetadata!.KeyId!;
    const macked = Buffer.from("session cookie 7f3a");
    const mac = await kms.send(new GenerateMacCommand({ KeyId: macKey, Message: macked, MacAlgorithm: "HMAC_SHA_256" }));
    secrets.push(macked, Buffer.from(mac.Mac!));
    await rejects(() => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4097, 7) })), "ValidationException");
    // A grant token lets its holder use the grant at once: CloudTrail records the grant's id, not its token.
    const root = `arn:aws:iam::${ACCOUNT_ID}:root`;
    const grant = await kms.send(
      new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: root, RetiringPrincipal: root, Operations: ["Encrypt"] }),
    );
    secrets.push(Buffer.from(grant.GrantToken!));
    await kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
    const granted = JSON.parse((await lookup("EventName", "CreateGrant"))[0]!.CloudTrailEvent!);
    assert.deepEqual(granted.responseElements, { grantId: grant.GrantId, keyId: keyArn });
    // CreateAccessKey answers with the new secret; its event keeps the rest of the answer, as CloudTrail does.
    const iam = iamClient(server.url);
    await iam.send(new CreateUserCommand({ UserName: "audited-user" }));
    const made = (await iam.send(new CreateAccessKeyCommand({ UserName: "audited-user" }))).AccessKey!;
    secrets.push(Buffer.from(made.SecretAccessKey!));
    const madeRecord = JSON.parse((await lookup("EventName", "CreateAccessKey"))[0]!.CloudTrailEvent!);
    assert.equal(madeRecord.responseElements.accessKey.accessKeyId, made.AccessKeyId);
    assert.equal(madeRecord.responseElements.accessKey.secretAccessKey, undefined);
    // AssumeRole is read-only, yet CloudTrail records its answer: the session's access key id,
    // expiry and assumed-role user; keyhold leaves out the secret and (unlike CloudTrail) the token.
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "audited-user",
        PolicyName: "assume",
        PolicyDocument: policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }),
      }),
    );
    const role = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: "audited-role",
          AssumeRolePolicyDocument: policy({
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:user/audited-user` },
            Action: "sts:AssumeRole",
          }),
        }),
      )
    ).Role!;
    const sts = stsClient(server.url, { accessKeyId: made.AccessKeyId!, secretAccessKey: made.SecretAccessKey! });
    const session = await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "audited-session", DurationSeconds: 900 }));
    sts.destroy();
    secrets.push(Buffer.from(session.Credentials!.SecretAccessKey!), Buffer.from(session.Credentials!.SessionToken!));
    const assumed = JSON.parse((await lookup("EventName", "AssumeRole"))[0]!.CloudTrailEvent!);
    assert.equal(assumed.readOnly, true);
    assert.deepEqual(assumed.requestParameters, { roleArn: role.Arn, roleSessionName: "audited-session", durationSeconds: 900 });
    assert.deepEqual(assumed.responseElements, {
      credentials: {
        accessKeyId: session.Credentials!.AccessKeyId,
        expiration: session.Credentials!.Expiration!.toISOString().replace(".000Z", "Z"),
      },
      assumedRoleUser: { assumedRoleId: session.AssumedRoleUser!.AssumedRoleId, arn: session.AssumedRoleUser!.Arn },
    });
    assert.deepEqual(assumed.resources, [{ accountId: ACCOUNT_ID, type: "AWS::IAM::Role", ARN: role.Arn }]);
    await server.keyhold.audit.digest();

    const files = filesUnder(server.dataDir).filter((f) => f.includes("audit"));
    assert.ok(files.length >= 1);
    const blobs = files.map((f) => ({ f, bytes: readFileSync(f) }));
    for (const s of secrets) {
      for (const form of [s, Buffer.from(s.toString("base64")), Buffer.from(s.toString("hex"))]) {
        for (const { f, bytes } of blobs) assert.ok(!bytes.includes(form), `a secret was found in ${f}`);
      }
    }
    for (const { f, bytes } of blobs) assert.ok(!bytes.includes(Buffer.from(SECRET_ACCESS_KEY)), `the secret access key was found in ${f}`);
    // The events are there all the same.
    assert.ok((await lookup("EventName", "GenerateRandom")).length >= 1);
  });

  it("redaction drops secret-bearing members at any depth, and keeps a map's keys as the caller wrote them", () => {
    const context = Object.assign(Object.create(null) as Record<string, string>, { Password: "caller's own context value" });
    const input = {
      KeyId: "k",
      Credentials: { AccessKeyId: "ASIAEXAMPLE", SecretAccessKey: "s1", SessionToken: "t1" },
      Versions: [{ SecretString: "s2", SecretBinary: Buffer.from("s3"), Name: "v" }],
      Export: { PrivateKey: "-----BEGIN PRIVATE KEY-----", Passphrase: Buffer.from("p"), Certificate: "c" },
      RandomPassword: "s4",
      EncryptionContext: context,
    };
    assert.deepEqual(redact(input), {
      keyId: "k",
      credentials: { accessKeyId: "ASIAEXAMPLE" },
      versions: [{ name: "v" }],
      export: { certificate: "c" },
      encryptionContext: { Password: "caller's own context value" },
    });
    for (const name of ["SecretAccessKey", "SessionToken", "SecretString", "GrantToken", "PrivateKey"]) assert.ok(NEVER_LOGGED.has(name));
  });

  it("LookupEvents filters by each attribute, pages newest first, and keeps accounts' regions apart", async () => {
    const before = new Date(Date.now() - 1000);
    for (let i = 0; i < 5; i++) await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`page ${i}`) }));
    const all: Event[] = [];
    let token: string | undefined;
    do {
      const page = await trail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: keyArn }],
          MaxResults: 2,
          NextToken: token,
        }),
      );
      assert.ok(page.Events!.length <= 2);
      all.push(...page.Events!);
      token = page.NextToken;
    } while (token);
    const times = all.map((e) => e.EventTime!.getTime());
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      "newest first",
    );
    const seqs = all.map((e) => JSON.parse(e.CloudTrailEvent!).additionalEventData.keyholdSequence as number);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
    );
    assert.equal(new Set(all.map((e) => e.EventId)).size, all.length, "no event twice across pages");

    const one = all[0]!;
    assert.deepEqual(
      (await lookup("EventId", one.EventId!)).map((e) => e.EventId),
      [one.EventId],
    );
    assert.ok((await lookup("ReadOnly", "false")).every((e) => e.ReadOnly === "false"));
    assert.ok((await lookup("ReadOnly", "true")).every((e) => e.ReadOnly === "true"));
    assert.ok((await lookup("AccessKeyId", ACCESS_KEY_ID)).length > 0);
    assert.ok((await lookup("Username", "root")).length > 0);
    assert.ok((await lookup("EventSource", "kms.amazonaws.com")).length > 0);
    assert.ok((await lookup("ResourceType", "AWS::KMS::Key")).length > 0);
    assert.deepEqual(await lookup("EventName", "NoSuchEvent"), []);
    const windowed = await trail.send(new LookupEventsCommand({ StartTime: before, EndTime: new Date(Date.now() + 1000) }));
    assert.ok(windowed.Events!.every((e) => e.EventTime!.getTime() >= Math.floor(before.getTime() / 1000) * 1000));
    assert.deepEqual((await trail.send(new LookupEventsCommand({ EndTime: new Date(0) }))).Events, []);

    const west = server.client("us-west-2");
    await west.send(new CreateKeyCommand({ Description: "west" }));
    const westTrail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-west-2",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    const westEvents = (await westTrail.send(new LookupEventsCommand({}))).Events!;
    assert.ok(westEvents.length >= 1 && westEvents.every((e) => JSON.parse(e.CloudTrailEvent!).awsRegion === "us-west-2"));
    assert.ok(
      (await trail.send(new LookupEventsCommand({}))).Events!.every((e) => JSON.parse(e.CloudTrailEvent!).awsRegion === "us-east-1"),
    );
    westTrail.destroy();
  });

  it("LookupEvents refuses what CloudTrail refuses", async () => {
    const two = [
      { AttributeKey: "EventName" as const, AttributeValue: "Encrypt" },
      { AttributeKey: "Username" as const, AttributeValue: "root" },
    ];
    await rejects(() => trail.send(new LookupEventsCommand({ LookupAttributes: two })), "InvalidLookupAttributesException");
    await rejects(
      () => trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "Color" as never, AttributeValue: "x" }] })),
      "InvalidLookupAttributesException",
    );
    await rejects(() => trail.send(new LookupEventsCommand({ MaxResults: 51 })), "InvalidMaxResultsException");
    await rejects(() => trail.send(new LookupEventsCommand({ MaxResults: 0 })), "InvalidMaxResultsException");
    await rejects(
      () => trail.send(new LookupEventsCommand({ StartTime: new Date(2000), EndTime: new Date(1000) })),
      "InvalidTimeRangeException",
    );
    await rejects(() => trail.send(new LookupEventsCommand({ NextToken: "forged" })), "InvalidNextTokenException");
    await rejects(() => trail.send(new LookupEventsCommand({ EventCategory: "other" as never })), "InvalidEventCategoryException");
  });

  it("GetKeyLastUsage answers from the trail: nothing for a fresh key, then the last successful cryptographic call", async () => {
    const fresh = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const none = await kms.send(new GetKeyLastUsageCommand({ KeyId: fresh.KeyId }));
    assert.equal(none.KeyId, fresh.KeyId);
    assert.equal(none.KeyLastUsage?.Operation, undefined);
    assert.equal(none.KeyCreationDate!.getTime(), fresh.CreationDate!.getTime());
    assert.ok(none.TrackingStartDate!.getTime() >= fresh.CreationDate!.getTime());

    const enc = await kms.send(new EncryptCommand({ KeyId: fresh.KeyId, Plaintext: Buffer.from("x") }));
    await rejects(
      () => kms.send(new DecryptCommand({ CiphertextBlob: Buffer.concat([Buffer.from(enc.CiphertextBlob!), Buffer.from([1])]) })),
      "InvalidCiphertextException",
    );
    const used = await kms.send(new GetKeyLastUsageCommand({ KeyId: fresh.Arn }));
    assert.equal(used.KeyLastUsage!.Operation, "Encrypt", "a failed Decrypt does not count");
    assert.equal(used.KeyLastUsage!.KmsRequestId, enc.$metadata.requestId);
    const event = (await lookup("EventId", used.KeyLastUsage!.CloudTrailEventId!))[0]!;
    assert.equal(JSON.parse(event.CloudTrailEvent!).requestID, enc.$metadata.requestId);
    await rejects(() => kms.send(new GetKeyLastUsageCommand({ KeyId: "00000000-0000-0000-0000-000000000000" })), "NotFoundException");
  });
});
