/** The AWS Organizations operations keyhold serves: its admin API for accounts. */
import { describeAccount, listAccounts } from "./operations/accounts.js";
import { createAccount } from "./operations/create-account.js";
import { describeCreateAccountStatus } from "./operations/describe-create-account-status.js";
import type { OrganizationsOperation } from "./service.js";

export const ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128";
export const ORGANIZATIONS_OPERATIONS: readonly OrganizationsOperation[] = [
  createAccount,
  describeCreateAccountStatus,
  listAccounts,
  describeAccount,
];
export const ORGANIZATIONS_OPERATIONS_BY_NAME: ReadonlyMap<string, OrganizationsOperation> = new Map(
  ORGANIZATIONS_OPERATIONS.map((op) => [op.name, op]),
);
