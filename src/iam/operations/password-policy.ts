/** The account password policy: GetAccountPasswordPolicy, UpdateAccountPasswordPolicy, DeleteAccountPasswordPolicy. */
import type { GetAccountPasswordPolicyResponse, UpdateAccountPasswordPolicyRequest } from "@aws-sdk/client-iam";
import { bool, int, struct } from "../../validation/schema.js";
import { notFound, PASSWORD_POLICY } from "../directory.js";
import type { PasswordPolicy } from "../passwords.js";
import { defineIamOperation } from "../service.js";

export const getAccountPasswordPolicy = defineIamOperation<Record<string, never>, GetAccountPasswordPolicyResponse>({
  name: "GetAccountPasswordPolicy",
  description: "The account's password policy (NoSuchEntity when none is set and AWS's default applies).",
  readOnly: true,
  input: struct({}),
  async run(iam, call) {
    const policy = (await iam.directory.get("iam-password-policy", call.accountId, PASSWORD_POLICY))?.body;
    // A policy that lets users change their own password lets them read it too (the console shows it
    // when they choose a new one); otherwise iam:GetAccountPasswordPolicy decides.
    if (!(policy?.AllowUsersToChangePassword === true && call.principal.type === "IAMUser")) await iam.authorize(call, "*");
    if (!policy) throw notFound("iam-password-policy", call.accountId);
    return { PasswordPolicy: { ...policy, ExpirePasswords: policy.MaxPasswordAge !== undefined } };
  },
});

export const updateAccountPasswordPolicy = defineIamOperation<UpdateAccountPasswordPolicyRequest, Record<string, never>>({
  name: "UpdateAccountPasswordPolicy",
  description: "Set the account's password policy; every member left out takes its default (it replaces the policy, as IAM's does).",
  readOnly: false,
  input: struct({
    MinimumPasswordLength: int({ min: 6, max: 128 }),
    RequireSymbols: bool(),
    RequireNumbers: bool(),
    RequireUppercaseCharacters: bool(),
    RequireLowercaseCharacters: bool(),
    AllowUsersToChangePassword: bool(),
    MaxPasswordAge: int({ min: 1, max: 1095 }),
    PasswordReusePrevention: int({ min: 1, max: 24 }),
    HardExpiry: bool(),
  }),
  async run(iam, call, input) {
    await iam.authorize(call, "*");
    const policy: PasswordPolicy = {
      MinimumPasswordLength: input.MinimumPasswordLength ?? 6,
      RequireSymbols: input.RequireSymbols ?? false,
      RequireNumbers: input.RequireNumbers ?? false,
      RequireUppercaseCharacters: input.RequireUppercaseCharacters ?? false,
      RequireLowercaseCharacters: input.RequireLowercaseCharacters ?? false,
      AllowUsersToChangePassword: input.AllowUsersToChangePassword ?? false,
      MaxPasswordAge: input.MaxPasswordAge,
      PasswordReusePrevention: input.PasswordReusePrevention,
      HardExpiry: input.HardExpiry,
    };
    const now = iam.clock.now();
    if (!(await iam.directory.create("iam-password-policy", call.accountId, PASSWORD_POLICY, policy, now))) {
      await iam.directory.update("iam-password-policy", call.accountId, PASSWORD_POLICY, (body) => {
        for (const k of Object.keys(body)) delete (body as unknown as Record<string, unknown>)[k];
        Object.assign(body, policy);
      });
    }
    return {};
  },
});

export const deleteAccountPasswordPolicy = defineIamOperation<Record<string, never>, Record<string, never>>({
  name: "DeleteAccountPasswordPolicy",
  description: "Remove the account's password policy: AWS's default applies again.",
  readOnly: false,
  input: struct({}),
  async run(iam, call) {
    await iam.authorize(call, "*");
    if (!(await iam.directory.delete("iam-password-policy", call.accountId, PASSWORD_POLICY))) {
      throw notFound("iam-password-policy", call.accountId);
    }
    return {};
  },
});

export const PASSWORD_POLICY_OPERATIONS = [getAccountPasswordPolicy, updateAccountPasswordPolicy, deleteAccountPasswordPolicy];
