/** Key policy documents: the default policy, and the checks CreateKey applies to a given one. */
import { firstUnknownPrincipal } from "../iam/principal-check.js";
import { ServiceError } from "../errors.js";
import type { CallContext } from "../call.js";
import { compilePolicy, PolicySyntaxError, type CompiledPolicy } from "../iam/policy.js";
import type { KeyRecord } from "../store/records.js";
import { kmsConditions } from "./conditions.js";
import type { KmsService } from "./service.js";

export const MAX_KEY_POLICY_BYTES = 32 * 1024;

/** AWS's default key policy: the account root may do everything, which delegates to IAM policies. */
export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: "2012-10-17",
      Id: "key-default-1",
      Statement: [
        {
          Sid: "Enable IAM User Permissions",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
      ],
    },
    null,
    2,
  );
}

/** A key policy as CreateKey and PutKeyPolicy receive it: compiled, or MalformedPolicyDocumentException. */
export function checkKeyPolicy(policy: string): CompiledPolicy {
  if (Buffer.byteLength(policy, "utf8") > MAX_KEY_POLICY_BYTES) {
    throw new ServiceError("LimitExceededException", `A key policy can be at most ${MAX_KEY_POLICY_BYTES} bytes.`);
  }
  try {
    return compilePolicy(policy, "resource");
  } catch (error) {
    if (error instanceof PolicySyntaxError) throw new ServiceError("MalformedPolicyDocumentException", error.message);
    throw error;
  }
}

/** A key policy naming a principal that does not exist is malformed, as KMS has it (checked once the caller is authorized). */
export async function checkPrincipals(kms: KmsService, policy: CompiledPolicy): Promise<void> {
  if ((await firstUnknownPrincipal(policy, kms.repo)) !== undefined) {
    throw new ServiceError("MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals.");
  }
}

/**
 * AWS's policy lockout safety check: a new key policy must still let the caller who sets it
 * change it later (through the policy itself or, where it delegates, the caller's IAM policies),
 * unless the caller sets BypassPolicyLockoutSafetyCheck.
 */
export async function checkLockout(
  kms: KmsService,
  call: CallContext,
  policy: CompiledPolicy,
  key: KeyRecord,
  bypass: boolean | undefined,
): Promise<void> {
  if (bypass) return;
  const decision = await kms.authorizer.check(call, {
    action: "kms:PutKeyPolicy",
    resource: kms.arnOf(key),
    resourceAccount: key.accountId,
    resourcePolicy: policy,
    resourcePolicyRequired: true,
    context: () => kmsConditions(call, "kms:PutKeyPolicy", key),
  });
  if (!decision.allowed) {
    throw new ServiceError(
      "MalformedPolicyDocumentException",
      "The new key policy will not allow you to update the key policy in the future (set BypassPolicyLockoutSafetyCheck to override).",
    );
  }
}
