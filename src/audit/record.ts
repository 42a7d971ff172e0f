/**
 * Builds the CloudTrail record of one API call
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
 *
 * What is never recorded: any blob (plaintext, ciphertext, data keys, public or private key
 * bytes), grant tokens, secret access keys, and anything of a request that failed validation.
 * requestParameters keep what CloudTrail keeps for KMS: key ids, encryption context, algorithms,
 * specs, names.
 *
 * What one record may hold is bounded, as CloudTrail bounds it: requestParameters and
 * responseElements of more than 100 KB (of JSON) each are replaced by {"omitted": true,
 * "originalSize": <bytes>}, and an errorMessage is cut at MAX_ERROR_MESSAGE characters.
 */
import { randomUUID } from "node:crypto";
import type { CallerIdentity, CompletedCall, RelatedCall } from "../call.js";
import type { Principal } from "../iam/principal.js";
import { lowerMemberName } from "../validation/schema.js";
import { setOwn } from "../validation/own-key.js";

export const EVENT_VERSION = "1.11";

/**
 * CloudTrail's bound on requestParameters and on responseElements: "The maximum size ... is 100
 * KB, and content exceeding that limit is omitted", a truncated field holding `omitted: true`
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
 * keyhold adds the size that was left out.
 */
export const MAX_RECORDED_FIELD_BYTES = 100 * 1024;
/** The longest errorMessage a record keeps (messages repeat at most 64 characters of a value; this is a backstop). */
export const MAX_ERROR_MESSAGE = 4096;

/** The row the trail stores beside the record, for lookups. */
export interface AuditEvent {
  eventId: string;
  eventTime: number;
  accountId?: string;
  region?: string;
  eventSource: string;
  eventName: string;
  username?: string;
  accessKeyId?: string;
  readOnly: boolean;
  errorCode?: string;
  requestId: string;
  resources: { arn: string; type: string }[];
  /** A successful KMS cryptographic call: it counts as the last use of its keys (GetKeyLastUsage). */
  usesKeys: boolean;
  /**
   * The CloudTrail record as JSON text, cut inside its additionalEventData object (after its
   * last member's comma, if it has members): the trail appends the chain fields and the two
   * closing braces when it gives the event its sequence number.
   */
  recordPrefix: string;
}

/** The KMS operations GetKeyLastUsage tracks (the model's KeyLastUsageTrackingOperation). */
export const KEY_USAGE_EVENTS: ReadonlySet<string> = new Set([
  "Decrypt",
  "DeriveSharedSecret",
  "Encrypt",
  "GenerateDataKey",
  "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext",
  "GenerateDataKeyWithoutPlaintext",
  "GenerateMac",
  "ReEncrypt",
  "Sign",
  "Verify",
  "VerifyMac",
]);

/**
 * Structure members left out wherever they occur: KMS's blobs (dropped as blobs anyway), grant
 * tokens (a request's GrantTokens, CreateGrant's answer, RetireGrant's request), the secret
 * CreateAccessKey answers with, a session's token, and the members by which the AWS APIs keyhold
 * is to speak next carry secrets as strings (Secrets Manager's SecretString and random passwords,
 * a private key or its passphrase exported as text), so that a new service cannot record them by
 * forgetting to.
 */
export const NEVER_LOGGED: ReadonlySet<string> = new Set([
  "GrantTokens",
  "GrantToken",
  "Plaintext",
  "CiphertextBlob",
  "PublicKey",
  "PrivateKeyPlaintext",
  "Recipient",
  "SecretAccessKey",
  "SessionToken",
  "SecretString",
  "SecretBinary",
  "RandomPassword",
  "Password",
  "OldPassword",
  "NewPassword",
  "PrivateKey",
  "Passphrase",
  // A custom key store's token PIN (CreateCustomKeyStore, UpdateCustomKeyStore): CloudTrail omits it too.
  "KeyStorePassword",
  "XksProxyAuthenticationCredential",
]);

