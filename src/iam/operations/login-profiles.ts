/** Console passwords: CreateLoginProfile, GetLoginProfile, UpdateLoginProfile, DeleteLoginProfile, ChangePassword. */
import type {
  ChangePasswordRequest,
  CreateLoginProfileRequest,
  CreateLoginProfileResponse,
  DeleteLoginProfileRequest,
  GetLoginProfileRequest,
  GetLoginProfileResponse,
  UpdateLoginProfileRequest,
} from "@aws-sdk/client-iam";
import type { CallContext } from "../../call.js";
import { ServiceError } from "../../errors.js";
import { bool, str, struct } from "../../validation/schema.js";
import { notFound, PASSWORD_POLICY, type LoginProfileBody } from "../directory.js";
import { checkPasswordPolicy, hashPassword, passwordExpired, verifyPassword } from "../passwords.js";
import { changeStoredPassword } from "../signin.js";
import { nameKey } from "../signin-throttle.js";
import { defineIamOperation, UserName, type IamService } from "../service.js";

/** The model's passwordType, sensitive: a validation message names it and never repeats it. */
export const Password = str({ min: 1, max: 128, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, sensitive: true });

/** The user a login-profile call is about: the named one, or the calling user; authorized on its ARN. */
async function subject(iam: IamService, call: CallContext, userName: string | undefined) {
  const name = userName ?? call.principal.userName;
  if (name === undefined) throw new ServiceError("ValidationError", "Must specify userName when calling with non-User credentials");
  await iam.authorizeEntity(call, "iam-user", name);
  return iam.directory.require("iam-user", call.accountId, name);
}

function profileShape(name: string, p: LoginProfileBody) {
  return { UserName: name, CreateDate: new Date(p.createDate), PasswordResetRequired: p.passwordResetRequired };
}

async function accountPolicy(iam: IamService, accountId: string) {
  return (await iam.directory.get("iam-password-policy", accountId, PASSWORD_POLICY))?.body;
}

export const createLoginProfile = defineIamOperation<CreateLoginProfileRequest, CreateLoginProfileResponse>({
  name: "CreateLoginProfile",
  description: "Give an IAM user a console password (checked against the account password policy; stored only as a salted scrypt hash).",
  readOnly: false,
  input: struct({ UserName, Password, PasswordResetRequired: bool() }, ["Password"]),
  async run(iam, call, input) {
    const user = await subject(iam, call, input.UserName);
    checkPasswordPolicy(await accountPolicy(iam, call.accountId), input.Password!);
    const now = iam.clock.now();
    const body: LoginProfileBody = {
      userId: user.body.userId,
      createDate: now,
      passwordResetRequired: input.PasswordResetRequired ?? false,
      hash: await hashPassword(input.Password!),
      passwordSetAt: now,
      previous: [],
    };
    if (!(await iam.directory.create("iam-login-profile", call.accountId, user.name, body, now))) {
      throw new ServiceError("EntityAlreadyExists", `Login Profile for user ${user.name} already exists.`);
    }
    call.trail.resources.push({ arn: user.body.arn, type: "AWS::IAM::User" });
    return { LoginProfile: profileShape(user.name, body) };
  },
});

/** The user's login profile, if it is this user's (not one left by a deleted user of the same name). */
async function profileOf(iam: IamService, accountId: string, name: string, userId: string) {
  const profile = await iam.directory.get("iam-login-profile", accountId, name);
  if (!profile || profile.body.userId !== userId) throw notFound("iam-login-profile", name);
  return profile;
}

export const getLoginProfile = defineIamOperation<GetLoginProfileRequest, GetLoginProfileResponse>({
  name: "GetLoginProfile",
  description: "Whether an IAM user has a console password, since when, and whether it must be reset (never the password).",
  readOnly: true,
  input: struct({ UserName }),
  async run(iam, call, input) {
    const user = await subject(iam, call, input.UserName);
    const profile = await profileOf(iam, call.accountId, user.name, user.body.userId);
    return { LoginProfile: profileShape(user.name, profile.body) };
  },
});

