/**
 * Proofs of issue 21's claims about Secrets Manager's encryption and access, through
 * @aws-sdk/client-secrets-manager: what is on disk, what the trail and the log hold, what a KMS key
 * policy sees of a read (kms:ViaService, the SecretARN/SecretVersionId context), the key states and
 * KMS refusals that close a secret, and what another account needs. Each proof carries a positive
 * control (what it looks for is found where it should be), so a scan that reads nothing fails.
 * test/secretsmanager.test.ts covers the operations themselves; this file does not repeat it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretCommand,
} from "@aws-sdk/client-secrets-manager";
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  EnableKeyCommand,
  GenerateDataKeyCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { ACCOUNT_ID, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, ROOT_CREDS, type Creds } from "./iam.js";

const REGION = "us-east-1";
const VIA_SECRETS_MANAGER = `secretsmanager.${REGION}.amazonaws.com`;

function smAs(url: string, credentials: Creds = ROOT_CREDS): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: url, region: REGION, credentials, maxAttempts: 1 });
}

/** Every file under a directory, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/**
 * The forms a value could take on disk: its bytes, UTF-16, lower-case hex, and base64 at each of
 * the three alignments (base64 of a value inside a longer buffer starts at any of them).
 */
function encodings(value: Buffer): Buffer[] {
  const out = [value, Buffer.from(value.toString("hex"))];
  if (value.toString("utf8") === value.toString("latin1")) out.push(Buffer.from(value.toString("latin1"), "utf16le"));
  for (let shift = 0; shift < 3; shift++) {
    // Drop the first and last characters: they depend on the bytes around the value.
    const b64 = value.subarray(shift).toString("base64").replace(/=+$/, "");
    out.push(Buffer.from(b64.slice(1, Math.min(b64.length - 1, 41))));
  }
  return out;
}

/** The files (relative names) of `scanned` that hold any of `needles`. */
function holders(dir: string, scanned: string[], needles: Buffer[]): string[] {
  return scanned.filter((f) => needles.some((n) => readFileSync(f).includes(n))).map((f) => f.slice(dir.length + 1));
}

/** A key policy: the account administers the key (delegating to IAM), and the given statements. */
function keyPolicy(...statements: object[]): string {
  return policy(
    {
      Sid: "Administration by the account, no use",
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
      Action: [
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "kms:Put*",
        "kms:Enable*",
        "kms:Disable*",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion",
      ],
      Resource: "*",
    },
    ...statements,
  );
}