/**
 * CloudTrail's requestParameters: structure members in camelCase, blobs and tokens left out.
 * Maps (the decoder builds them without a prototype: encryption contexts, …) keep their keys as
 * the caller wrote them.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined || depth > 8) return undefined;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return undefined;
  // To the second, as the answer carries it and as CloudTrail records times.
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)).filter((v) => v !== undefined);
  if (typeof value === "object") {
    const isMap = Object.getPrototypeOf(value) === null;
    const out: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      if (!isMap && NEVER_LOGGED.has(k)) continue;
      const r = redact(record[k], depth + 1);
      if (r === undefined) continue;
      const name = isMap ? k : lowerMemberName(k);
      setOwn(out, name, r);
    }
    return out;
  }
  return value;
}

let lastIso = { second: -1, text: "" };

/** CloudTrail's eventTime: ISO 8601 to the second. Many events share a second, so the last one is kept. */
function isoSeconds(time: number): string {
  const second = Math.floor(time / 1000);
  if (second !== lastIso.second) lastIso = { second, text: new Date(second * 1000).toISOString().replace(".000Z", "Z") };
  return lastIso.text;
}

/** CloudTrail's userIdentity for each kind of caller. */
function identityOf(caller: CallerIdentity): Record<string, unknown> {
  const p = caller.principal;
  const identity: Record<string, unknown> = {
    type: p.type,
    principalId: p.principalId,
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: caller.accessKeyId,
  };
  if (p.type === "IAMUser") identity.userName = p.userName;
  // An IAM user's console session (temporary credentials): CloudTrail adds when it began.
  if (p.type === "IAMUser" && p.issuedAt !== undefined) {
    identity.sessionContext = {
      sessionIssuer: {},
      webIdFederationData: {},
      attributes: { creationDate: isoSeconds(p.issuedAt), mfaAuthenticated: "false" },
    };
  }
  if (p.type === "AssumedRole") {
    identity.sessionContext = {
      sessionIssuer: {
        type: "Role",
        principalId: p.principalId.split(":")[0],
        arn: p.roleArn,
        accountId: p.accountId,
        userName: p.roleName,
      },
      attributes: { creationDate: p.issuedAt === undefined ? null : isoSeconds(p.issuedAt), mfaAuthenticated: "false" },
    };
  }
  return identity;
}

/** The name LookupEvents' Username attribute matches: "root", the user's name, or the session's name. */
function usernameOf(p: Principal): string {
  return p.type === "Root" ? "root" : p.type === "IAMUser" ? p.userName! : p.sessionName!;
}

/**
 * What an AuditEvent says of its call, read back from the record's text: the trail files keep only
 * the records, and lookups, GetKeyLastUsage and GetAccessKeyLastUsed read these fields from them.
 * Each field is what buildEvent derives from the call, derived here from what the record shows of
 * it (test/audit.test.ts compares the two for every event of a trail).
 */
export type RecordFields = Omit<AuditEvent, "recordPrefix"> & { seq: number; previousHash: string };

