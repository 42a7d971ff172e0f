/**
 * KMS's condition keys (https://docs.aws.amazon.com/kms/latest/developerguide/policy-conditions.html),
 * read from the decoded request and the key it acts on. Keys that cost a query (the key's tags
 * and aliases) are added only when a policy in play reads them.
 */
import type { CallContext } from "../call.js";
import { ContextValues } from "../iam/conditions.js";
import type { KeyRecord } from "../store/records.js";
import { parseKeyReference } from "./arns.js";

type Input = Record<string, unknown>;

/** The encryption context an action is about (ReEncrypt has two). */
export function contextOf(input: Input, action: string): Record<string, string> | undefined {
  if (action === "kms:ReEncryptFrom") return input.SourceEncryptionContext as Record<string, string> | undefined;
  if (action === "kms:ReEncryptTo") return input.DestinationEncryptionContext as Record<string, string> | undefined;
  return input.EncryptionContext as Record<string, string> | undefined;
}

function requestAlias(input: Input, action: string): string | undefined {
  const named =
    action === "kms:ReEncryptFrom"
      ? input.SourceKeyId
      : action === "kms:ReEncryptTo"
        ? input.DestinationKeyId
        : (input.KeyId ?? input.TargetKeyId);
  if (typeof named !== "string") return undefined;
  try {
    const ref = parseKeyReference(named);
    return ref.kind === "alias" ? ref.aliasName : undefined;
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
}

/** The condition keys of a KMS request on `key` (undefined for CreateKey and other keyless actions). */
export function kmsConditions(call: CallContext, action: string, key: KeyRecord | undefined): ContextValues {
  const input = (call.trail.input ?? {}) as Input;
  const c = new ContextValues();
  c.set("kms:CallerAccount", call.principal.accountId);
  if (call.viaService) c.set("kms:ViaService", `${call.viaService}.${call.region}.amazonaws.com`);
  const ec = contextOf(input, action);
  if (ec) {
    for (const [k, v] of Object.entries(ec)) c.set(`kms:EncryptionContext:${k}`, v);
    c.set("kms:EncryptionContextKeys", Object.keys(ec));
  }
  const algorithm =
    action === "kms:ReEncryptFrom"
      ? input.SourceEncryptionAlgorithm
      : action === "kms:ReEncryptTo"
        ? input.DestinationEncryptionAlgorithm
        : input.EncryptionAlgorithm;
  c.set("kms:EncryptionAlgorithm", str(algorithm) ?? (ec !== undefined || action.includes("crypt") ? "SYMMETRIC_DEFAULT" : undefined));
  c.set("kms:SigningAlgorithm", str(input.SigningAlgorithm));
  c.set("kms:MacAlgorithm", str(input.MacAlgorithm));
  c.set("kms:KeyAgreementAlgorithm", str(input.KeyAgreementAlgorithm));
  c.set("kms:MessageType", str(input.MessageType));
  c.set("kms:DataKeyPairSpec", str(input.KeyPairSpec));
  c.set("kms:WrappingAlgorithm", str(input.WrappingAlgorithm));
  c.set("kms:WrappingKeySpec", str(input.WrappingKeySpec));
  c.set("kms:ExpirationModel", str(input.ExpirationModel));
  c.set("kms:ScheduleKeyDeletionPendingWindowInDays", str(input.PendingWindowInDays));
  c.set("kms:RotationPeriodInDays", str(input.RotationPeriodInDays));
  c.set("kms:BypassPolicyLockoutSafetyCheck", str(input.BypassPolicyLockoutSafetyCheck));
  c.set("kms:RequestAlias", requestAlias(input, action));
  if (action === "kms:CreateGrant") {
    c.set("kms:GrantOperations", (input.Operations as string[] | undefined) ?? []);
    c.set("kms:GranteePrincipal", str(input.GranteePrincipal));
    c.set("kms:RetiringPrincipal", str(input.RetiringPrincipal));
    c.set("kms:GrantIsForAWSResource", "false");
    const constraints = input.Constraints as Record<string, unknown> | undefined;
    if (constraints) c.set("kms:GrantConstraintType", Object.keys(constraints));
  }
  const tags = input.Tags as { TagKey: string; TagValue: string }[] | undefined;
  if (tags) {
    for (const t of tags) c.set(`aws:RequestTag/${t.TagKey}`, t.TagValue);
    c.set(
      "aws:TagKeys",
      tags.map((t) => t.TagKey),
    );
  } else if (Array.isArray(input.TagKeys)) {
    c.set("aws:TagKeys", input.TagKeys as string[]);
  }
  if (key) {
    c.set("kms:KeySpec", key.keySpec).set("kms:KeyUsage", key.keyUsage).set("kms:KeyOrigin", key.origin);
  } else {
    c.set(
      "kms:KeySpec",
      str(input.KeySpec) ?? str(input.CustomerMasterKeySpec) ?? (action === "kms:CreateKey" ? "SYMMETRIC_DEFAULT" : undefined),
    );
    c.set("kms:KeyUsage", str(input.KeyUsage) ?? (action === "kms:CreateKey" ? "ENCRYPT_DECRYPT" : undefined));
    c.set("kms:KeyOrigin", str(input.Origin) ?? (action === "kms:CreateKey" ? "AWS_KMS" : undefined));
  }
  return c;
}

/** Whether any of the policies reads a key that needs a query: the key's tags or aliases. */
export function readsCostlyKeys(keys: Iterable<string>): { tags: boolean; aliases: boolean } {
  let tags = false;
  let aliases = false;
  for (const k of keys) {
    if (k.startsWith("aws:resourcetag/")) tags = true;
    if (k === "kms:resourcealiases") aliases = true;
  }
  return { tags, aliases };
}
