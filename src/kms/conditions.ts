/**
 * KMS's condition keys (https://docs.aws.amazon.com/kms/latest/developerguide/policy-conditions.html),
 * read from the decoded request and the key it acts on. Keys that cost a query (the key's tags
 * and aliases) are added only when a policy in play reads them.
 */
import type { CallContext } from "../call.js";
import { ContextValues } from "../iam/conditions.js";
import type { CompiledPolicy } from "../iam/policy.js";
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

/** The condition keys of a KMS request on `key` (undefined for CreateKey and other keyless actions), each computed when first read. */
export function kmsConditions(call: CallContext, action: string, key: KeyRecord | undefined): ContextValues {
  const input = (call.trail.input ?? {}) as Input;
  const creating = action === "kms:CreateKey";
  return new ContextValues((name) => {
    if (name.startsWith("kms:encryptioncontext:")) {
      const ec = contextOf(input, action);
      if (!ec) return undefined;
      // The key part of kms:EncryptionContext:<key> is matched without regard to case, as condition keys are.
      const wanted = name.slice("kms:encryptioncontext:".length);
      for (const k in ec) if (k === wanted || k.toLowerCase() === wanted) return ec[k];
      return undefined;
    }
    if (name.startsWith("aws:requesttag/")) {
      const tags = input.Tags as { TagKey: string; TagValue: string }[] | undefined;
      return tags?.find((t) => t.TagKey.toLowerCase() === name.slice("aws:requesttag/".length))?.TagValue;
    }
    switch (name) {
      case "kms:calleraccount":
        return call.principal.accountId;
      case "kms:viaservice":
        return call.viaService ? `${call.viaService}.${call.region}.amazonaws.com` : undefined;
      case "kms:encryptioncontextkeys": {
        const ec = contextOf(input, action);
        return ec ? Object.keys(ec) : undefined;
      }
      case "kms:encryptionalgorithm": {
        const algorithm =
          action === "kms:ReEncryptFrom"
            ? input.SourceEncryptionAlgorithm
            : action === "kms:ReEncryptTo"
              ? input.DestinationEncryptionAlgorithm
              : input.EncryptionAlgorithm;
        return str(algorithm) ?? (contextOf(input, action) !== undefined || action.includes("crypt") ? "SYMMETRIC_DEFAULT" : undefined);
      }
      case "kms:signingalgorithm":
        return str(input.SigningAlgorithm);
      case "kms:macalgorithm":
        return str(input.MacAlgorithm);
      case "kms:keyagreementalgorithm":
        return str(input.KeyAgreementAlgorithm);
      case "kms:messagetype":
        return str(input.MessageType);
      case "kms:datakeypairspec":
        return str(input.KeyPairSpec);
      case "kms:wrappingalgorithm":
        return str(input.WrappingAlgorithm);
      case "kms:wrappingkeyspec":
        return str(input.WrappingKeySpec);
      case "kms:expirationmodel":
        return str(input.ExpirationModel);
      case "kms:schedulekeydeletionpendingwindowindays":
        return str(input.PendingWindowInDays);
      case "kms:rotationperiodindays":
        return str(input.RotationPeriodInDays);
      case "kms:bypasspolicylockoutsafetycheck":
        return str(input.BypassPolicyLockoutSafetyCheck);
      case "kms:requestalias":
        return requestAlias(input, action);
      case "kms:grantoperations":
        return action === "kms:CreateGrant" ? ((input.Operations as string[] | undefined) ?? []) : undefined;
      case "kms:granteeprincipal":
        return action === "kms:CreateGrant" ? str(input.GranteePrincipal) : undefined;
      case "kms:retiringprincipal":
        return action === "kms:CreateGrant" ? str(input.RetiringPrincipal) : undefined;
      case "kms:grantisforawsresource":
        return action === "kms:CreateGrant" ? "false" : undefined;
      case "kms:grantconstrainttype": {
        const constraints = input.Constraints as Record<string, unknown> | undefined;
        return action === "kms:CreateGrant" && constraints ? Object.keys(constraints) : undefined;
      }
      case "aws:tagkeys": {
        const tags = input.Tags as { TagKey: string }[] | undefined;
        return tags ? tags.map((t) => t.TagKey) : Array.isArray(input.TagKeys) ? (input.TagKeys as string[]) : undefined;
      }
      case "kms:keyspec":
        return key ? key.keySpec : (str(input.KeySpec) ?? str(input.CustomerMasterKeySpec) ?? (creating ? "SYMMETRIC_DEFAULT" : undefined));
      case "kms:keyusage":
        return key ? key.keyUsage : (str(input.KeyUsage) ?? (creating ? "ENCRYPT_DECRYPT" : undefined));
      case "kms:keyorigin":
        return key ? key.origin : (str(input.Origin) ?? (creating ? "AWS_KMS" : undefined));
      default:
        return undefined;
    }
  });
}

interface CostlyKeys {
  tags: boolean;
  aliases: boolean;
}
const costlyOf = new WeakMap<CompiledPolicy, CostlyKeys>();

/** Whether a policy reads a key that needs a query: the key's tags or aliases. Worked out once per compiled policy. */
function costlyKeysOf(policy: CompiledPolicy): CostlyKeys {
  let costly = costlyOf.get(policy);
  if (!costly) {
    const keys = [...policy.conditionKeys];
    costly = { tags: keys.some((k) => k.startsWith("aws:resourcetag/")), aliases: keys.includes("kms:resourcealiases") };
    costlyOf.set(policy, costly);
  }
  return costly;
}

/** Whether any of the policies reads a key that needs a query: the key's tags or aliases. */
export function readsCostlyKeys(policies: readonly CompiledPolicy[]): CostlyKeys {
  let tags = false;
  let aliases = false;
  for (const p of policies) {
    const costly = costlyKeysOf(p);
    tags ||= costly.tags;
    aliases ||= costly.aliases;
  }
  return { tags, aliases };
}
