import type { RotateSecretRequest, RotateSecretResponse } from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../errors.js";
import { bool, int, list, str, struct } from "../../validation/schema.js";
import { defineOperation } from "../operation.js";
import type { CallContext } from "../../call.js";
import { BUILT_IN_ROTATORS } from "../rotation/built-in.js";
import { BUILT_IN, parseFunctionArn } from "../rotation/functions.js";
import { readValue } from "./get-secret-value.js";
import { nextRotation, parseRules, type RotationRules } from "../rotation/schedule.js";
import { CURRENT, PENDING, type RotationState, type SecretBody, type SecretsManagerService } from "../service.js";
import { ClientRequestToken, SecretId } from "../shapes.js";

/** RotationRulesType, with the model's bounds: AutomaticallyAfterDays 1–1000, Duration `[0-9]+h` (2–3), ScheduleExpression (1–256). */
const RotationRulesShape = struct({
  AutomaticallyAfterDays: int({ min: 1, max: 1000 }),
  Duration: str({ min: 2, max: 3, pattern: /^[0-9]+h$/ }),
  ScheduleExpression: str({ min: 1, max: 256, pattern: /^[0-9A-Za-z()#?*\-/, ]+$/ }),
});

export const rotateSecret = defineOperation<RotateSecretRequest, RotateSecretResponse>({
  name: "RotateSecret",
  description:
    "Configure and start rotation: the rotation function's four steps make a new version, set it where the credential lives, test it and make it AWSCURRENT.",
  readOnly: false,
  input: struct(
    {
      SecretId,
      ClientRequestToken,
      RotationLambdaARN: str({ min: 0, max: 2048 }),
      RotationRules: RotationRulesShape,
      RotateImmediately: bool(),
      ExternalSecretRotationMetadata: list(struct({ Key: str({ min: 1, max: 2048 }), Value: str({ min: 1, max: 2048 }) })),
      ExternalSecretRotationRoleArn: str({ min: 20, max: 2048 }),
    },
    ["SecretId"],
  ),
  async run(sm, call, input) {
    if (input.ExternalSecretRotationMetadata !== undefined || input.ExternalSecretRotationRoleArn !== undefined) {
      throw new ServiceError("InvalidParameterException", "Managed external secrets are not served by this keyhold server.");
    }
    let secret = await sm.require(call, input.SecretId!, "secretsmanager:RotateSecret", {
      keys: { "secretsmanager:rotationlambdaarn": input.RotationLambdaARN },
    });
    sm.requireNotDeleted(secret);
    const lambdaArn = input.RotationLambdaARN || secret.body.rotation?.lambdaArn;
    if (!lambdaArn) {
      throw new ServiceError("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.");
    }
    const fnName = await requireFunction(sm, secret.accountId, secret.body, lambdaArn);
    const masterArn = fnName === BUILT_IN.postgresMultiUser ? await allowedMaster(sm, call, secret.body) : undefined;
    // Reading the value (LastAccessedDate) wrote the secret: continue from what is stored now.
    if (masterArn !== undefined) secret = (await sm.load(secret.accountId, secret.body.region, secret.body.name)) ?? secret;
    const body = secret.body;
    const rules: RotationRules | undefined = input.RotationRules ?? body.rotation?.rules;
    const schedule = rules && parseRules(rules);
    const token = input.ClientRequestToken ?? sm.newVersionId();
    // A retry of a rotation that already made its version answers that version and starts nothing.
    const existing = body.versions.find((v) => v.id === token);
    if (existing && !body.rotation?.pending) return { ARN: body.arn, Name: body.name, VersionId: token };
    if (body.rotation?.pending || body.versions.some((v) => v.stages.includes(PENDING) && !v.stages.includes(CURRENT))) {
      throw new ServiceError("InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.");
    }
    const now = sm.clock.now();
    const rotation: RotationState = {
      lambdaArn,
      rules,
      enabled: schedule !== undefined,
      lastRotatedAt: body.rotation?.lastRotatedAt,
      nextRotationAt: schedule && nextRotation(schedule, body.rotation?.lastRotatedAt ?? now),
      masterArn,
    };
    const runner = sm.rotation;
    if (input.RotateImmediately === false || !runner) {
      await sm.save(secret, { ...structuredClone(body), rotation, lastChangedAt: now });
      return { ARN: body.arn, Name: body.name };
    }
    if (!(await runner.claim(secret, token, rotation))) {
      throw new ServiceError("InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.");
    }
    // AWS invokes the function asynchronously; keyhold answers once the steps ran, so that the
    // caller's next read sees the rotation's outcome. A failed step is not this call's error: it
    // stays on the secret (AWSPENDING) and in the trail (RotationFailed), and is retried.
    await runner.run(secret, token);
    return { ARN: body.arn, Name: body.name, VersionId: token };
  },
});

/** The function must be a built-in rotator or a function registered in the secret's account and region. */
async function requireFunction(sm: SecretsManagerService, accountId: string, body: SecretBody, lambdaArn: string): Promise<string> {
  const fn = parseFunctionArn(lambdaArn);
  if (fn.accountId !== accountId || fn.region !== body.region) {
    throw new ServiceError("InvalidRequestException", "The rotation function must be in the secret's account and region.");
  }
  if (BUILT_IN_ROTATORS.has(fn.name)) return fn.name;
  if (!(await sm.rotation?.functions?.get(accountId, fn.name))) {
    throw new ServiceError(
      "InvalidRequestException",
      `Secrets Manager cannot invoke the specified Lambda function ${lambdaArn}: no such rotation function is registered (keyhold rotation-function create).`,
    );
  }
  return fn.name;
}

/**
 * The alternating-users rotator logs in with the master secret its secret names (masterarn). The
 * rotator acts as the account, so the caller who turns it on must be able to read both secrets
 * themselves; the master's ARN is kept, and the rotator refuses any other later written into the value.
 */
async function allowedMaster(sm: SecretsManagerService, call: CallContext, body: SecretBody): Promise<string> {
  const current = await readValue(sm, call, body.arn, undefined, CURRENT);
  let masterarn: unknown;
  try {
    masterarn = (JSON.parse(current.SecretString ?? "") as { masterarn?: unknown }).masterarn;
  } catch {
    // reported below
  }
  if (typeof masterarn !== "string" || masterarn.length > 2048) {
    throw new ServiceError(
      "InvalidParameterException",
      "An alternating-users secret's value is RDS JSON with masterarn, the master secret's ARN.",
    );
  }
  const master = await sm.require(call, masterarn, "secretsmanager:GetSecretValue");
  sm.requireNotDeleted(master);
  return master.body.arn;
}
