/** The cost of one authorization decision once the policies are compiled: the evaluator alone, in process. */
import { authorize } from "../src/iam/authorize.js";
import { ContextValues } from "../src/iam/conditions.js";
import { compilePolicy } from "../src/iam/policy.js";
import type { Principal } from "../src/iam/principal.js";

function benchInput(): Parameters<typeof authorize>[0] {
  const account = "111122223333";
  const keyPolicy = compilePolicy(
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Enable IAM User Permissions",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          Sid: "Admins",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${account}:user/key-admin` },
          Action: ["kms:Create*", "kms:Describe*", "kms:Put*"],
          Resource: "*",
        },
        {
          Sid: "Users",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${account}:user/key-user` },
          Action: ["kms:Encrypt", "kms:Decrypt"],
          Resource: "*",
        },
        {
          Sid: "VPN",
          Effect: "Deny",
          Principal: "*",
          Action: "kms:Decrypt",
          Resource: "*",
          Condition: { NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
        },
      ],
    }),
    "resource",
  );
  const identity = compilePolicy(
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "kms:EncryptionContext:app": "orders" } } },
      ],
    }),
    "identity",
  );
  const principal: Principal = {
    type: "IAMUser",
    accountId: account,
    arn: `arn:aws:iam::${account}:user/app`,
    principalId: "AIDAX",
    userName: "app",
  };
  const context = new ContextValues()
    .set("kms:EncryptionContext:app", "orders")
    .set("aws:SourceIp", "127.0.0.1")
    .set("aws:username", "app");
  const input = {
    request: { principal, action: "kms:Encrypt", resource: `arn:aws:kms:us-east-1:${account}:key/k`, context },
    resourceAccount: account,
    resourcePolicy: keyPolicy,
    resourcePolicyRequired: true,
    identity: { policies: [identity] },
  };
  return input;
}

/** Microseconds per decision, over `decisions` sequential decisions. */
export function measurePolicyEvaluation(decisions = 200_000): { microseconds: number; decisions: number } {
  const input = benchInput();
  for (let i = 0; i < 10_000; i++) authorize(input); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < decisions; i++) {
    const d = authorize(input);
    if (!d.allowed) throw new Error("the benchmark decision must be an allow");
  }
  return { decisions, microseconds: Number(process.hrtime.bigint() - start) / 1000 / decisions };
}
