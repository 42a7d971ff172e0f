/**
 * Console sign-in: an IAM user's password exchanged for temporary session credentials of that
 * user (as GetSessionToken gives, at most 12 hours). What the caller learns from a failure is the
 * same whether the user exists, has no password or typed a wrong one: one message, and one scrypt
 * computation each (an unknown user's password is checked against a decoy hash). Repeated failures
 * are slowed and then locked (signin-throttle.ts); every attempt is a ConsoleLogin event.
 *
 * A user whose password must be reset (PasswordResetRequired, or a password past MaxPasswordAge)
 * gets credentials that allow only iam:ChangePassword and iam:GetAccountPasswordPolicy: AWS's
 * console lets such a user do nothing but choose a new password. Sending `newPassword` with the
 * sign-in does what the AWS console's "change password" sign-in step does: the password is
 * changed (the policy applies) and the session is a full one.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { ConsoleLoginAttempt } from "../audit/record.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import { generateAccessKeyId, generateSecretAccessKey, type Credentials } from "./credentials.js";
import { PASSWORD_POLICY, type Directory } from "./directory.js";
import { checkPasswordPolicy, checkReuse, decoyHash, hashPassword, passwordExpired, verifyPassword } from "./passwords.js";
import { nameKey, type SignInThrottle } from "./signin-throttle.js";

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
/** As the AWS console's: 12 hours unless the caller asks for less. */
export const DEFAULT_SESSION_SECONDS = 43_200;

/** What a reset-required session may do, as a session policy (it bounds what the user's own policies give). */
export const RESET_REQUIRED_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["iam:ChangePassword", "iam:GetAccountPasswordPolicy"], Resource: "*" }],
});

export interface SignInRequest {
  account: string;
  userName: string;
  password: string;
  newPassword?: string;
  durationSeconds?: number;
  sourceIp?: string;
  userAgent?: string;
}

export type SignInOutcome =
  | {
      kind: "success";
      requestId: string;
      arn: string;
      passwordResetRequired: boolean;
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string };
    }
  /** The one answer every wrong name, account or password gets. */
  | { kind: "failure"; requestId: string; message: string }
  /** A new password the policy refuses (the old one was right). */
  | { kind: "rejected"; requestId: string; code: string; message: string }
  | { kind: "throttled"; requestId: string; retryAfterSeconds: number };

export const FAILURE_MESSAGE = "Your authentication information is incorrect. Please try again.";

export interface SignInDependencies {
  directory: Directory;
  credentials: Credentials;
  clock: Clock;
  throttle: SignInThrottle;
  /** Keyhold's region, where the ConsoleLogin events are recorded. */
  region: string;
  /** Where the console lives (the events' LoginTo). */
  consoleUrl: string;
  record(attempt: ConsoleLoginAttempt): Promise<void>;
  /** Waits before an answer (tests may pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
}

/** At most this many passwords are hashed at once; more attempts are refused (429) rather than queued. */
const MAX_CONCURRENT = 8;

export class ConsoleSignIn {
  private inFlight = 0;

  constructor(private readonly deps: SignInDependencies) {
    // Made now, so that the first unknown name costs no more than any other attempt.
    decoyHash().catch(() => undefined);
  }