export function fieldsOfRecord(text: string): RecordFields {
  const r = JSON.parse(text) as {
    userIdentity?: { type?: string; userName?: string; arn?: string; accountId?: string; accessKeyId?: string };
    eventTime: string;
    eventSource: string;
    eventName: string;
    awsRegion?: string | null;
    errorCode?: string;
    requestID: string;
    eventID: string;
    readOnly: boolean;
    resources?: { type: string; ARN: string }[];
    recipientAccountId?: string | null;
    additionalEventData: { keyholdSequence: number; keyholdPreviousHash: string };
  };
  const id = r.userIdentity ?? {};
  const username =
    id.type === "Root"
      ? "root"
      : id.type === "IAMUser"
        ? id.userName
        : id.type === "AssumedRole"
          ? id.arn?.slice(id.arn.lastIndexOf("/") + 1)
          : undefined;
  const accountId = r.recipientAccountId ?? undefined;
  return {
    seq: r.additionalEventData.keyholdSequence,
    previousHash: r.additionalEventData.keyholdPreviousHash,
    eventId: r.eventID,
    eventTime: Date.parse(r.eventTime),
    accountId,
    region: r.awsRegion ?? undefined,
    eventSource: r.eventSource,
    eventName: r.eventName,
    username,
    accessKeyId: id.accessKeyId,
    readOnly: r.readOnly,
    errorCode: r.errorCode,
    requestId: r.requestID,
    resources: (r.resources ?? []).map((x) => ({ arn: x.ARN, type: x.type })),
    usesKeys:
      r.errorCode === undefined &&
      r.eventSource === "kms.amazonaws.com" &&
      KEY_USAGE_EVENTS.has(r.eventName) &&
      id.accountId !== undefined &&
      accountId === id.accountId,
  };
}

/** The account of a resource ARN (its fifth field), if it names one. */
function accountOfArn(arn: string): string | undefined {
  // arn:partition:service:region:account:…, found by its colons (cheaper than a split, on every call).
  let at = -1;
  for (let i = 0; i < 4; i++) if ((at = arn.indexOf(":", at + 1)) < 0) return undefined;
  const end = arn.indexOf(":", at + 1);
  const account = end < 0 ? arn.slice(at + 1) : arn.slice(at + 1, end);
  return ACCOUNT_ID.test(account) ? account : undefined;
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * The events of a call: one, and when it acted on another account's resource (a KMS key used
 * across accounts) one more for each such account, as CloudTrail delivers the call to the key's
 * owner too: the same record with its own eventID and recipientAccountId, and a sharedEventID
 * common to all of them.
 */
export function buildEvents(call: CompletedCall): AuditEvent[] {
  const caller = call.caller?.accountId ?? call.claimed?.accountId;
  let owners: string[] | undefined;
  for (const r of call.trail.resources) {
    const owner = accountOfArn(r.arn);
    if (owner !== undefined && caller !== undefined && owner !== caller && !owners?.includes(owner)) (owners ??= []).push(owner);
  }
  if (!owners) return [buildEvent(call)];
  const sharedEventId = randomUUID();
  return [caller!, ...owners].map((recipient) => buildEvent(call, { recipient, sharedEventId }));
}

