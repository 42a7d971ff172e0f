import { createHash, randomBytes } from "node:crypto";
import type { AssumeRoleRequest, AssumeRoleResponse } from "@aws-sdk/client-sts";
import { ServiceError } from "../../errors.js";
import { noResourcePolicyAllows } from "../../iam/authorize.js";
import { accessDenied } from "../../iam/authorizer.js";
import { ContextValues } from "../../iam/conditions.js";
import { generateAccessKeyId, generateSecretAccessKey } from "../../iam/credentials.js";
import { checkPolicyDocument } from "../../iam/directory.js";
import { compilePolicy } from "../../iam/policy.js";
import { Tags } from "../../iam/service.js";
import { int, list, str, struct } from "../../validation/schema.js";
import { defineStsOperation } from "../service.js";

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;
/** A session of a role that assumes another role ("role chaining") lasts at most an hour, as in AWS. */
const CHAINED_MAX_SECONDS = 3600;

export const assumeRole = defineStsOperation<AssumeRoleRequest, AssumeRoleResponse>({
  name: "AssumeRole",
  description: "Temporary credentials for a session of a role whose trust policy lets the caller in, bounded by session policies.",
  readOnly: true,
  input: struct(
    {
      RoleArn: str({ min: 20, max: 2048 }),
      RoleSessionName: str({ min: 2, max: 64, pattern: /^[\w+=,.@-]*$/ }),
      PolicyArns: list(struct({ arn: str({ min: 20, max: 2048 }) }), { max: 10 }),
      Policy: str({ min: 1, max: 2048, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/ }),
      DurationSeconds: int({ min: 900, max: 43200 }),
      ExternalId: str({ min: 2, max: 1224, pattern: /^[\w+=,.@:/-]*$/ }),
      // What keyhold's sessions do not carry: refused (unkeptFeature) rather than dropped.
      Tags,
      TransitiveTagKeys: list(str({ min: 1, max: 128 }), { max: 50 }),
      SerialNumber: str({ min: 9, max: 256 }),
      TokenCode: str({ min: 6, max: 6 }),
      SourceIdentity: str({ min: 2, max: 64 }),
      ProvidedContexts: list(struct({ ProviderArn: str({ min: 20, max: 2048 }), ContextAssertion: str({ min: 4, max: 2048 }) }), {
        max: 5,
      }),
    },
    ["RoleArn", "RoleSessionName"],
  ),
  async run(sts, call, input) {
    const roleArn = input.RoleArn!;
    const m = ROLE_ARN.exec(roleArn);
    if (!m) throw new ServiceError("ValidationError", `${roleArn} is not a valid role ARN.`);
    const unkept = unkeptFeature(input);
    if (unkept) throw new ServiceError("ValidationError", `keyhold does not support ${unkept}: leave it out of AssumeRole.`);
    const [, roleAccount, roleName] = m;
    const denied = (reason: string) => accessDenied(call, "sts:AssumeRole", roleArn, reason);
    if (call.principal.type === "Root") throw denied("because roles may not be assumed by root accounts");
    const role = await sts.directory.get("iam-role", roleAccount!, roleName!);
    // An unknown role is refused like a forbidden one: the caller learns nothing about another account.
    if (!role || role.body.arn !== roleArn) throw denied(noResourcePolicyAllows("sts:AssumeRole"));
    call.trail.resources.push({ arn: roleArn, type: "AWS::IAM::Role" });
    call.trail.recordsAnswer = true;

    const context = () => new ContextValues().set("sts:RoleSessionName", input.RoleSessionName).set("sts:ExternalId", input.ExternalId);
    const decision = await sts.authorizer.check(call, {
      action: "sts:AssumeRole",
      resource: roleArn,
      resourceAccount: roleAccount,
      resourcePolicy: compilePolicy(role.body.trustPolicy, "trust"),
      resourcePolicyRequired: true,
      context,
    });
    if (!decision.allowed) throw denied(decision.reason);

    const maxSeconds = call.principal.type === "AssumedRole" ? CHAINED_MAX_SECONDS : role.body.maxSessionDuration;
    const seconds = input.DurationSeconds ?? 3600;
    if (seconds > maxSeconds) {
      throw new ServiceError(
        "ValidationError",
        `The requested DurationSeconds exceeds the ${call.principal.type === "AssumedRole" ? "1 hour session limit for roles assumed by role chaining" : "MaxSessionDuration set for this role"}.`,
      );
    }

    const policies: string[] = [];
    if (input.Policy !== undefined) {
      checkPolicyDocument(input.Policy, "identity");
      policies.push(input.Policy);
    }
    for (const { arn } of input.PolicyArns ?? []) {
      const managed = await sts.directory.managedPolicy(roleAccount!, arn!);
      if (!managed) throw new ServiceError("MalformedPolicyDocument", `Policy ${arn} does not exist.`);
      policies.push(managed.body.document);
    }

    const now = sts.clock.now();
    const expiresAt = now + seconds * 1000;
    const accessKeyId = generateAccessKeyId("ASIA");
    const secret = generateSecretAccessKey();
    const token = randomBytes(96).toString("base64");
    await sts.credentials.addAccessKey(roleAccount!, accessKeyId, secret, now, {
      session: {
        roleName: roleName!,
        roleId: role.body.roleId,
        sessionName: input.RoleSessionName!,
        tokenHash: createHash("sha256").update(token).digest("hex"),
        issuedAt: now,
        expiresAt,
        policies: policies.length > 0 ? policies : undefined,
      },
    });
    return {
      Credentials: { AccessKeyId: accessKeyId, SecretAccessKey: secret, SessionToken: token, Expiration: new Date(expiresAt) },
      AssumedRoleUser: {
        AssumedRoleId: `${role.body.roleId}:${input.RoleSessionName}`,
        Arn: `arn:aws:sts::${roleAccount}:assumed-role/${roleName}/${input.RoleSessionName}`,
      },
      PackedPolicySize: policies.length > 0 ? Math.min(100, Math.ceil((policies.join("").length / 2048) * 100)) : undefined,
    };
  },
});

/**
 * A session feature the request asks for that keyhold's sessions do not carry. Each can decide
 * access (session tags through aws:PrincipalTag, MFA through aws:MultiFactorAuthPresent, a source
 * identity through sts:SourceIdentity) or what the trail shows, so a session without it would not
 * be the one asked for: refused, not dropped.
 */
function unkeptFeature(input: AssumeRoleRequest): string | undefined {
  if (input.Tags?.length || input.TransitiveTagKeys?.length) return "session tags (Tags, TransitiveTagKeys)";
  if (input.SerialNumber !== undefined || input.TokenCode !== undefined) return "MFA for sessions (SerialNumber, TokenCode)";
  if (input.SourceIdentity !== undefined) return "a source identity (SourceIdentity)";
  if (input.ProvidedContexts?.length) return "trusted context providers (ProvidedContexts)";
  return undefined;
}
