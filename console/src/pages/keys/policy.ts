/**
 * The key policy the AWS console generates in its create-key wizard (policy id
 * "key-consolepolicy-3"): the account's root may do everything (so IAM policies apply), key
 * administrators manage the key but cannot use it, key users (and other accounts) use it. The
 * users' actions depend on the key's usage, as in the AWS console; symmetric encryption keys also
 * let users attach grants for AWS services ("Allow attachment of persistent resources").
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
import { jsonSyntaxError } from "./json-syntax.js";

export type KeyUsageChoice = "ENCRYPT_DECRYPT" | "SIGN_VERIFY" | "GENERATE_VERIFY_MAC" | "KEY_AGREEMENT";

export const ADMIN_SID = "Allow access for Key Administrators";
export const USE_SID = "Allow use of the key";
export const GRANTS_SID = "Allow attachment of persistent resources";
export const ROOT_SID = "Enable IAM User Permissions";

export const ADMIN_ACTIONS = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:RotateKeyOnDemand",
];
/** What "Allow key administrators to delete this key" adds. */
export const DELETE_ACTIONS = ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"];

export function userActions(usage: KeyUsageChoice, symmetric: boolean): string[] {
  switch (usage) {
    case "ENCRYPT_DECRYPT":
      return symmetric
        ? ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        : ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey"];
    case "SIGN_VERIFY":
      return ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"];
    case "GENERATE_VERIFY_MAC":
      return ["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"];
    case "KEY_AGREEMENT":
      return ["kms:DescribeKey", "kms:GetPublicKey", "kms:DeriveSharedSecret"];
  }
}

export interface PolicyChoices {
  account: string;
  partition?: string;
  administrators: string[];
  allowAdminsToDelete: boolean;
  users: string[];
  otherAccounts: string[];
  usage: KeyUsageChoice;
  symmetric: boolean;
}

interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal: { AWS: string | string[] };
  Action: string | string[];
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}

/** One principal as a string, several as a list: as the AWS console writes them. */
function principals(arns: string[]): string | string[] {
  return arns.length === 1 ? arns[0]! : arns;
}

export function defaultKeyPolicy(c: PolicyChoices): string {
  const partition = c.partition ?? "aws";
  const statements: Statement[] = [
    { Sid: ROOT_SID, Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${c.account}:root` }, Action: "kms:*", Resource: "*" },
  ];
  if (c.administrators.length > 0) {
    const actions = c.allowAdminsToDelete ? ADMIN_ACTIONS : ADMIN_ACTIONS.filter((a) => !DELETE_ACTIONS.includes(a));
    statements.push({ Sid: ADMIN_SID, Effect: "Allow", Principal: { AWS: principals(c.administrators) }, Action: actions, Resource: "*" });
  }
  const users = [...c.users, ...c.otherAccounts.map((a) => `arn:${partition}:iam::${a}:root`)];
  if (users.length > 0) {
    statements.push({
      Sid: USE_SID,
      Effect: "Allow",
      Principal: { AWS: principals(users) },
      Action: userActions(c.usage, c.symmetric),
      Resource: "*",
    });
    if (c.usage === "ENCRYPT_DECRYPT" && c.symmetric) {
      statements.push({
        Sid: GRANTS_SID,
        Effect: "Allow",
        Principal: { AWS: principals(users) },
        Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        Resource: "*",
        Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
      });
    }
  }
  return JSON.stringify({ Id: "key-consolepolicy-3", Version: "2012-10-17", Statement: statements }, null, 4);
}

/** How policyProblem's message for a syntax error begins. */
export const NOT_JSON = "The policy is not valid JSON";

/** Key policies are at most 32 KiB (KMS PutKeyPolicy's bound). */
export const MAX_POLICY_BYTES = 32_768;

/**
 * Checks a policy before it is sent: JSON, an object with a Statement list whose entries have an
 * Effect, an Action or NotAction, a Principal and a Resource. KMS checks it again (and more); this
 * only catches a typo before the round trip. Undefined when it looks right, else why not.
 */
export function policyProblem(text: string): string | undefined {
  if (new TextEncoder().encode(text).length > MAX_POLICY_BYTES) return `The policy is longer than ${MAX_POLICY_BYTES} bytes.`;
  const syntax = jsonSyntaxError(text);
  if (syntax) return `${NOT_JSON}: line ${syntax.line}, column ${syntax.column}: ${syntax.message}.`;
  const doc: unknown = JSON.parse(text);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "The policy must be a JSON object.";
  const statements = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  if (list.length === 0) return "The policy needs a Statement.";
  for (const [i, s] of list.entries()) {
    const where = `Statement ${i + 1}`;
    if (typeof s !== "object" || s === null) return `${where} must be an object.`;
    const st = s as Record<string, unknown>;
    if (st.Effect !== "Allow" && st.Effect !== "Deny") return `${where}: Effect must be "Allow" or "Deny".`;
    if (st.Action === undefined && st.NotAction === undefined) return `${where} needs an Action or NotAction.`;
    if (st.Principal === undefined && st.NotPrincipal === undefined) return `${where} needs a Principal.`;
    if (st.Resource === undefined && st.NotResource === undefined) return `${where} needs a Resource.`;
  }
  return undefined;
}

export interface PolicySummary {
  administrators: string[];
  adminsMayDelete: boolean;
  users: string[];
  otherAccounts: string[];
}

const asList = (v: unknown): string[] =>
  typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/**
 * The default view of a key policy, as the AWS console shows it: the principals of the statements
 * the console writes, found by their Sid. Undefined when the policy is not one the console wrote
 * (then only the JSON view is offered).
 */
export function summarizePolicy(text: string, account: string): PolicySummary | undefined {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(text) as { Statement?: unknown };
  } catch {
    return undefined;
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : []) as Statement[];
  if (!statements.some((s) => s.Sid === ROOT_SID)) return undefined;
  const admin = statements.find((s) => s.Sid === ADMIN_SID);
  const use = statements.find((s) => s.Sid === USE_SID);
  const users = asList(use?.Principal?.AWS);
  const isOtherAccount = (arn: string) => /^arn:[^:]+:iam::\d{12}:root$/.test(arn) && !arn.includes(`::${account}:`);
  return {
    administrators: asList(admin?.Principal?.AWS),
    adminsMayDelete: asList(admin?.Action).includes("kms:ScheduleKeyDeletion"),
    users: users.filter((u) => !isOtherAccount(u)),
    otherAccounts: users.filter(isOtherAccount).map((u) => u.split(":")[4]!),
  };
}