describe("Secrets Manager: proofs of encryption and access", () => {
  let server: TestServer;
  let sm: SecretsManagerClient;

  before(async () => {
    server = await startTestServer();
    sm = smAs(server.url);
  });
  after(async () => {
    sm.destroy();
    await server.stop();
  });

  it("no file of the data directory, the SQLite WAL included, holds a string or binary value in any encoding", async () => {
    const name = `proof/scan-${randomUUID()}`;
    const text = `scan-canary-${randomUUID()}`;
    const binary = Buffer.concat([Buffer.from([0, 0xff, 0xfe]), randomBytes(61)]);
    const key = (await server.client().send(new CreateKeyCommand({ Description: "scan" }))).KeyMetadata!;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: text }));
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: `${text}-put` }));
    await sm.send(new UpdateSecretCommand({ SecretId: name, SecretString: `${text}-update`, KmsKeyId: key.Arn }));
    await sm.send(new CreateSecretCommand({ Name: `${name}-bin`, SecretBinary: binary, KmsKeyId: key.Arn }));
    await sm.send(new PutSecretValueCommand({ SecretId: `${name}-bin`, SecretBinary: Buffer.concat([binary, binary]) }));
    // The values are there, and readable: what is scanned for is what was stored.
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, `${text}-update`);
    assert.deepEqual(
      Buffer.from((await sm.send(new GetSecretValueCommand({ SecretId: `${name}-bin`, VersionStage: "AWSPREVIOUS" }))).SecretBinary!),
      binary,
    );

    const scanned = files(server.dataDir);
    const wal = scanned.filter((f) => f.endsWith("-wal") && statSync(f).size > 0);
    assert.ok(wal.length > 0, `a non-empty SQLite WAL is among the files scanned: ${scanned.join(", ")}`);
    assert.ok(
      scanned.some((f) => /audit/.test(f) && f.endsWith(".log")),
      "the audit segments are among the files scanned",
    );
    // Positive control: the secret's name (not secret) is found, in the database and in the trail.
    const named = holders(server.dataDir, scanned, [Buffer.from(name)]);
    assert.ok(
      named.some((f) => /\.db(-wal)?$/.test(f)),
      `the name is in the database files: ${named.join(", ")}`,
    );
    assert.ok(
      named.some((f) => f.endsWith(".log")),
      `the name is in the audit segments: ${named.join(", ")}`,
    );

    for (const value of [text, `${text}-put`, `${text}-update`]) {
      assert.deepEqual(holders(server.dataDir, scanned, encodings(Buffer.from(value))), [], `${value} is on disk`);
    }
    assert.deepEqual(holders(server.dataDir, scanned, encodings(binary)), [], "the binary value is on disk");
  });

  it("the trail (LookupEvents and the segment files) and the server log hold no value, password or PutSecretValue token", async () => {
    const name = `proof/audit-${randomUUID()}`;
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const token = randomUUID();
    const binary = randomBytes(48);
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: "app", password: "first-pw-0c1d" }) }));
    const put = await sm.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: JSON.stringify({ username: "app", password }) }),
    );
    assert.equal(put.VersionId, token);
    // The same token again with the same value succeeds; with another it is refused: both are recorded, neither with its token.
    await sm.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: JSON.stringify({ username: "app", password }) }),
    );
    await rejects(
      () => sm.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: `${password}-other` })),
      "ResourceExistsException",
    );
    await rejects(
      () => sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: `${password}-both`, SecretBinary: binary })),
      "InvalidParameterException",
    );
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretBinary: binary }));
    const random = (await sm.send(new GetRandomPasswordCommand({ PasswordLength: 40 }))).RandomPassword!;
    await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: token }));

    const needles = [
      ...encodings(Buffer.from(password)),
      ...encodings(Buffer.from("first-pw-0c1d")),
      ...encodings(binary),
      ...encodings(Buffer.from(random)),
    ];
    const trail = new CloudTrailClient({ endpoint: server.url, region: REGION, credentials: ROOT_CREDS, maxAttempts: 1 });
    try {
      const raw: string[] = [];
      let NextToken: string | undefined;
      do {
        const page = await trail.send(new LookupEventsCommand({ MaxResults: 50, NextToken }));
        raw.push(...page.Events!.map((e) => e.CloudTrailEvent!));
        NextToken = page.NextToken;
      } while (NextToken);
      const records = raw.map((r) => JSON.parse(r) as Record<string, any>);
      // Positive control: the five PutSecretValue calls are in the trail, the refused ones with their error.
      const puts = records.filter((r) => r.eventName === "PutSecretValue" && r.requestParameters?.secretId === name);
      assert.equal(puts.length, 5);
      assert.deepEqual(puts.map((r) => r.errorCode ?? "").sort(), ["", "", "", "InvalidParameterException", "ResourceExistsException"]);
      for (const text of raw) {
        assert.ok(!needles.some((n) => text.includes(n.toString("latin1"))), `a value in the trail: ${text}`);
      }
      // The token is not recorded as a request parameter. It becomes the version's id, and as such
      // is named where a version is: the answer's versionId, a later read by VersionId, and the
      // SecretVersionId of the KMS call's encryption context (as AWS's KMS events name it).
      for (const r of puts) {
        assert.ok(!JSON.stringify(r.requestParameters).includes(token), `the token in a PutSecretValue request: ${JSON.stringify(r)}`);
        assert.equal(r.requestParameters.clientRequestToken, undefined);
      }
      assert.ok(
        records.some((r) => r.eventName === "GenerateDataKey" && r.requestParameters?.encryptionContext?.SecretVersionId === token),
      );

      const segments = files(server.dataDir).filter((f) => /audit/.test(f) && f.endsWith(".log"));
      const lines = segments.flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean));
      assert.ok(
        lines.some((l) => l.includes('"PutSecretValue"') && l.includes(name)),
        "the segments hold the calls",
      );
      for (const f of segments) {
        const bytes = readFileSync(f);
        for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${f} holds a value`);
      }
      const putLines = lines.filter((l) => l.includes('"eventName":"PutSecretValue"') && l.includes(name));
      assert.equal(putLines.length, 5);
      for (const line of putLines) {
        const requestParameters = JSON.stringify((JSON.parse(line) as { requestParameters: unknown }).requestParameters);
        assert.ok(!requestParameters.includes(token), `the token in a segment's PutSecretValue record: ${line}`);
      }
      for (const line of server.logs) {
        assert.ok(!needles.some((n) => line.includes(n.toString("latin1"))) && !line.includes(token), `in the log: ${line}`);
      }
    } finally {
      trail.destroy();
    }
  });

  it("a key pending deletion is DecryptionFailure, and so is the Disabled key its cancellation leaves; a Deny of kms:Decrypt in the key policy is AccessDeniedException", async () => {
    const kms = server.client();
    const key = (await kms.send(new CreateKeyCommand({ Description: "to delete" }))).KeyMetadata!;
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: "proof/pending", SecretString: "pending value", KmsKeyId: key.Arn }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    const pending = await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: ARN })), "DecryptionFailure");
    assert.equal(pending.$metadata?.httpStatusCode, 400);
    assert.match(pending.message, /pending deletion/);
    await rejects(() => sm.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: "x" })), "EncryptionFailure");
    await kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: ARN })), "DecryptionFailure");
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString, "pending value");

    // The caller's own policies allow everything; the key policy's explicit Deny wins.
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: key.KeyId,
        PolicyName: "default",
        Policy: policy(
          { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" },
          { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" },
        ),
      }),
    );
    const denied = await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: ARN })), "AccessDeniedException");
    assert.equal(denied.message, "Access to KMS is not allowed");
    // Writing needs GenerateDataKey only: still allowed, and the new value is as closed as the old.
    await sm.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: "newer" }));
    await rejects(() => sm.send(new GetSecretValueCommand({ SecretId: ARN })), "AccessDeniedException");
  });

  it("a key policy sees kms:ViaService secretsmanager.<region>.amazonaws.com and the SecretARN/SecretVersionId context", async () => {
    const iam = iamClient(server.url);
    const kms = server.client();
    const userArn = `arn:aws:iam::${ACCOUNT_ID}:user/via-user`;
    const creds = await makeUser(iam, "via-user", {
      all: policy({ Effect: "Allow", Action: ["secretsmanager:*", "kms:*"], Resource: "*" }),
    });
    const user = smAs(server.url, creds);
    const userKms = kmsAs(server.url, creds);
    const viaSecretsManager = (actions: string | string[], via = VIA_SECRETS_MANAGER, extra: Record<string, string> = {}) => ({
      Effect: "Allow",
      Principal: { AWS: userArn },
      Action: actions,
      Resource: "*",
      Condition: {
        StringEquals: { "kms:ViaService": via, ...extra },
        StringLike: { "kms:EncryptionContext:SecretARN": `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:proof/via-*` },
      },
    });
    try {
      // Through Secrets Manager only: the secret works, the key directly does not.
      const only = (await kms.send(new CreateKeyCommand({ Policy: keyPolicy(viaSecretsManager(["kms:GenerateDataKey", "kms:Decrypt"])) })))
        .KeyMetadata!;
      await user.send(new CreateSecretCommand({ Name: "proof/via-sm", SecretString: "via sm", KmsKeyId: only.Arn }));
      assert.equal((await user.send(new GetSecretValueCommand({ SecretId: "proof/via-sm" }))).SecretString, "via sm");
      await rejects(
        () =>
          userKms.send(
            new GenerateDataKeyCommand({
              KeyId: only.Arn,
              KeySpec: "AES_256",
              EncryptionContext: { SecretARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:proof/via-sm-AAAAAA` },
            }),
          ),
        "AccessDeniedException",
      );
      // A secret whose ARN the condition does not match is refused the data key.
      const other = await rejects(
        () => user.send(new CreateSecretCommand({ Name: "proof/elsewhere", SecretString: "x", KmsKeyId: only.Arn })),
        "AccessDeniedException",
      );
      assert.equal(other.message, "Access to KMS is not allowed");

      // Decrypt allowed through another service only: the value is written, and stays closed.
      const s3Only = (
        await kms.send(
          new CreateKeyCommand({
            Policy: keyPolicy(viaSecretsManager("kms:GenerateDataKey"), viaSecretsManager("kms:Decrypt", `s3.${REGION}.amazonaws.com`)),
          }),
        )
      ).KeyMetadata!;
      await user.send(new CreateSecretCommand({ Name: "proof/via-s3", SecretString: "via s3", KmsKeyId: s3Only.Arn }));
      const refused = await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "proof/via-s3" })), "AccessDeniedException");
      assert.equal(refused.message, "Access to KMS is not allowed");

      // Decrypt of one version only (kms:EncryptionContext:SecretVersionId): the version id is what the policy sees.
      const first = randomUUID();
      const versioned = (
        await kms.send(
          new CreateKeyCommand({
            Policy: keyPolicy(
              viaSecretsManager("kms:GenerateDataKey"),
              viaSecretsManager("kms:Decrypt", VIA_SECRETS_MANAGER, { "kms:EncryptionContext:SecretVersionId": first }),
            ),
          }),
        )
      ).KeyMetadata!;
      await user.send(
        new CreateSecretCommand({
          Name: "proof/via-version",
          SecretString: "version one",
          KmsKeyId: versioned.Arn,
          ClientRequestToken: first,
        }),
      );
      assert.equal((await user.send(new GetSecretValueCommand({ SecretId: "proof/via-version" }))).SecretString, "version one");
      const second = await user.send(new PutSecretValueCommand({ SecretId: "proof/via-version", SecretString: "version two" }));
      assert.notEqual(second.VersionId, first);
      await rejects(() => user.send(new GetSecretValueCommand({ SecretId: "proof/via-version" })), "AccessDeniedException");
      const previous = await user.send(new GetSecretValueCommand({ SecretId: "proof/via-version", VersionStage: "AWSPREVIOUS" }));
      assert.equal(previous.VersionId, first);
      assert.equal(previous.SecretString, "version one");
    } finally {
      user.destroy();
      userKms.destroy();
      iam.destroy();
    }
  });

  it("another account reads by ARN with the secret's resource policy and the key's policy, and without either is refused", async () => {
    const { createAccount } = await import("../src/app.js");
    const { testConfig } = await import("./helpers.js");
    const other = "444455556666";
    const b = await createAccount(testConfig(server.dataDir), other);
    const iamB = iamClient(server.url, b);
    const reader = await makeUser(iamB, "reader", {
      read: policy({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "kms:Decrypt"], Resource: "*" }),
    });
    const idle = await makeUser(iamB, "idle");
    const asReader = smAs(server.url, reader);
    const asIdle = smAs(server.url, idle);
    const kms = server.client();
    const owner = { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: "kms:*", Resource: "*" };
    const forB = { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other}:root` }, Action: "kms:Decrypt", Resource: "*" };
    try {
      const key = (await kms.send(new CreateKeyCommand({ Policy: policy(owner, forB) }))).KeyMetadata!;
      const { ARN } = await sm.send(new CreateSecretCommand({ Name: "proof/shared", SecretString: "shared value", KmsKeyId: key.Arn }));
      const share = policy({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${other}:root` },
        Action: "secretsmanager:GetSecretValue",
        Resource: "*",
      });
      await sm.send(new PutResourcePolicyCommand({ SecretId: ARN, ResourcePolicy: share, BlockPublicPolicy: true }));
      assert.equal((await asReader.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString, "shared value");
      // Both accounts must allow: B's user without an identity policy of its own is refused.
      await rejects(() => asIdle.send(new GetSecretValueCommand({ SecretId: ARN })), "AccessDeniedException");

      // The key's policy no longer names B: Secrets Manager lets B in, KMS does not.
      await kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: "default", Policy: policy(owner) }));
      const noKey = await rejects(() => asReader.send(new GetSecretValueCommand({ SecretId: ARN })), "AccessDeniedException");
      assert.equal(noKey.message, "Access to KMS is not allowed");

      // The key's policy names B again, the resource policy is gone: refused by Secrets Manager.
      await kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: "default", Policy: policy(owner, forB) }));
      assert.equal((await asReader.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString, "shared value");
      await sm.send(new DeleteResourcePolicyCommand({ SecretId: ARN }));
      const noPolicy = await rejects(() => asReader.send(new GetSecretValueCommand({ SecretId: ARN })), "AccessDeniedException");
      assert.match(noPolicy.message, /secretsmanager:GetSecretValue/);
    } finally {
      asReader.destroy();
      asIdle.destroy();
      iamB.destroy();
    }
  });
});