export function buildEvent(call: CompletedCall, delivery?: { recipient: string; sharedEventId: string }): AuditEvent {
  const eventSource = `${call.service ?? "unknown"}.amazonaws.com`;
  const eventName = call.operation ?? "Unknown";
  const accountId = call.caller?.accountId ?? call.claimed?.accountId;
  const recipient = delivery?.recipient ?? accountId;
  const accessKeyId = call.caller?.accessKeyId ?? call.claimed?.accessKeyId;
  const eventId = randomUUID();
  let userIdentity: string;
  if (call.caller && !call.invokedBy) {
    userIdentity = identityText(call.caller);
  } else if (call.caller) {
    // JSON.stringify({ ...identityOf(caller), invokedBy }): the caller's text (made once, never
    // empty, without an invokedBy of its own) with the member added last.
    userIdentity = `${identityText(call.caller).slice(0, -1)},"invokedBy":${JSON.stringify(call.invokedBy)}}`;
  } else {
    const unknown: Record<string, unknown> = { type: "Unknown" };
    if (accountId) unknown.accountId = accountId;
    if (accessKeyId) unknown.accessKeyId = accessKeyId;
    userIdentity = JSON.stringify(unknown);
  }
  // Members in CloudTrail's order (eventVersion and userIdentity first, see openRecord); errorCode
  // and errorMessage only on failure. Written member by member, as JSON.stringify of the same
  // object would write them: the strings that recur from call to call are quoted once (quoted),
  // and only what the call carries (its parameters, its answer, its resources) is stringified.
  let body =
    `"eventTime":"${isoSeconds(call.time)}","eventSource":${quoted(eventSource)},"eventName":${quoted(eventName)}` +
    `,"awsRegion":${quotedOrNull(call.region)},"sourceIPAddress":${quotedOrNull(call.sourceIp)},"userAgent":${quotedOrNull(call.userAgent)}`;
  if (call.error) {
    const message = call.error.message;
    body += `,"errorCode":${JSON.stringify(call.error.code)},"errorMessage":${JSON.stringify(
      message.length > MAX_ERROR_MESSAGE ? message.slice(0, MAX_ERROR_MESSAGE) + "..." : message,
    )}`;
  }
  const parameters = call.trail.input === undefined ? null : withDefaults(redact(call.trail.input), call.trail.defaults);
  const answerRecorded = !call.error && (!call.readOnly || call.trail.recordsAnswer === true);
  const answer = answerRecorded ? withDefaults(redact(call.output), call.trail.answered) : null;
  body += `,"requestParameters":${boundedJson(parameters)},"responseElements":${boundedJson(answer)}`;
  body += `,"requestID":${JSON.stringify(call.requestId)}`;
  if (delivery) body += `,"sharedEventID":"${delivery.sharedEventId}"`;
  body += `,"eventID":"${eventId}","readOnly":${call.readOnly ? "true" : "false"}`;
  body += `,"resources":${JSON.stringify(call.trail.resources.map((r) => ({ accountId: accountOfArn(r.arn) ?? accountId, type: r.type, ARN: r.arn })))}`;
  body += `,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":${quotedOrNull(recipient)},"eventCategory":"Management"`;
  return {
    eventId,
    eventTime: call.time,
    accountId: recipient,
    region: call.region,
    eventSource,
    eventName,
    username: call.caller ? usernameOf(call.caller.principal) : undefined,
    accessKeyId,
    readOnly: call.readOnly,
    errorCode: call.error?.code,
    requestId: call.requestId,
    resources: call.trail.resources,
    // The key owner's copy of a cross-account call does not count the use a second time.
    usesKeys: !call.error && call.service === "kms" && KEY_USAGE_EVENTS.has(eventName) && recipient === accountId,
    recordPrefix: recordPrefix(userIdentity, body, call.trail.additional),
  };
}

/** A redacted request or answer, with the members the service adds where it has none of its own. */
function withDefaults(parameters: unknown, defaults: Record<string, string> | undefined): unknown {
  if (!defaults) return parameters ?? null;
  if (parameters === undefined || parameters === null) return { ...defaults };
  if (typeof parameters !== "object") return parameters;
  const out = parameters as Record<string, unknown>;
  for (const [name, value] of Object.entries(defaults)) if (!Object.hasOwn(out, name)) setOwn(out, name, value);
  return out;
}

/**
 * The JSON text of requestParameters or responseElements, or CloudTrail's {"omitted": true,
 * "originalSize": <bytes>} in its place when it is over MAX_RECORDED_FIELD_BYTES.
 */
function boundedJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  // A UTF-8 byte is at most 3 per UTF-16 unit: below this length the field is within its bound.
  if (text.length <= MAX_RECORDED_FIELD_BYTES / 3) return text;
  const size = Buffer.byteLength(text, "utf8");
  return size > MAX_RECORDED_FIELD_BYTES ? `{"omitted":true,"originalSize":${size}}` : text;
}

/**
 * The JSON text of the strings that recur from one record to the next (service, operation, region,
 * address, user agent, account): quoted once and looked up after. At most QUOTED_MAX are kept, of
 * QUOTED_LENGTH characters at most; a full table is emptied, so a stream of distinct values costs
 * what quoting each one would, and no more memory.
 */
const QUOTED_MAX = 1024;
const QUOTED_LENGTH = 256;
const quotedTexts = new Map<string, string>();

