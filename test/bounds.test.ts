/**
 * Every list and map of every request is bounded, and an oversized encryption context is refused
 * before authorization, with nothing of it in the audit trail; what one audit record holds is
 * bounded as CloudTrail bounds it (issue 19).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { KMS_OPERATIONS } from "../src/kms/registry.js";
import { CLOUDHSMV2_OPERATIONS } from "../src/cloudhsmv2/registry.js";
import { IAM_OPERATIONS } from "../src/iam/registry.js";
import { STS_OPERATIONS } from "../src/sts/registry.js";
import { CLOUDTRAIL_OPERATIONS } from "../src/cloudtrail/registry.js";
import { ORGANIZATIONS_OPERATIONS } from "../src/organizations/registry.js";
import { MAX_ENCRYPTION_CONTEXT_CHARACTERS, MAX_ENCRYPTION_CONTEXT_PAIRS } from "../src/kms/shapes.js";
import { MAX_RECORDED_FIELD_BYTES } from "../src/audit/record.js";
import type { Schema } from "../src/validation/schema.js";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, rejects, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser } from "./iam.js";

/** Each list and map in a schema, with its path, and how it is bounded. */
function collections(schema: Schema, path: string, out: { path: string; schema: Schema }[] = []): { path: string; schema: Schema }[] {
  switch (schema.kind) {
    case "structure":
      for (const [name, member] of Object.entries(schema.members)) collections(member, `${path}.${name}`, out);
      break;
    case "list":
      out.push({ path, schema });
      collections(schema.member, `${path}[]`, out);
      break;
    case "map":
      out.push({ path, schema });
      collections(schema.key, `${path}{key}`, out);
      collections(schema.value, `${path}{value}`, out);
      break;
  }
  return out;
}

const pairs = (n: number, value = "v") => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

