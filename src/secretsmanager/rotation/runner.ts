/**
 * Runs a rotation: the four steps (createSecret, setSecret, testSecret, finishSecret) of the
 * secret's rotation function, in order, as Secrets Manager invokes a Lambda. A node claims the
 * rotation by writing it into the secret at the revision it read, so only one node of a cluster
 * runs it. A step that fails leaves AWSCURRENT where it was and AWSPENDING on the new version
 * (whatever the function put there); the failure is kept on the secret and in the trail, and the
 * scheduler tries again later with the same version id, as AWS retries a rotation.
 */
import { randomUUID } from "node:crypto";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import { rootPrincipal } from "../../iam/principal.js";
import { readValue } from "../operations/get-secret-value.js";
import { putSecretValue } from "../operations/put-secret-value.js";
import { updateSecretVersionStage } from "../operations/update-secret-version-stage.js";
import { CURRENT, PENDING, type RotationState, type Secret, type SecretsManagerService } from "../service.js";
import { BUILT_IN_ROTATORS, type BuiltInHost, type SecretAccess } from "./built-in.js";
import { parseFunctionArn, STEPS, type RotationEvent, type RotationFunctions } from "./functions.js";
import { nextRotation, parseRules } from "./schedule.js";

/** How long a node holds a rotation it runs (four steps of at most 30 s each, and margin). */
export const CLAIM_MS = 5 * 60_000;
/** When a failed rotation is tried again. */
export const RETRY_MS = 60 * 60_000;

export interface RotationEventNotice {
  eventName: "RotationStarted" | "RotationSucceeded" | "RotationFailed";
  accountId: string;
  region: string;
  arn: string;
  details: Record<string, unknown>;
}

export interface RotationOutcome {
  succeeded: boolean;
  failure?: string;
}

export class RotationRunner {
  constructor(
    private readonly sm: SecretsManagerService,
    readonly functions: RotationFunctions | undefined,
    private readonly host: Omit<BuiltInHost, "now">,
    private readonly notify: (event: RotationEventNotice) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {}

  /** A call made by Secrets Manager itself in the secret's account, standing in for the rotation function's role. */
  private serviceCall(secret: Secret): CallContext {
    return {
      accountId: secret.accountId,
      region: secret.body.region,
      accessKeyId: "",
      principal: rootPrincipal(secret.accountId),
      time: this.sm.clock.now(),
      secureTransport: true,
      requestId: randomUUID(),
      action: "",
      trail: { resources: [] },
    };
  }

  /**
   * Claims the rotation `token` of `secret` by writing it at the revision read. False when another
   * request or node changed the secret's rotation first (it claimed it: that one runs it).
   */
  async claim(secret: Secret, token: string, rotation: RotationState): Promise<boolean> {
    const now = this.sm.clock.now();
    const pending = rotation.pending?.token === token ? rotation.pending : { token, startedAt: now, attempts: 0 };
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = structuredClone(secret.body);
      body.rotation = {
        ...rotation,
        pending: { ...pending, attempts: pending.attempts + 1, claimedUntil: now + CLAIM_MS, retryAt: undefined },
      };
      try {
        await this.sm.save(secret, body);
        return true;
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
      }
      // Changed meanwhile: a read (LastAccessedDate) is no reason to give up; a change of the rotation (another claim) is.
      const latest = await this.sm.load(secret.accountId, secret.body.region, secret.body.name);
      if (!latest || latest.body.arn !== secret.body.arn) return false;
      if (JSON.stringify(latest.body.rotation) !== JSON.stringify(secret.body.rotation)) return false;
      secret.doc = latest.doc;
      secret.body = latest.body;
    }
    return false;
  }