function quoted(value: string): string {
  let text = quotedTexts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    if (value.length <= QUOTED_LENGTH) {
      if (quotedTexts.size >= QUOTED_MAX) quotedTexts.clear();
      quotedTexts.set(value, text);
    }
  }
  return text;
}

function quotedOrNull(value: string | undefined): string {
  return value === undefined ? "null" : quoted(value);
}

/** A record's text open inside its additionalEventData (see openRecord), its other members given as JSON text. */
function recordPrefix(userIdentity: string, members: string, additional?: Record<string, string>): string {
  const extra = additional ? JSON.stringify(additional).slice(1, -1) : "";
  return `{"eventVersion":"${EVENT_VERSION}","userIdentity":${userIdentity},${members},"additionalEventData":{${extra ? extra + "," : ""}`;
}

/**
 * A record's JSON text left open inside its additionalEventData (see AuditEvent.recordPrefix):
 * eventVersion, the caller's identity (JSON text), the other members, and the members the
 * operation gave additionalEventData.
 */
function openRecord(userIdentity: string, record: Record<string, unknown>, additional?: Record<string, string>): string {
  let body = JSON.stringify(record);
  // A UTF-8 byte is at most 3 per UTF-16 unit, so below this length no field can be over its
  // bound, and the usual record (a KB or two) is serialized once.
  if (body.length > MAX_RECORDED_FIELD_BYTES / 3 && omitOversized(record)) body = JSON.stringify(record);
  return recordPrefix(userIdentity, body.slice(1, -1), additional);
}

/** Replaces requestParameters and responseElements over MAX_RECORDED_FIELD_BYTES; true if it did. */
function omitOversized(record: Record<string, unknown>): boolean {
  let changed = false;
  for (const field of ["requestParameters", "responseElements"]) {
    const value = record[field];
    if (value === null || value === undefined) continue;
    const size = Buffer.byteLength(JSON.stringify(value), "utf8");
    if (size > MAX_RECORDED_FIELD_BYTES) {
      record[field] = { omitted: true, originalSize: size };
      changed = true;
    }
  }
  return changed;
}

/**
 * The caller's userIdentity as JSON text, made once per principal and access key: the principals
 * Credentials hands out are frozen and shared by every request of their access key, and this text
 * is a good part of each record's serialization.
 */
const identityTexts = new WeakMap<Principal, { accessKeyId: string | undefined; text: string }>();

function identityText(caller: CallerIdentity): string {
  const known = identityTexts.get(caller.principal);
  if (known !== undefined && known.accessKeyId === caller.accessKeyId) return known.text;
  const text = JSON.stringify(identityOf(caller));
  if (Object.isFrozen(caller.principal)) identityTexts.set(caller.principal, { accessKeyId: caller.accessKeyId, text });
  return text;
}

/**
 * The event of a call another service made on the caller's behalf (S3 asking KMS for a data key):
 * the caller's identity with `invokedBy`, the invoking service as source, its own request id.
 */
export function buildRelatedEvent(call: CompletedCall, related: RelatedCall): AuditEvent {
  return buildEvent({
    requestId: randomUUID(),
    time: call.time,
    service: related.service,
    operation: related.operation,
    readOnly: true,
    region: call.region,
    sourceIp: related.invokedBy,
    userAgent: related.invokedBy,
    caller: call.caller,
    trail: related.trail,
    error: related.error,
    invokedBy: related.invokedBy,
  });
}

/** What the service did by itself (a key deleted at the end of its window, an automatic rotation, an integrity failure found). */
export interface ServiceAction {
  time: number;
  /** The service it is an event of (default kms.amazonaws.com). */
  eventSource?: string;
  eventName: string;
  accountId: string;
  region: string;
  resource: { arn: string; type: string };
  details: Record<string, unknown>;
}