  async signIn(req: SignInRequest): Promise<SignInOutcome> {
    const { directory, clock, throttle } = this.deps;
    const requestId = randomUUID();
    const key = nameKey(req.account, req.userName);
    const verdict = throttle.begin(key, req.sourceIp);
    if (verdict.locked) return { kind: "throttled", requestId, retryAfterSeconds: verdict.retryAfterSeconds };
    // Counted as a failure all the same: a flood of attempts is no way around the count.
    if (this.inFlight >= MAX_CONCURRENT) return { kind: "throttled", requestId, retryAfterSeconds: 1 };
    this.inFlight++;
    try {
      if (verdict.delayMs > 0) await (this.deps.sleep ?? sleep)(verdict.delayMs);
      const user = await directory.get("iam-user", req.account, req.userName);
      const profile = user && (await directory.get("iam-login-profile", req.account, req.userName));
      const owned = profile !== undefined && profile.body.userId === user!.body.userId;
      // Always one scrypt: the decoy's when there is no password to check.
      const valid = await verifyPassword(req.password, owned ? profile.body.hash : await decoyHash());
      const attempt = {
        time: clock.now(),
        requestId,
        accountId: req.account,
        region: this.deps.region,
        sourceIp: req.sourceIp,
        userAgent: req.userAgent,
        loginTo: this.deps.consoleUrl,
        user: user && { userName: user.name, userId: user.body.userId, arn: user.body.arn },
      };
      if (!valid || !owned) {
        await this.deps.record({ ...attempt, success: false });
        return { kind: "failure", requestId, message: FAILURE_MESSAGE };
      }
      // The password was right: this attempt was no guess, whatever follows.
      throttle.succeeded(key, req.sourceIp);
      const policy = (await directory.get("iam-password-policy", req.account, PASSWORD_POLICY))?.body;
      const now = clock.now();
      const expired = passwordExpired(policy, profile.body.passwordSetAt, now);
      let resetRequired = profile.body.passwordResetRequired || expired;
      if (expired && policy?.HardExpiry === true && req.newPassword === undefined) {
        // HardExpiry: the user cannot set a new password; only an administrator can (UpdateLoginProfile).
        await this.deps.record({ ...attempt, success: false });
        return {
          kind: "rejected",
          requestId,
          code: "PasswordExpired",
          message: "Your password has expired; an administrator must reset it.",
        };
      }
      if (req.newPassword !== undefined) {
        try {
          if (expired && policy?.HardExpiry === true) {
            throw new ServiceError("EntityTemporarilyUnmodifiable", "Your password has expired; an administrator must reset it.");
          }
          await changeStoredPassword(directory, req.account, req.userName, profile.body.userId, req.newPassword, now);
        } catch (error) {
          if (!(error instanceof ServiceError)) throw error;
          await this.deps.record({ ...attempt, success: false });
          return { kind: "rejected", requestId, code: error.code, message: error.message };
        }
        resetRequired = false;
      }
      const seconds = req.durationSeconds ?? DEFAULT_SESSION_SECONDS;
      const issued = await this.issue(req.account, user!.name, user!.body.userId, seconds, resetRequired);
      await this.deps.record({ ...attempt, success: true });
      return { kind: "success", requestId, arn: user!.body.arn, passwordResetRequired: resetRequired, credentials: issued };
    } finally {
      this.inFlight--;
    }
  }

  private async issue(accountId: string, userName: string, userId: string, seconds: number, restricted: boolean) {
    const now = this.deps.clock.now();
    const expiresAt = now + seconds * 1000;
    const accessKeyId = generateAccessKeyId("ASIA");
    const secretAccessKey = generateSecretAccessKey();
    const sessionToken = randomBytes(96).toString("base64");
    await this.deps.credentials.addAccessKey(accountId, accessKeyId, secretAccessKey, now, {
      userName,
      session: {
        userId,
        tokenHash: createHash("sha256").update(sessionToken).digest("hex"),
        issuedAt: now,
        expiresAt,
        policies: restricted ? [RESET_REQUIRED_POLICY] : undefined,
      },
    });
    return { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiresAt).toISOString() };
  }
}

/**
 * Sets a user's new console password: the account policy applies (length, kinds, reuse), the old
 * hash joins the history, and the reset requirement is cleared. Shared by ChangePassword and the
 * sign-in's change step.
 */
export async function changeStoredPassword(
  directory: Directory,
  accountId: string,
  userName: string,
  userId: string,
  password: string,
  now: number,
): Promise<void> {
  const policy = (await directory.get("iam-password-policy", accountId, PASSWORD_POLICY))?.body;
  checkPasswordPolicy(policy, password);
  const current = await directory.require("iam-login-profile", accountId, userName);
  await checkReuse(policy, password, [current.body.hash, ...current.body.previous]);
  const hash = await hashPassword(password);
  await directory.update("iam-login-profile", accountId, userName, (body) => {
    if (body.userId !== userId) throw new ServiceError("NoSuchEntity", `Login Profile for User ${userName} cannot be found.`);
    body.previous = [body.hash, ...body.previous].slice(0, MAX_PASSWORD_HISTORY);
    body.hash = hash;
    body.passwordSetAt = now;
    body.passwordResetRequired = false;
  });
}

/** PasswordReusePrevention's maximum. */
export const MAX_PASSWORD_HISTORY = 24;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
