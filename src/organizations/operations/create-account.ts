import { randomBytes } from "node:crypto";
import type { CreateAccountFailureReason, CreateAccountRequest, CreateAccountResponse } from "@aws-sdk/client-organizations";
import { iamArn, uniqueId } from "../../iam/directory.js";
import { list, str, struct } from "../../validation/schema.js";
import {
  defineOrganizationsOperation,
  type CreateAccountStatusBody,
  type MemberAccountBody,
  type OrganizationsService,
} from "../service.js";

const ADMIN_POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

/** A 12-digit account id not yet taken. */
async function newAccountId(taken: (id: string) => Promise<boolean>): Promise<string> {
  for (;;) {
    const id = String(100_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 900_000_000_000));
    if (!(await taken(id))) return id;
  }
}

export const createAccount = defineOrganizationsOperation<CreateAccountRequest, CreateAccountResponse>({
  name: "CreateAccount",
  description: "Make a member account (a tenant) with a role the management account can assume to administer it.",
  readOnly: false,
  input: struct(
    {
      Email: str({ min: 6, max: 64, pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/ }),
      AccountName: str({ min: 1, max: 128 }),
      RoleName: str({ max: 64, pattern: /^[\w+=,.@-]{1,64}$/ }),
      IamUserAccessToBilling: str({ enum: ["ALLOW", "DENY"] }),
      Tags: list(struct({ Key: str({ min: 1, max: 128 }), Value: str({ max: 256 }) }, ["Key", "Value"])),
    },
    ["Email", "AccountName"],
  ),
  async run(org, call, input) {
    await org.authorize(call);
    const now = org.clock.now();
    const members = await org.repo.listDocuments("org-account", org.managementAccountId, "", undefined, 10_000);
    const requestId = `car-${randomBytes(16).toString("hex")}`;
    // As in Organizations, where the account is made after the call returns: an address already
    // in use makes the request FAILED with its reason, read from the status, not an error.
    if (members.items.some((d) => (JSON.parse(d.body) as MemberAccountBody).email === input.Email)) {
      const failed: CreateAccountStatusBody = {
        accountName: input.AccountName!,
        requestedAt: now,
        completedAt: now,
        failureReason: "EMAIL_ALREADY_EXISTS",
      };
      await putStatus(org, requestId, failed, now);
      return { CreateAccountStatus: statusShape(requestId, failed) };
    }
    const accountId = await newAccountId(async (id) => (await org.repo.getAccount(id)) !== undefined);
    await org.repo.createAccount({ accountId, createdAt: now });
    const roleName = input.RoleName ?? "OrganizationAccountAccessRole";
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${org.managementAccountId}:root` }, Action: "sts:AssumeRole" }],
    });
    const role = {
      roleId: uniqueId("AROA"),
      path: "/",
      arn: iamArn(accountId, "role", "/", roleName),
      createDate: now,
      trustPolicy: trust,
      description: "Administration of this member account from the management account",
      maxSessionDuration: 3600,
      inline: { AdministratorAccess: ADMIN_POLICY },
      attached: [],
    };
    await org.repo.putDocument(
      { kind: "iam-role", accountId, name: roleName, body: JSON.stringify(role), revision: 1, createdAt: now },
      "new",
    );
    const member: MemberAccountBody = { name: input.AccountName!, email: input.Email!, joinedAt: now, requestId };
    await org.repo.putDocument(
      {
        kind: "org-account",
        accountId: org.managementAccountId,
        name: accountId,
        body: JSON.stringify(member),
        revision: 1,
        createdAt: now,
      },
      "new",
    );
    const status: CreateAccountStatusBody = { accountId, accountName: input.AccountName!, requestedAt: now, completedAt: now };
    await putStatus(org, requestId, status, now);
    return { CreateAccountStatus: statusShape(requestId, status) };
  },
});

async function putStatus(org: OrganizationsService, requestId: string, status: CreateAccountStatusBody, now: number): Promise<void> {
  await org.repo.putDocument(
    {
      kind: "org-create-status",
      accountId: org.managementAccountId,
      name: requestId,
      body: JSON.stringify(status),
      revision: 1,
      createdAt: now,
    },
    "new",
  );
}

export function statusShape(requestId: string, s: CreateAccountStatusBody) {
  return {
    Id: requestId,
    AccountName: s.accountName,
    State: s.failureReason === undefined ? ("SUCCEEDED" as const) : ("FAILED" as const),
    RequestedTimestamp: new Date(s.requestedAt),
    CompletedTimestamp: new Date(s.completedAt),
    AccountId: s.accountId,
    FailureReason: s.failureReason as CreateAccountFailureReason | undefined,
  };
}
