/**
 * A call's CloudTrail record is written member by member (src/audit/record.ts, buildEvent): its
 * text must be what JSON.stringify of the record object gives, member order included, whatever
 * the strings hold (quotes, backslashes, line separators, non-ASCII), with errors, oversized
 * fields, a call made on the caller's behalf and a call of no known caller.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { CompletedCall } from "../src/call.js";
import { buildEvents, buildRelatedEvent, MAX_RECORDED_FIELD_BYTES, type AuditEvent } from "../src/audit/record.js";

const A = "111122223333";
const SECRET = `arn:aws:secretsmanager:us-east-1:${A}:secret:orders/db-AbCdEf`;
const KEY = `arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ODD = 'a "quoted" \\ back\u2028slash\n é €';

const user = {
  accountId: A,
  accessKeyId: "AKIAUSERUSERUSER0001",
  principal: Object.freeze({
    type: "IAMUser" as const,
    accountId: A,
    arn: `arn:aws:iam::${A}:user/alice`,
    principalId: "AIDAALICE",
    userName: "alice",
  }),
};

function call(over: Partial<CompletedCall> = {}): CompletedCall {
  return {
    requestId: "req-1",
    time: Date.UTC(2026, 11, 7, 14, 0, 0, 250),
    service: "secretsmanager",
    operation: "GetSecretValue",
    readOnly: true,
    region: "us-east-1",
    sourceIp: "192.0.2.1",
    userAgent: ODD,
    caller: user,
    trail: { input: { SecretId: ODD }, resources: [{ arn: SECRET, type: "AWS::SecretsManager::Secret" }] },
    ...over,
  };
}

/** The record of an event, closed as the trail closes it. */
function recordOf(event: AuditEvent): Record<string, unknown> {
  return JSON.parse(event.recordPrefix + '"keyholdSequence":1}}') as Record<string, unknown>;
}

const ORDER = [
  "eventVersion",
  "userIdentity",
  "eventTime",
  "eventSource",
  "eventName",
  "awsRegion",
  "sourceIPAddress",
  "userAgent",
  "requestParameters",
  "responseElements",
  "requestID",
  "eventID",
  "readOnly",
  "resources",
  "eventType",
  "managementEvent",
  "recipientAccountId",
  "eventCategory",
  "additionalEventData",
];

describe("audit records", () => {
  it("write every member in CloudTrail's order, strings escaped as JSON", () => {
    const [event] = buildEvents(call());
    const r = recordOf(event!);
    assert.deepEqual(Object.keys(r), ORDER);
    assert.equal(r.userAgent, ODD);
    assert.deepEqual(r.requestParameters, { secretId: ODD });
    assert.equal(r.responseElements, null);
    assert.equal(r.eventTime, "2026-12-07T14:00:00Z");
    assert.equal(r.eventSource, "secretsmanager.amazonaws.com");
    assert.equal(r.readOnly, true);
    assert.deepEqual(r.resources, [{ accountId: A, type: "AWS::SecretsManager::Secret", ARN: SECRET }]);
    assert.equal(r.recipientAccountId, A);
    // Twice: the second time the recurring strings come from the table of quoted texts.
    assert.equal(
      buildEvents(call())[0]!.recordPrefix.replace(/"eventID":"[^"]+"/, ""),
      event!.recordPrefix.replace(/"eventID":"[^"]+"/, ""),
    );
  });

  it("write an error, an answer and the members a call of no known caller lacks", () => {
    const message = "no " + "m".repeat(5000);
    const failed = recordOf(buildEvents(call({ error: { code: "AccessDeniedException", message } }))[0]!);
    assert.deepEqual(Object.keys(failed).slice(8, 10), ["errorCode", "errorMessage"]);
    assert.equal(failed.errorMessage, message.slice(0, 4096) + "...");
    const written = recordOf(buildEvents(call({ readOnly: false, output: { Name: ODD, SecretString: "never" } }))[0]!);
    assert.deepEqual(written.responseElements, { name: ODD });
    assert.equal(written.readOnly, false);
    const nobody = recordOf(
      buildEvents(call({ caller: undefined, region: undefined, sourceIp: undefined, userAgent: undefined, trail: { resources: [] } }))[0]!,
    );
    assert.deepEqual(nobody.userIdentity, { type: "Unknown" });
    assert.equal(nobody.awsRegion, null);
    assert.equal(nobody.sourceIPAddress, null);
    assert.equal(nobody.userAgent, null);
    assert.equal(nobody.requestParameters, null);
    assert.equal(nobody.recipientAccountId, null);
  });

  it("replace a field over CloudTrail's bound, counted in UTF-8 bytes", () => {
    const within = "é".repeat(MAX_RECORDED_FIELD_BYTES / 2 - 20); // under the bound in bytes, over a third of it in characters
    const over = "€".repeat(MAX_RECORDED_FIELD_BYTES / 3);
    const r = recordOf(
      buildEvents(call({ readOnly: false, trail: { input: { Policy: within }, resources: [] }, output: { Text: over } }))[0]!,
    );
    assert.deepEqual(r.requestParameters, { policy: within });
    assert.deepEqual(r.responseElements, { omitted: true, originalSize: Buffer.byteLength(JSON.stringify({ text: over })) });
  });

  it("write the KMS call made on the caller's behalf, and a copy for a key owner in another account", () => {
    const c = call({
      trail: {
        input: { SecretId: "orders/db" },
        resources: [
          { arn: SECRET, type: "AWS::SecretsManager::Secret" },
          { arn: KEY, type: "AWS::KMS::Key" },
        ],
      },
    });
    const events = buildEvents(c);
    assert.deepEqual(
      events.map((e) => recordOf(e).recipientAccountId),
      [A, "444455556666"],
    );
    const shared = events.map((e) => recordOf(e).sharedEventID);
    assert.ok(typeof shared[0] === "string" && shared[0] === shared[1]);
    assert.deepEqual(Object.keys(recordOf(events[0]!)).slice(10, 13), ["requestID", "sharedEventID", "eventID"]);
    const context = Object.assign(Object.create(null) as Record<string, string>, { SecretARN: SECRET, ['we"ird']: ODD });
    const related = buildRelatedEvent(c, {
      service: "kms",
      operation: "Decrypt",
      invokedBy: "secretsmanager.amazonaws.com",
      trail: {
        input: { KeyId: KEY, EncryptionContext: context },
        defaults: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        additional: { keyMaterialId: "m1" },
        resources: [{ arn: KEY, type: "AWS::KMS::Key" }],
      },
    });
    const r = recordOf(related);
    assert.equal((r.userIdentity as Record<string, unknown>).invokedBy, "secretsmanager.amazonaws.com");
    assert.equal(r.sourceIPAddress, "secretsmanager.amazonaws.com");
    assert.deepEqual(r.requestParameters, {
      keyId: KEY,
      encryptionContext: { SecretARN: SECRET, ['we"ird']: ODD },
      encryptionAlgorithm: "SYMMETRIC_DEFAULT",
    });
    assert.deepEqual(r.additionalEventData, { keyMaterialId: "m1", keyholdSequence: 1 });
  });
});
