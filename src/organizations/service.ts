/**
 * AWS Organizations, as far as keyhold needs it: the admin API for accounts. The account made at
 * initialization is the organization's management account; CreateAccount makes member accounts,
 * each with a role (OrganizationAccountAccessRole unless named otherwise) that the management
 * account may assume — the way AWS gives access to a new member account.
 */
import { createHash } from "node:crypto";
import type { CallContext } from "../call.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { Authorizer } from "../iam/authorizer.js";
import type { Repository } from "../store/repository.js";
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";

export interface MemberAccountBody {
  name: string;
  email: string;
  joinedAt: number;
  requestId: string;
}

export interface CreateAccountStatusBody {
  /** Absent when the request failed. */
  accountId?: string;
  accountName: string;
  requestedAt: number;
  completedAt: number;
  /** Organizations' CreateAccountFailureReason, for a request that failed (EMAIL_ALREADY_EXISTS). */
  failureReason?: string;
}

export class OrganizationsService {
  constructor(
    readonly repo: Repository,
    readonly authorizer: Authorizer,
    readonly clock: Clock,
    /** The management account: the one made at initialization. */
    readonly managementAccountId: string,
  ) {}

  /** o- and ten characters, fixed by the management account. */
  get organizationId(): string {
    return "o-" + createHash("sha256").update(this.managementAccountId).digest("hex").slice(0, 10);
  }

  accountArn(accountId: string): string {
    return `arn:aws:organizations::${this.managementAccountId}:account/${this.organizationId}/${accountId}`;
  }

  /** Only the management account manages the organization, and within it only principals its IAM policies allow. */
  async authorize(call: CallContext): Promise<void> {
    if (call.accountId !== this.managementAccountId) {
      throw new ServiceError(
        "AccessDeniedException",
        "You don't have permissions to access this resource: only the management account manages the organization.",
      );
    }
    await this.authorizer.require(call, { action: call.action, resource: "*" });
  }
}

export type OrganizationsOperation = Operation<OrganizationsService>;

export function defineOrganizationsOperation<I, O>(spec: OperationSpec<OrganizationsService, I, O>) {
  return defineServiceOperation<OrganizationsService, I, O>(spec);
}