describe("bounds: every list and map of a request, the encryption context, the audit record", () => {
  let server: TestServer;
  let kms: KMSClient;
  let trail: CloudTrailClient;
  let keyId: string;

  before(async () => {
    server = await startTestServer();
    kms = server.client();
    trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  });
  after(async () => {
    trail.destroy();
    await server.stop();
  });

  it("every list and map in every service's input schema has a maximum", () => {
    const registries = {
      kms: KMS_OPERATIONS,
      iam: IAM_OPERATIONS,
      sts: STS_OPERATIONS,
      cloudtrail: CLOUDTRAIL_OPERATIONS,
      organizations: ORGANIZATIONS_OPERATIONS,
      cloudhsmv2: CLOUDHSMV2_OPERATIONS,
    };
    let seen = 0;
    const unbounded: string[] = [];
    for (const [service, operations] of Object.entries(registries)) {
      for (const op of operations) {
        for (const c of collections(op.input, `${service}:${op.name}`)) {
          seen++;
          const max = (c.schema as { max?: number }).max;
          if (typeof max !== "number" || !Number.isFinite(max)) unbounded.push(c.path);
        }
      }
    }
    assert.ok(seen >= 20, `only ${seen} lists and maps found: the walk misses some`);
    assert.deepEqual(unbounded, []);
    // Each encryption context is bounded in size as well as in pairs.
    for (const op of KMS_OPERATIONS) {
      for (const c of collections(op.input, op.name)) {
        if (/EncryptionContext$/.test(c.path) && c.schema.kind === "map") {
          assert.ok(c.schema.maxTotal !== undefined || c.schema.max <= 8, `${c.path} has no size bound`);
        }
      }
    }
  });

  it("an encryption context past its bounds is ValidationException, before authorization, and the trail records none of it", async () => {
    // At the bounds: accepted, and it decrypts.
    const atBound = pairs(MAX_ENCRYPTION_CONTEXT_PAIRS);
    const out = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), EncryptionContext: atBound }));
    await kms.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: atBound }));
    const fullSize = { a: "x".repeat(MAX_ENCRYPTION_CONTEXT_CHARACTERS - 2), b: "" };
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), EncryptionContext: fullSize }));

    // One pair too many; one character too many.
    const tooMany = await rejects(
      () =>
        kms.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), EncryptionContext: pairs(MAX_ENCRYPTION_CONTEXT_PAIRS + 1) }),
        ),
      "ValidationException",
    );
    assert.match(
      tooMany.message,
      new RegExp(
        `^1 validation error detected: Value '\\{k0=v, .*\\.\\.\\.' at 'encryptionContext' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENCRYPTION_CONTEXT_PAIRS}$`,
      ),
    );
    const tooLarge = await rejects(
      () => kms.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: { ...fullSize, b: "y" } })),
      "ValidationException",
    );
    assert.match(
      tooLarge.message,
      /at 'encryptionContext' failed to satisfy constraint: Member must have keys and values of total length less than or equal to 8192$/,
    );

    // A caller with no permission at all is refused for the size, not for the permission: the
    // context is refused before any policy is evaluated. The 65,000 pairs (910 KB).
    const nobody = kmsAs(server.url, await makeUser(iamClient(server.url), "nobody"));
    const huge = pairs(65_000);
    const refused = await rejects(
      () => nobody.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), EncryptionContext: huge })),
      "ValidationException",
    );
    assert.ok(refused.message.length < 400, "the message repeats a bounded part of the value");
    await rejects(() => nobody.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") })), "AccessDeniedException");
    nobody.destroy();

    // The trail records the refused calls, without their context.
    const events = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "Username", AttributeValue: "nobody" }] }))
    ).Events!;
    const validation = events.map((e) => JSON.parse(e.CloudTrailEvent!)).filter((r) => r.errorCode === "ValidationException");
    assert.equal(validation.length, 1);
    assert.equal(validation[0].requestParameters, null);
    assert.ok(
      events.every((e) => e.CloudTrailEvent!.length < 4096),
      "no record holds the context",
    );

    // A grant constraint's context: at most 8 pairs, values of at most 384 characters, as KMS documents.
    const grant = (EncryptionContextSubset: Record<string, string>) =>
      kms.send(
        new CreateGrantCommand({
          KeyId: keyId,
          GranteePrincipal: "arn:aws:iam::111122223333:root",
          Operations: ["Decrypt"],
          Constraints: { EncryptionContextSubset },
        }),
      );
    const nine = await rejects(() => grant(pairs(9)), "ValidationException");
    assert.match(
      nine.message,
      /at 'constraints\.encryptionContextSubset' failed to satisfy constraint: Member must have length less than or equal to 8$/,
    );
    const long = await rejects(() => grant({ k: "v".repeat(385) }), "ValidationException");
    assert.match(
      long.message,
      /at 'constraints\.encryptionContextSubset\.k' failed to satisfy constraint: Member must have length less than or equal to 384$/,
    );
  });

  it("a list past the default bound is refused as a whole, its members unread", async () => {
    const tags = Array.from({ length: 1001 }, (_, i) => ({ TagKey: `t${i}`, TagValue: "v" }));
    const e = await rejects(() => kms.send(new CreateKeyCommand({ Tags: tags })), "ValidationException");
    assert.match(
      e.message,
      /^1 validation error detected: Value '\[\{TagKey=t0, TagValue=v\}, .*' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1000$/,
    );
    // Within the bound, each bad member is counted, and the message spells out the first ten.
    const bad = Array.from({ length: 1000 }, (_, i) => ({ TagKey: `${i}`.padEnd(129, "k"), TagValue: "v" }));
    const many = await rejects(() => kms.send(new CreateKeyCommand({ Tags: bad })), "ValidationException");
    assert.match(
      many.message,
      /^1000 validation errors detected: Value '0k+\.\.\.' at 'tags\.1\.member\.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128; /,
    );
    assert.equal(many.message.split("; ").length, 11);
    assert.ok(many.message.endsWith("; ..."));
  });

  it("a record keeps requestParameters of at most 100 KB; past that they are omitted, and the record says so", async () => {
    // 1000 tags of 128 + 256 characters: valid input (the key's 50-tag limit refuses it after validation), ~420 KB of parameters.
    const tags = Array.from({ length: 1000 }, (_, i) => ({ TagKey: `${i}`.padEnd(128, "k"), TagValue: "v".repeat(256) }));
    await rejects(() => kms.send(new CreateKeyCommand({ Description: "many tags", Tags: tags })), "LimitExceededException");
    const events = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateKey" }] }))
    )
      .Events!.map((e) => ({ text: e.CloudTrailEvent!, record: JSON.parse(e.CloudTrailEvent!) }))
      .filter((e) => e.record.errorCode === "LimitExceededException");
    assert.equal(events.length, 1);
    const { text, record } = events[0]!;
    assert.equal(record.requestParameters.omitted, true);
    assert.ok(record.requestParameters.originalSize > MAX_RECORDED_FIELD_BYTES);
    assert.ok(Buffer.byteLength(text) < 8192, `the record is ${Buffer.byteLength(text)} bytes`);
    // Under the bound, parameters are recorded whole.
    const few = tags.slice(0, 51);
    await rejects(() => kms.send(new CreateKeyCommand({ Description: "fewer tags", Tags: few })), "LimitExceededException");
    const whole = (
      await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateKey" }] }))
    )
      .Events!.map((e) => JSON.parse(e.CloudTrailEvent!))
      .find((r) => r.requestParameters?.description === "fewer tags");
    assert.equal(whole.requestParameters.tags.length, 51);
  });
});