export function buildServiceEvent(action: ServiceAction): AuditEvent {
  const eventId = randomUUID();
  const requestId = randomUUID();
  const eventSource = action.eventSource ?? "kms.amazonaws.com";
  const userIdentity = JSON.stringify({ accountId: action.accountId, invokedBy: eventSource });
  const record = {
    eventTime: isoSeconds(action.time),
    eventSource,
    eventName: action.eventName,
    awsRegion: action.region,
    sourceIPAddress: eventSource,
    userAgent: eventSource,
    requestParameters: null,
    responseElements: null,
    requestID: requestId,
    eventID: eventId,
    readOnly: false,
    resources: [{ accountId: action.accountId, type: action.resource.type, ARN: action.resource.arn }],
    eventType: "AwsServiceEvent",
    managementEvent: true,
    recipientAccountId: action.accountId,
    serviceEventDetails: action.details,
    eventCategory: "Management",
  };
  return {
    eventId,
    eventTime: action.time,
    accountId: action.accountId,
    region: action.region,
    eventSource,
    eventName: action.eventName,
    readOnly: false,
    requestId,
    resources: [action.resource],
    usesKeys: false,
    recordPrefix: openRecord(userIdentity, record),
  };
}

/** A console sign-in attempt, as the ConsoleLogin event records it. */
export interface ConsoleLoginAttempt {
  time: number;
  requestId: string;
  accountId: string;
  region: string;
  sourceIp?: string;
  userAgent?: string;
  /** The user who signed in or whose password was wrong; undefined for a name that is no user's. */
  user?: { userName: string; userId: string; arn: string };
  success: boolean;
  /** Where the console was to open (CloudTrail's additionalEventData.LoginTo). */
  loginTo: string;
}

/**
 * CloudTrail's ConsoleLogin event (eventSource signin.amazonaws.com, eventType AwsConsoleSignIn):
 * responseElements.ConsoleLogin says Success or Failure, a failure carries errorMessage "Failed
 * authentication", and a name that is no user's is written HIDDEN_DUE_TO_SECURITY_REASONS, as
 * CloudTrail does so that a mistyped password in the user name field is not kept
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html).
 * Nothing the caller typed as a password is in it.
 */
export function buildConsoleLoginEvent(a: ConsoleLoginAttempt): AuditEvent {
  const eventId = randomUUID();
  const eventSource = "signin.amazonaws.com";
  const identity: Record<string, unknown> = a.user
    ? { type: "IAMUser", principalId: a.user.userId, arn: a.user.arn, accountId: a.accountId }
    : { type: "IAMUser", accountId: a.accountId };
  if (!a.success) identity.accessKeyId = "";
  identity.userName = a.user?.userName ?? HIDDEN_USER_NAME;
  const record: Record<string, unknown> = {
    eventTime: isoSeconds(a.time),
    eventSource,
    eventName: "ConsoleLogin",
    awsRegion: a.region,
    sourceIPAddress: a.sourceIp ?? null,
    userAgent: a.userAgent ?? null,
  };
  if (!a.success) record.errorMessage = "Failed authentication";
  record.requestParameters = null;
  record.responseElements = { ConsoleLogin: a.success ? "Success" : "Failure" };
  record.requestID = a.requestId;
  record.eventID = eventId;
  record.readOnly = false;
  record.eventType = "AwsConsoleSignIn";
  record.managementEvent = true;
  record.recipientAccountId = a.accountId;
  record.eventCategory = "Management";
  return {
    eventId,
    eventTime: a.time,
    accountId: a.accountId,
    region: a.region,
    eventSource,
    eventName: "ConsoleLogin",
    username: identity.userName as string,
    accessKeyId: a.success ? undefined : "",
    readOnly: false,
    requestId: a.requestId,
    resources: [],
    usesKeys: false,
    recordPrefix: openRecord(JSON.stringify(identity), record, { LoginTo: a.loginTo, MobileVersion: "No", MFAUsed: "No" }),
  };
}

/** What CloudTrail writes for the user name of a failed sign-in whose name is no user's. */
export const HIDDEN_USER_NAME = "HIDDEN_DUE_TO_SECURITY_REASONS";
