/**
 * Console sign-in (issue 25): IAM's login profiles and account password policy through
 * @aws-sdk/client-iam, and POST /_keyhold/console/signin by hand (no SDK sends it), its
 * credentials then used by @aws-sdk/client-kms and client-sts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  ChangePasswordCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccountPasswordPolicyCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  GetAccountPasswordPolicyCommand,
  GetLoginProfileCommand,
  PutUserPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
  UpdateLoginProfileCommand,
} from "@aws-sdk/client-iam";
import { CreateKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { execFile } from "node:child_process";
import { ManualClock } from "../src/clock.js";
import { awsEnv, requireTool } from "./process.js";
import { ACCESS_KEY_ID, ACCOUNT_ID, rejects, SECRET_ACCESS_KEY, startTestServer, type TestServer } from "./helpers.js";
import { iamClient, kmsAs, makeUser, policy, stsClient, type Creds } from "./iam.js";

const PASSWORD = "Correct-Horse-7-battery";
const SIGNIN = "/_keyhold/console/signin";

interface SignInAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function signIn(url: string, body: unknown, init: { contentType?: string; method?: string } = {}): Promise<SignInAnswer> {
  const response = await fetch(url + SIGNIN, {
    method: init.method ?? "POST",
    headers: { "content-type": init.contentType ?? "application/json", "user-agent": "keyhold-test-console" },
    body: init.method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function credsOf(answer: SignInAnswer): Creds {
  const c = answer.body.credentials as Record<string, string>;
  return { accessKeyId: c.accessKeyId!, secretAccessKey: c.secretAccessKey!, sessionToken: c.sessionToken! };
}

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe("console sign-in: login profiles, password policy, the sign-in endpoint, ConsoleLogin events", () => {
  let server: TestServer;
  const clock = new ManualClock();
  const iam = () => iamClient(server.url);
  const everyPassword: string[] = [PASSWORD];

  before(async () => {
    server = await startTestServer({ clock });
  });
  after(async () => {
    await server.stop();
  });

  it("the account password policy: NoSuchEntity until set, defaults for what is left out, replaced whole, deleted", async () => {
    const e = await rejects(() => iam().send(new GetAccountPasswordPolicyCommand({})), "NoSuchEntityException");
    assert.equal(e.$metadata?.httpStatusCode, 404);
    await iam().send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 12, RequireSymbols: true, MaxPasswordAge: 90 }));
    const got = (await iam().send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
    assert.equal(got.MinimumPasswordLength, 12);
    assert.equal(got.RequireSymbols, true);
    assert.equal(got.RequireNumbers, false);
    assert.equal(got.AllowUsersToChangePassword, false);
    assert.equal(got.MaxPasswordAge, 90);
    assert.equal(got.ExpirePasswords, true);
    // Update replaces: what is left out goes back to its default.
    await iam().send(new UpdateAccountPasswordPolicyCommand({ RequireNumbers: true }));
    const replaced = (await iam().send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
    assert.equal(replaced.MinimumPasswordLength, 6);
    assert.equal(replaced.RequireSymbols, false);
    assert.equal(replaced.RequireNumbers, true);
    assert.equal(replaced.MaxPasswordAge, undefined);
    assert.equal(replaced.ExpirePasswords, false);
    await rejects(() => iam().send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 5 })), "ValidationError");
    await rejects(() => iam().send(new UpdateAccountPasswordPolicyCommand({ PasswordReusePrevention: 25 })), "ValidationError");
    await iam().send(new DeleteAccountPasswordPolicyCommand({}));
    await rejects(() => iam().send(new GetAccountPasswordPolicyCommand({})), "NoSuchEntityException");
    await rejects(() => iam().send(new DeleteAccountPasswordPolicyCommand({})), "NoSuchEntityException");
  });

  it("login profiles: created against the policy, read without the password, updated, guarding DeleteUser, deleted", async () => {
    await rejects(() => iam().send(new CreateLoginProfileCommand({ UserName: "nobody", Password: PASSWORD })), "NoSuchEntityException");
    await iam().send(new CreateUserCommand({ UserName: "carol" }));
    // AWS's default policy when none is set: 8 characters, three kinds of four.
    const short = await rejects(
      () => iam().send(new CreateLoginProfileCommand({ UserName: "carol", Password: "Ab1!" })),
      "PasswordPolicyViolationException",
    );
    assert.equal(short.$metadata?.httpStatusCode, 400);
    assert.match(short.message, /minimum length of 8/);
    await rejects(
      () => iam().send(new CreateLoginProfileCommand({ UserName: "carol", Password: "alllowercase" })),
      "PasswordPolicyViolationException",
    );
    // A value the model refuses is named, never repeated (it is a password).
    const secretish = "\u0100".repeat(10) + "leaked-secret-value";
    const invalid = await rejects(
      () => iam().send(new CreateLoginProfileCommand({ UserName: "carol", Password: secretish })),
      "ValidationError",
    );
    assert.match(invalid.message, /Value at 'password' failed to satisfy constraint/);
    assert.ok(!invalid.message.includes("leaked-secret-value"));
    everyPassword.push(secretish);

    const created = (await iam().send(new CreateLoginProfileCommand({ UserName: "carol", Password: PASSWORD }))).LoginProfile!;
    assert.equal(created.UserName, "carol");
    assert.equal(created.PasswordResetRequired, false);
    assert.ok(created.CreateDate instanceof Date);
    const again = await rejects(
      () => iam().send(new CreateLoginProfileCommand({ UserName: "carol", Password: PASSWORD })),
      "EntityAlreadyExistsException",
    );
    assert.equal(again.$metadata?.httpStatusCode, 409);
    const got = (await iam().send(new GetLoginProfileCommand({ UserName: "carol" }))).LoginProfile!;
    assert.deepEqual(Object.keys(got).sort(), ["CreateDate", "PasswordResetRequired", "UserName"]);

    await iam().send(new UpdateLoginProfileCommand({ UserName: "carol", PasswordResetRequired: true }));
    assert.equal((await iam().send(new GetLoginProfileCommand({ UserName: "carol" }))).LoginProfile!.PasswordResetRequired, true);
    await rejects(
      () => iam().send(new UpdateLoginProfileCommand({ UserName: "carol", Password: "short" })),
      "PasswordPolicyViolationException",
    );

    const conflict = await rejects(() => iam().send(new DeleteUserCommand({ UserName: "carol" })), "DeleteConflictException");
    assert.match(conflict.message, /login profile/);
    await iam().send(new DeleteLoginProfileCommand({ UserName: "carol" }));
    await rejects(() => iam().send(new GetLoginProfileCommand({ UserName: "carol" })), "NoSuchEntityException");
    await rejects(() => iam().send(new DeleteLoginProfileCommand({ UserName: "carol" })), "NoSuchEntityException");
    await iam().send(new DeleteUserCommand({ UserName: "carol" }));
  });

  it("a user's own login profile calls are authorized on its ARN like any IAM action", async () => {
    const creds = await makeUser(iam(), "dave");
    await iam().send(new CreateLoginProfileCommand({ UserName: "dave", Password: PASSWORD }));
    await rejects(() => iamClient(server.url, creds).send(new GetLoginProfileCommand({})), "AccessDenied");
    await iam().send(
      new PutUserPolicyCommand({
        UserName: "dave",
        PolicyName: "self",
        PolicyDocument: policy({ Effect: "Allow", Action: "iam:GetLoginProfile", Resource: `arn:aws:iam::${ACCOUNT_ID}:user/dave` }),
      }),
    );
    assert.equal((await iamClient(server.url, creds).send(new GetLoginProfileCommand({}))).LoginProfile!.UserName, "dave");
  });

  it("signs in with a password: session credentials of the user that KMS and STS accept, ConsoleLogin Success in the trail", async () => {
    await makeUser(iam(), "alice", { kms: policy({ Effect: "Allow", Action: "kms:*", Resource: "*" }) });
    await iam().send(new CreateLoginProfileCommand({ UserName: "alice", Password: PASSWORD }));
    const answer = await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: PASSWORD });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("cache-control"), "no-store");
    assert.equal(answer.headers.get("content-type"), "application/json");
    assert.equal(answer.body.arn, `arn:aws:iam::${ACCOUNT_ID}:user/alice`);
    assert.equal(answer.body.passwordResetRequired, false);
    const c = answer.body.credentials as Record<string, string>;
    assert.match(c.accessKeyId!, /^ASIA[A-Z2-7]{16}$/);
    // Twelve hours by default, the most AWS gives a console session.
    assert.ok(Math.abs(Date.parse(c.expiration!) - (clock.now() + 43_200_000)) < 1000, c.expiration);

    const creds = credsOf(answer);
    const who = await stsClient(server.url, creds).send(new GetCallerIdentityCommand({}));
    assert.equal(who.Arn, `arn:aws:iam::${ACCOUNT_ID}:user/alice`);
    const key = await kmsAs(server.url, creds).send(new CreateKeyCommand({}));
    assert.ok(key.KeyMetadata?.KeyId);

    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    try {
      const events = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ConsoleLogin" }] }))
      ).Events!;
      const record = JSON.parse(events.find((e) => e.Username === "alice")!.CloudTrailEvent!) as Record<string, any>;
      assert.equal(record.eventSource, "signin.amazonaws.com");
      assert.equal(record.eventType, "AwsConsoleSignIn");
      assert.deepEqual(record.responseElements, { ConsoleLogin: "Success" });
      assert.equal(record.additionalEventData.MFAUsed, "No");
      assert.equal(record.additionalEventData.MobileVersion, "No");
      assert.match(record.additionalEventData.LoginTo, /\/console\/$/);
      assert.equal(record.userIdentity.type, "IAMUser");
      assert.equal(record.userIdentity.userName, "alice");
      assert.equal(record.userIdentity.arn, `arn:aws:iam::${ACCOUNT_ID}:user/alice`);
      assert.match(record.userIdentity.principalId, /^AIDA/);
      assert.equal(record.userAgent, "keyhold-test-console");
      assert.equal(record.readOnly, false);
      assert.equal(record.errorMessage, undefined);
      // The session's own calls are the user's, with when the session began.
      const created = (
        await trail.send(
          new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "AccessKeyId", AttributeValue: creds.accessKeyId }] }),
        )
      ).Events!;
      const createKey = JSON.parse(created.find((e) => e.EventName === "CreateKey")!.CloudTrailEvent!) as Record<string, any>;
      assert.equal(createKey.userIdentity.type, "IAMUser");
      assert.equal(createKey.userIdentity.userName, "alice");
      assert.equal(createKey.userIdentity.sessionContext.attributes.mfaAuthenticated, "false");
    } finally {
      trail.destroy();
    }
  });

  it("the session expires (ExpiredToken), lasts what durationSeconds asks, and ends with its user", async () => {
    const short = await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: PASSWORD, durationSeconds: 900 });
    assert.equal(short.status, 200);
    const creds = credsOf(short);
    await kmsAs(server.url, creds).send(new ListKeysCommand({}));
    clock.advance(901_000);
    try {
      await rejects(() => kmsAs(server.url, creds, { systemClockOffset: 901_000 }).send(new ListKeysCommand({})), "ExpiredTokenException");
    } finally {
      clock.set(Date.now());
    }
    for (const durationSeconds of [899, 43_201, 1.5, "900"]) {
      const bad = await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: PASSWORD, durationSeconds });
      assert.equal(bad.status, 400, String(durationSeconds));
      assert.equal(bad.body.__type, "ValidationException");
    }
  });

  it("unknown user, user without a password and wrong password get one answer, 401; the trail hides the unknown name", async () => {
    await iam().send(new CreateUserCommand({ UserName: "nopassword" }));
    const answers = [
      await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: "Wrong-password-1" }),
      await signIn(server.url, { account: ACCOUNT_ID, userName: "ghost", password: "Wrong-password-2" }),
      await signIn(server.url, { account: ACCOUNT_ID, userName: "nopassword", password: "Wrong-password-3" }),
      await signIn(server.url, { account: "999988887777", userName: "alice", password: PASSWORD }),
    ];
    everyPassword.push("Wrong-password-1", "Wrong-password-2", "Wrong-password-3");
    for (const a of answers) {
      assert.equal(a.status, 401);
      assert.equal(a.headers.get("cache-control"), "no-store");
      assert.deepEqual(Object.keys(a.body).sort(), ["__type", "message"]);
      assert.equal(a.body.__type, "AuthenticationFailure");
      assert.equal(a.body.message, answers[0]!.body.message);
    }
    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    try {
      const events = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ConsoleLogin" }] }))
      ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, any>);
      const failures = events.filter((e) => e.responseElements.ConsoleLogin === "Failure");
      assert.equal(failures.length, 3, "the other account's attempt is in that account's trail");
      for (const f of failures) {
        assert.equal(f.errorMessage, "Failed authentication");
        assert.equal(f.errorCode, undefined);
        assert.equal(f.userIdentity.accessKeyId, "");
        assert.equal(f.additionalEventData.MFAUsed, "No");
      }
      const known = failures.find((f) => f.userIdentity.userName === "alice")!;
      assert.equal(known.userIdentity.arn, `arn:aws:iam::${ACCOUNT_ID}:user/alice`);
      assert.equal(failures.filter((f) => f.userIdentity.userName === "HIDDEN_DUE_TO_SECURITY_REASONS").length, 1);
      assert.ok(failures.some((f) => f.userIdentity.userName === "nopassword"));
      assert.ok(!JSON.stringify(events).includes("ghost"), "an unknown name is not kept: it may be a password typed in the wrong field");
    } finally {
      trail.destroy();
    }
  });

  it("repeated failures are slowed, then the name is locked (429) even for the right password, until the lock ends", async () => {
    await makeUser(iam(), "erin");
    await iam().send(new CreateLoginProfileCommand({ UserName: "erin", Password: PASSWORD }));
    for (let i = 0; i < 10; i++) {
      const a = await signIn(server.url, { account: ACCOUNT_ID, userName: "erin", password: `Guess-number-${i}` });
      assert.equal(a.status, 401, `attempt ${i + 1}`);
    }
    // Another spelling of the same IAM name is the same name.
    for (const userName of ["erin", "ERIN"]) {
      const locked = await signIn(server.url, { account: ACCOUNT_ID, userName, password: PASSWORD });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.__type, "ThrottlingException");
      assert.ok(Number(locked.headers.get("retry-after")) > 0);
      assert.equal(locked.headers.get("cache-control"), "no-store");
    }
    // Another user is not locked by erin's failures.
    assert.equal((await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: PASSWORD })).status, 200);
    clock.advance(15 * 60_000 + 1000);
    try {
      const a = await signIn(server.url, { account: ACCOUNT_ID, userName: "erin", password: PASSWORD });
      assert.equal(a.status, 200);
    } finally {
      clock.set(Date.now());
    }
  });

  it("guesses sent all at once are counted as they arrive: no more than the lock allows are checked", async () => {
    await iam().send(new CreateUserCommand({ UserName: "ivan" }));
    await iam().send(new CreateLoginProfileCommand({ UserName: "ivan", Password: PASSWORD }));
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => signIn(server.url, { account: ACCOUNT_ID, userName: "ivan", password: `Parallel-guess-${i}` })),
    );
    const statuses = answers.map((a) => a.status);
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(),
    );
    // The 10th to arrive locks the name (and at most 8 are checked at once): never 16 guesses checked.
    assert.ok(statuses.filter((s) => s === 401).length <= 10, statuses.join());
    assert.ok(statuses.filter((s) => s === 429).length >= 6, statuses.join());
    assert.equal((await signIn(server.url, { account: ACCOUNT_ID, userName: "ivan", password: PASSWORD })).status, 429);
    // An administrator's reset lifts the lock.
    await iam().send(new UpdateLoginProfileCommand({ UserName: "ivan", Password: "Reset-by-admin-5" }));
    everyPassword.push("Reset-by-admin-5");
    assert.equal((await signIn(server.url, { account: ACCOUNT_ID, userName: "ivan", password: "Reset-by-admin-5" })).status, 200);
  });

  it("a password that must be reset gives credentials for ChangePassword only; changing it gives a full session", async () => {
    await makeUser(iam(), "frank", { kms: policy({ Effect: "Allow", Action: "kms:*", Resource: "*" }) });
    await iam().send(new CreateLoginProfileCommand({ UserName: "frank", Password: PASSWORD, PasswordResetRequired: true }));
    await iam().send(
      new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 10, AllowUsersToChangePassword: true, PasswordReusePrevention: 2 }),
    );
    try {
      const first = await signIn(server.url, { account: ACCOUNT_ID, userName: "frank", password: PASSWORD });
      assert.equal(first.status, 200);
      assert.equal(first.body.passwordResetRequired, true);
      const restricted = credsOf(first);
      const denied = await rejects(() => kmsAs(server.url, restricted).send(new ListKeysCommand({})), "AccessDeniedException");
      assert.match(denied.message, /session policy/);
      // What it may do: read the policy and change its password (the account policy allows users to).
      const rules = (await iamClient(server.url, restricted).send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
      assert.equal(rules.MinimumPasswordLength, 10);
      await rejects(
        () =>
          iamClient(server.url, restricted).send(
            new ChangePasswordCommand({ OldPassword: "Not-the-password-9", NewPassword: "Brand-new-pass-1" }),
          ),
        "AccessDenied",
      );
      await rejects(
        () => iamClient(server.url, restricted).send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: "short" })),
        "PasswordPolicyViolationException",
      );
      const reused = await rejects(
        () => iamClient(server.url, restricted).send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: PASSWORD })),
        "PasswordPolicyViolationException",
      );
      assert.match(reused.message, /previous 2 passwords/);
      await iamClient(server.url, restricted).send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: "Brand-new-pass-1" }));
      everyPassword.push("Not-the-password-9", "Brand-new-pass-1");
      assert.equal((await iam().send(new GetLoginProfileCommand({ UserName: "frank" }))).LoginProfile!.PasswordResetRequired, false);
      assert.equal((await signIn(server.url, { account: ACCOUNT_ID, userName: "frank", password: PASSWORD })).status, 401);
      const full = await signIn(server.url, { account: ACCOUNT_ID, userName: "frank", password: "Brand-new-pass-1" });
      assert.equal(full.body.passwordResetRequired, false);
      await kmsAs(server.url, credsOf(full)).send(new ListKeysCommand({}));

      // The sign-in's own change step, as the AWS console's: the old password and a new one.
      await iam().send(new UpdateLoginProfileCommand({ UserName: "frank", Password: "Admin-reset-pass-2", PasswordResetRequired: true }));
      const refused = await signIn(server.url, {
        account: ACCOUNT_ID,
        userName: "frank",
        password: "Admin-reset-pass-2",
        newPassword: "tiny",
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.__type, "PasswordPolicyViolation");
      const changed = await signIn(server.url, {
        account: ACCOUNT_ID,
        userName: "frank",
        password: "Admin-reset-pass-2",
        newPassword: "Chosen-by-frank-3",
      });
      everyPassword.push("Admin-reset-pass-2", "Chosen-by-frank-3");
      assert.equal(changed.status, 200);
      assert.equal(changed.body.passwordResetRequired, false);
      await kmsAs(server.url, credsOf(changed)).send(new ListKeysCommand({}));
    } finally {
      await iam().send(new DeleteAccountPasswordPolicyCommand({}));
    }
  });

  it("ChangePassword: only IAM users, only with AllowUsersToChangePassword or iam:ChangePassword", async () => {
    await rejects(
      () => iam().send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: "Another-pass-4" })),
      "InvalidUserTypeException",
    );
    const creds = await makeUser(iam(), "gina");
    await iam().send(new CreateLoginProfileCommand({ UserName: "gina", Password: PASSWORD }));
    await rejects(
      () => iamClient(server.url, creds).send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: "Another-pass-4" })),
      "AccessDenied",
    );
    await iam().send(
      new PutUserPolicyCommand({
        UserName: "gina",
        PolicyName: "own-password",
        PolicyDocument: policy({ Effect: "Allow", Action: "iam:ChangePassword", Resource: `arn:aws:iam::${ACCOUNT_ID}:user/gina` }),
      }),
    );
    await iamClient(server.url, creds).send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: "Another-pass-4" }));
    everyPassword.push("Another-pass-4");
    assert.equal((await signIn(server.url, { account: ACCOUNT_ID, userName: "gina", password: "Another-pass-4" })).status, 200);
  });

  it("the AWS CLI: password policy and login profile, then the CLI signing with the sign-in's session", async (t) => {
    if (!requireTool(t, "aws", "awscli")) return;
    // Asynchronously: the server runs in this process, and a synchronous spawn would stop it answering.
    const aws = (env: NodeJS.ProcessEnv, ...args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile("aws", ["--endpoint-url", server.url, "--output", "json", ...args], { env, encoding: "utf8" }, (error, stdout, stderr) =>
          resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
      const r = await aws(env, ...args);
      assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
      return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, any>) : {};
    };
    const root = awsEnv();
    await ok(
      root,
      "iam",
      "update-account-password-policy",
      "--minimum-password-length",
      "14",
      "--require-numbers",
      "--allow-users-to-change-password",
    );
    const got = (await iam().send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
    assert.equal(got.MinimumPasswordLength, 14);
    assert.equal(got.AllowUsersToChangePassword, true);
    await iam().send(new CreateUserCommand({ UserName: "henry" }));
    const weak = await aws(root, "iam", "create-login-profile", "--user-name", "henry", "--password", "Too-short-1");
    assert.notEqual(weak.status, 0);
    assert.match(weak.stderr, /\(PasswordPolicyViolation\)/);
    const cliPassword = "Henry-uses-the-cli-42";
    everyPassword.push(cliPassword);
    const created = await ok(
      root,
      "iam",
      "create-login-profile",
      "--user-name",
      "henry",
      "--password",
      cliPassword,
      "--password-reset-required",
    );
    assert.equal(created.LoginProfile.PasswordResetRequired, true);

    const answer = await signIn(server.url, { account: ACCOUNT_ID, userName: "henry", password: cliPassword });
    assert.equal(answer.body.passwordResetRequired, true);
    const c = credsOf(answer);
    const session = {
      ...root,
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      AWS_SESSION_TOKEN: c.sessionToken,
    };
    const newPassword = "Henry-chose-this-one-7";
    everyPassword.push(newPassword);
    await ok(session, "iam", "change-password", "--old-password", cliPassword, "--new-password", newPassword);
    assert.equal((await iam().send(new GetLoginProfileCommand({ UserName: "henry" }))).LoginProfile!.PasswordResetRequired, false);
    await iam().send(new DeleteLoginProfileCommand({ UserName: "henry" }));
    await iam().send(new DeleteAccountPasswordPolicyCommand({}));
    assert.equal((await signIn(server.url, { account: ACCOUNT_ID, userName: "henry", password: newPassword })).status, 401);
  });

  it("the endpoint takes only a bounded JSON POST", async () => {
    const get = await signIn(server.url, undefined, { method: "GET" });
    assert.equal(get.status, 405);
    const text = await signIn(server.url, `account=${ACCOUNT_ID}`, { contentType: "application/x-www-form-urlencoded" });
    assert.equal(text.status, 415);
    const big = await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: PASSWORD, padding: "x".repeat(5000) });
    assert.equal(big.status, 413);
    const notJson = await signIn(server.url, "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.__type, "ValidationException");
    for (const body of [
      [],
      { account: "12", userName: "alice", password: PASSWORD },
      { account: ACCOUNT_ID, userName: "a b", password: "x" },
    ]) {
      const a = await signIn(server.url, body);
      assert.equal(a.status, 400);
      assert.equal(a.headers.get("cache-control"), "no-store");
    }
    const long = await signIn(server.url, { account: ACCOUNT_ID, userName: "alice", password: "p".repeat(129) });
    assert.equal(long.status, 400);
    assert.ok(!JSON.stringify(long.body).includes("ppp"));
  });

  it("no password given to keyhold is in its data directory (database, trail files) or its log", async () => {
    // Let the trail's writer flush what it holds.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const logs = server.logs.join("\n");
    for (const file of filesUnder(server.dataDir)) {
      const bytes = readFileSync(file);
      for (const password of everyPassword) {
        assert.equal(bytes.indexOf(Buffer.from(password, "utf8")), -1, `${password} found in ${file}`);
        assert.equal(bytes.indexOf(Buffer.from(password, "latin1")), -1, `${password} found in ${file}`);
      }
    }
    for (const password of everyPassword) assert.ok(!logs.includes(password), `${password} in the log`);
  });
});
