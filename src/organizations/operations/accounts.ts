/** ListAccounts and DescribeAccount: the management account and every member account. */
import type {
  Account,
  DescribeAccountRequest,
  DescribeAccountResponse,
  ListAccountsRequest,
  ListAccountsResponse,
} from "@aws-sdk/client-organizations";
import { ServiceError } from "../../errors.js";
import type { AccountRecord } from "../../store/records.js";
import { int, str, struct } from "../../validation/schema.js";
import { defineOrganizationsOperation, type MemberAccountBody, type OrganizationsService } from "../service.js";

async function accountShape(org: OrganizationsService, a: AccountRecord): Promise<Account> {
  const doc = await org.repo.getDocument("org-account", org.managementAccountId, a.accountId);
  const member = doc && (JSON.parse(doc.body) as MemberAccountBody);
  return {
    Id: a.accountId,
    Arn: org.accountArn(a.accountId),
    Name: member?.name ?? a.accountId,
    Email: member?.email,
    Status: "ACTIVE",
    State: "ACTIVE",
    JoinedMethod: a.accountId === org.managementAccountId || !member ? "INVITED" : "CREATED",
    JoinedTimestamp: new Date(member?.joinedAt ?? a.createdAt),
  };
}

export const listAccounts = defineOrganizationsOperation<ListAccountsRequest, ListAccountsResponse>({
  name: "ListAccounts",
  description: "List the accounts of the organization: the management account and its members.",
  readOnly: true,
  input: struct({ NextToken: str({ max: 100000 }), MaxResults: int({ min: 1, max: 20 }) }),
  async run(org, call, input) {
    await org.authorize(call);
    const all = await org.repo.listAccounts();
    const start = input.NextToken === undefined ? 0 : all.findIndex((a) => a.accountId > input.NextToken!);
    if (start < 0 && input.NextToken !== undefined && !/^\d{12}$/.test(input.NextToken)) {
      throw new ServiceError("InvalidInputException", "The NextToken is not one ListAccounts returned.");
    }
    const from = start < 0 ? all.length : start;
    const page = all.slice(from, from + (input.MaxResults ?? 20));
    const more = from + page.length < all.length;
    return {
      Accounts: await Promise.all(page.map((a) => accountShape(org, a))),
      NextToken: more ? page[page.length - 1]!.accountId : undefined,
    };
  },
});

export const describeAccount = defineOrganizationsOperation<DescribeAccountRequest, DescribeAccountResponse>({
  name: "DescribeAccount",
  description: "Describe one account of the organization.",
  readOnly: true,
  input: struct({ AccountId: str({ max: 12, pattern: /^\d{12}$/ }) }, ["AccountId"]),
  async run(org, call, input) {
    await org.authorize(call);
    const account = await org.repo.getAccount(input.AccountId!);
    if (!account) throw new ServiceError("AccountNotFoundException", `Account ${input.AccountId} is not in the organization.`);
    return { Account: await accountShape(org, account) };
  },
});
