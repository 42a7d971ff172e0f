/** Key policy documents: the default policy, and the checks CreateKey applies to a given one. */
import { ServiceError } from "../errors.js";
import { evaluatePolicy } from "../iam/policy-evaluation.js";

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

export function checkKeyPolicy(policy: string): string {
  if (Buffer.byteLength(policy, "utf8") > MAX_KEY_POLICY_BYTES) {
    throw new ServiceError("LimitExceededException", `A key policy can be at most ${MAX_KEY_POLICY_BYTES} bytes.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw new ServiceError("MalformedPolicyDocumentException", "The key policy is not valid JSON.");
  }
  const statements = (doc as { Statement?: unknown } | null)?.Statement;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || statements === undefined) {
    throw new ServiceError("MalformedPolicyDocumentException", "The key policy must be a JSON object with a Statement.");
  }
  return policy;
}

/**
 * AWS's policy lockout safety check: a new key policy must still let the caller who sets it
 * change it later, unless the caller sets BypassPolicyLockoutSafetyCheck.
 */
export function checkLockout(
  policy: string,
  call: { principalArn: string; accountId: string },
  keyArn: string,
  bypass: boolean | undefined,
): void {
  if (bypass) return;
  const decision = evaluatePolicy(policy, {
    principalArn: call.principalArn,
    accountId: call.accountId,
    action: "kms:PutKeyPolicy",
    resourceArn: keyArn,
  });
  if (decision !== "allow") {
    throw new ServiceError(
      "MalformedPolicyDocumentException",
      "The new key policy will not allow you to update the key policy in the future (set BypassPolicyLockoutSafetyCheck to override).",
    );
  }
}
