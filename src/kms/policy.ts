/** Key policy documents: the default policy, and the checks CreateKey applies to a given one. */
import { ServiceError } from "../errors.js";

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