  /** Runs the four steps for a claimed rotation and records how it ended. */
  async run(secret: Secret, token: string): Promise<RotationOutcome> {
    const arn = secret.body.arn;
    const rotation = secret.body.rotation!;
    const notice = { accountId: secret.accountId, region: secret.body.region, arn };
    await this.notify({ ...notice, eventName: "RotationStarted", details: { rotationLambdaARN: rotation.lambdaArn } });
    let step: string = STEPS[0]!;
    try {
      const fn = parseFunctionArn(rotation.lambdaArn);
      const builtIn = BUILT_IN_ROTATORS.get(fn.name);
      const registered = builtIn ? undefined : await this.functions?.get(secret.accountId, fn.name);
      if (!builtIn && !registered) throw new Error(`the rotation function ${rotation.lambdaArn} is not registered`);
      const access = this.access(secret);
      for (const s of STEPS) {
        step = s;
        const event: RotationEvent = { SecretId: arn, ClientRequestToken: token, Step: s };
        if (builtIn) await builtIn(s, access, token, { ...this.host, now: () => this.sm.clock.now() }, secret.accountId);
        else await this.functions!.invoke(secret.accountId, registered!, event, this.sm.clock.now());
      }
      const after = await this.sm.load(secret.accountId, secret.body.region, secret.body.name);
      if (!after?.body.versions.find((v) => v.id === token)?.stages.includes(CURRENT)) {
        throw new Error("finishSecret returned, but AWSCURRENT is not on the new version");
      }
    } catch (error) {
      const failure = describeFailure(error);
      await this.finish(secret, (r) => {
        const now = this.sm.clock.now();
        if (r.pending?.token === token) {
          r.pending = { ...r.pending, claimedUntil: undefined, failedStep: step, failure, retryAt: now + RETRY_MS };
        }
      });
      await this.notify({ ...notice, eventName: "RotationFailed", details: { step, failure } });
      this.log(`rotation of ${arn} failed at ${step}: ${failure}`);
      return { succeeded: false, failure };
    }
    await this.finish(secret, (r) => {
      const now = this.sm.clock.now();
      r.pending = undefined;
      r.lastRotatedAt = now;
      r.nextRotationAt = r.enabled && r.rules ? nextRotation(parseRules(r.rules), now) : undefined;
    });
    await this.notify({ ...notice, eventName: "RotationSucceeded", details: {} });
    this.log(`rotated secret ${arn}`);
    return { succeeded: true };
  }

  /** Applies `change` to the secret's rotation state as it is now (the steps changed the secret meanwhile). */
  private async finish(secret: Secret, change: (r: RotationState) => void): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.sm.load(secret.accountId, secret.body.region, secret.body.name);
      if (!latest?.body.rotation || latest.body.arn !== secret.body.arn) return;
      const body = structuredClone(latest.body);
      change(body.rotation!);
      try {
        await this.sm.save(latest, body);
        return;
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
      }
    }
  }

  /** The secret as a rotator sees it: Secrets Manager's own operations, as the account. */
  private access(secret: Secret): SecretAccess {
    const arn = secret.body.arn;
    const sm = this.sm;
    const masterArn = secret.body.rotation?.masterArn;
    const call = () => this.serviceCall(secret);
    return {
      arn,
      async get(stage, versionId) {
        try {
          const out = await readValue(sm, call(), arn, versionId, stage);
          return out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString("utf8") : undefined);
        } catch (error) {
          if (error instanceof ServiceError && error.code === "ResourceNotFoundException") return undefined;
          throw error;
        }
      },
      async getOther(secretId) {
        const out = await readValue(sm, call(), secretId, undefined, CURRENT);
        if (out.ARN === undefined || out.ARN !== masterArn) {
          throw new ServiceError(
            "InvalidRequestException",
            "The secret's masterarn is not the master secret RotateSecret was called with; call RotateSecret again.",
          );
        }
        if (out.SecretString === undefined) throw new ServiceError("InvalidRequestException", "The master secret has no SecretString.");
        return out.SecretString;
      },
      async putPending(token, value) {
        await putSecretValue.handle(sm, call(), {
          SecretId: arn,
          ClientRequestToken: token,
          SecretString: value,
          VersionStages: [PENDING],
        });
      },
      async finish(token) {
        const latest = await sm.load(secret.accountId, secret.body.region, secret.body.name);
        const current = latest?.body.versions.find((v) => v.stages.includes(CURRENT));
        if (!current || current.id === token) return;
        await updateSecretVersionStage.handle(sm, call(), {
          SecretId: arn,
          VersionStage: CURRENT,
          MoveToVersionId: token,
          RemoveFromVersionId: current.id,
        });
      },
    };
  }
}

/** What a failure says: the function's own message, never a value (rotators put none in theirs). */
function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}