export const updateLoginProfile = defineIamOperation<UpdateLoginProfileRequest, Record<string, never>>({
  name: "UpdateLoginProfile",
  description: "Set an IAM user's console password (an administrator's reset) or whether it must be changed at the next sign-in.",
  readOnly: false,
  input: struct({ UserName, Password, PasswordResetRequired: bool() }, ["UserName"]),
  async run(iam, call, input) {
    const user = await subject(iam, call, input.UserName);
    await profileOf(iam, call.accountId, user.name, user.body.userId);
    let hash: string | undefined;
    if (input.Password !== undefined) {
      checkPasswordPolicy(await accountPolicy(iam, call.accountId), input.Password);
      hash = await hashPassword(input.Password);
    }
    const now = iam.clock.now();
    await iam.directory.update("iam-login-profile", call.accountId, user.name, (body) => {
      if (hash !== undefined) {
        body.previous = [body.hash, ...body.previous].slice(0, 24);
        body.hash = hash;
        body.passwordSetAt = now;
      }
      if (input.PasswordResetRequired !== undefined) body.passwordResetRequired = input.PasswordResetRequired;
    });
    // An administrator's reset lifts a lock on the name: the user can try the new password at once.
    if (hash !== undefined) iam.signInThrottle.reset(nameKey(call.accountId, user.name));
    call.trail.resources.push({ arn: user.body.arn, type: "AWS::IAM::User" });
    return {};
  },
});

export const deleteLoginProfile = defineIamOperation<DeleteLoginProfileRequest, Record<string, never>>({
  name: "DeleteLoginProfile",
  description: "Remove an IAM user's console password: the user can no longer sign in to the console (its access keys still work).",
  readOnly: false,
  input: struct({ UserName }),
  async run(iam, call, input) {
    const user = await subject(iam, call, input.UserName);
    await profileOf(iam, call.accountId, user.name, user.body.userId);
    await iam.directory.delete("iam-login-profile", call.accountId, user.name);
    call.trail.resources.push({ arn: user.body.arn, type: "AWS::IAM::User" });
    return {};
  },
});

export const changePassword = defineIamOperation<ChangePasswordRequest, Record<string, never>>({
  name: "ChangePassword",
  description:
    "An IAM user changes its own console password, giving the old one (allowed by AllowUsersToChangePassword or iam:ChangePassword).",
  readOnly: false,
  input: struct({ OldPassword: Password, NewPassword: Password }, ["OldPassword", "NewPassword"]),
  async run(iam, call, input) {
    const p = call.principal;
    if (p.type !== "IAMUser" || p.userName === undefined) {
      throw new ServiceError("InvalidUserType", "Only an IAM user can change its own password with ChangePassword.");
    }
    const policy = await accountPolicy(iam, call.accountId);
    // The account policy's AllowUsersToChangePassword lets every user change its own password
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_enable-user-change.html);
    // without it the user's policies must allow iam:ChangePassword on the user.
    if (policy?.AllowUsersToChangePassword !== true) await iam.authorize(call, p.arn);
    const user = await iam.directory.require("iam-user", call.accountId, p.userName);
    const profile = await profileOf(iam, call.accountId, p.userName, user.body.userId);
    call.trail.resources.push({ arn: user.body.arn, type: "AWS::IAM::User" });
    // The old password is a guess like a sign-in's: counted with them, and not checked while the name is locked.
    const key = nameKey(call.accountId, p.userName);
    if (iam.signInThrottle.begin(key, call.sourceIp).locked) {
      throw new ServiceError("EntityTemporarilyUnmodifiable", "Too many failed password attempts for this user; try again later.");
    }
    if (!(await verifyPassword(input.OldPassword!, profile.body.hash))) {
      throw new ServiceError("AccessDenied", "The old password is incorrect.");
    }
    if (policy?.HardExpiry === true && passwordExpired(policy, profile.body.passwordSetAt, iam.clock.now())) {
      throw new ServiceError(
        "EntityTemporarilyUnmodifiable",
        "The password has expired and the account policy sets HardExpiry: an administrator must reset it.",
      );
    }
    // The old password was right: whatever follows, this was no guess.
    iam.signInThrottle.succeeded(key, call.sourceIp);
    await changeStoredPassword(iam.directory, call.accountId, p.userName, user.body.userId, input.NewPassword!, iam.clock.now());
    return {};
  },
});

export const LOGIN_PROFILE_OPERATIONS = [createLoginProfile, getLoginProfile, updateLoginProfile, deleteLoginProfile, changePassword];
