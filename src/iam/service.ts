/**
 * The IAM API's layer over the directory: the caller's permission for each IAM action, names
 * checked for uniqueness, and the shapes IAM answers with.
 */
import type { CallContext } from "../call.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { Repository } from "../store/repository.js";
import type { Authorizer } from "./authorizer.js";
import type { ContextValues } from "./conditions.js";
import type { Credentials } from "./credentials.js";
import { SignInThrottle } from "./signin-throttle.js";
import { iamArn, type Directory, type ManagedPolicyBody, type RoleBody, type UserBody, type GroupBody } from "./directory.js";
import { defineServiceOperation, type Operation, type OperationSpec } from "../operation.js";
import { int, list, str, struct } from "../validation/schema.js";

/** Where GetAccessKeyLastUsed reads from: the audit trail. */
export interface AccessKeyUseLog {
  /** The newest call signed with the key whose signature checked out. */
  accessKeyLastUse(accessKeyId: string): Promise<{ eventTime: number; eventSource: string; region?: string } | undefined>;
}

export interface IamDependencies {
  repo: Repository;
  directory: Directory;
  credentials: Credentials;
  authorizer: Authorizer;
  clock: Clock;
  accessKeyUse?: AccessKeyUseLog;
  /** Failed sign-ins per user: ChangePassword counts a wrong old password as one, and refuses while locked. */
  signInThrottle?: SignInThrottle;
}

export class IamService {
  readonly repo: Repository;
  readonly directory: Directory;
  readonly credentials: Credentials;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  readonly accessKeyUse: AccessKeyUseLog | undefined;
  readonly signInThrottle: SignInThrottle;

  constructor(deps: IamDependencies) {
    this.repo = deps.repo;
    this.directory = deps.directory;
    this.credentials = deps.credentials;
    this.authorizer = deps.authorizer;
    this.clock = deps.clock;
    this.accessKeyUse = deps.accessKeyUse;
    this.signInThrottle = deps.signInThrottle ?? new SignInThrottle(deps.clock);
  }

  /** The caller may perform this call's action on the named resource (identity policies decide; root may). */
  async authorize(call: CallContext, resource: string, context?: () => ContextValues): Promise<void> {
    await this.authorizer.require(call, { action: call.action, resource, context });
  }

  /**
   * The ARN an IAM action on a named user, group or role is authorized on: the entity's own, with
   * its path (arn:aws:iam::111122223333:user/division/Bob), so that a policy scoped to a path
   * (`user/division/*`) allows and denies as in AWS; with the path "/" for a name that names
   * nothing yet (CreateUser names its path itself; other operations then answer NoSuchEntity).
   */
  async entityArn(call: CallContext, kind: "iam-user" | "iam-group" | "iam-role", name: string): Promise<string> {
    const entity = await this.directory.get(kind, call.accountId, name);
    return entity?.body.arn ?? iamArn(call.accountId, ARN_TYPE[kind], "/", name);
  }

  /** The caller may perform this call's action on the named user, group or role (see entityArn). */
  async authorizeEntity(
    call: CallContext,
    kind: "iam-user" | "iam-group" | "iam-role",
    name: string,
    context?: () => ContextValues,
  ): Promise<void> {
    await this.authorize(call, await this.entityArn(call, kind, name), context);
  }
}

const ARN_TYPE = { "iam-user": "user", "iam-group": "group", "iam-role": "role" } as const;

export type IamOperation = Operation<IamService>;

export function defineIamOperation<I, O>(spec: OperationSpec<IamService, I, O>) {
  return defineServiceOperation<IamService, I, O>(spec);
}

// Shapes of the IAM service model.
export const UserName = str({ min: 1, max: 64, pattern: /^[\w+=,.@-]+$/ });
export const GroupName = str({ min: 1, max: 128, pattern: /^[\w+=,.@-]+$/ });
export const RoleName = str({ min: 1, max: 64, pattern: /^[\w+=,.@-]+$/ });
export const PolicyName = str({ min: 1, max: 128, pattern: /^[\w+=,.@-]+$/ });
export const Path = str({ min: 1, max: 512, pattern: /^(\/|\/[\u0021-\u007E]+\/)$/ });
export const PathPrefix = str({ min: 1, max: 512, pattern: /^\/[\u0021-\u007F]*$/ });
export const PolicyDocument = str({ min: 1, max: 131072, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/ });
export const Arn = str({ min: 20, max: 2048 });
export const AccessKeyId = str({ min: 16, max: 128, pattern: /^[\w]+$/ });
export const Marker = str({ min: 1, max: 320 });
export const MaxItems = int({ min: 1, max: 1000 });

/** IAM returns policy documents URL-encoded (RFC 3986), as AWS does. */
export function encodeDocument(text: string): string {
  return encodeURIComponent(text);
}

export function userShape(name: string, u: UserBody) {
  return { Path: u.path, UserName: name, UserId: u.userId, Arn: u.arn, CreateDate: new Date(u.createDate) };
}

export function groupShape(name: string, g: GroupBody) {
  return { Path: g.path, GroupName: name, GroupId: g.groupId, Arn: g.arn, CreateDate: new Date(g.createDate) };
}

export function roleShape(name: string, r: RoleBody) {
  return {
    Path: r.path,
    RoleName: name,
    RoleId: r.roleId,
    Arn: r.arn,
    CreateDate: new Date(r.createDate),
    AssumeRolePolicyDocument: encodeDocument(r.trustPolicy),
    Description: r.description,
    MaxSessionDuration: r.maxSessionDuration,
  };
}

export function policyShape(name: string, p: ManagedPolicyBody, attachments: number) {
  return {
    PolicyName: name,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: "v1",
    AttachmentCount: attachments,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: p.description,
    CreateDate: new Date(p.createDate),
    UpdateDate: new Date(p.updateDate),
  };
}

/** A page of a sorted list with IAM's Marker/IsTruncated paging (the marker is the last name returned). */
export function pageOf<T>(items: T[], nameOf: (t: T) => string, marker: string | undefined, maxItems: number | undefined) {
  const start = marker === undefined ? 0 : items.findIndex((t) => nameOf(t) > marker);
  const from = start < 0 ? items.length : start;
  const limit = maxItems ?? 100;
  const page = items.slice(from, from + limit);
  const truncated = from + limit < items.length;
  return { page, IsTruncated: truncated, Marker: truncated ? nameOf(page[page.length - 1]!) : undefined };
}

export function entityExists(what: string, name: string): ServiceError {
  return new ServiceError("EntityAlreadyExists", `${what} with name ${name} already exists.`);
}

/**
 * What IAM accepts at creation and keyhold does not keep: a permissions boundary (which would limit
 * what the entity may do) and tags (which policies may test with aws:ResourceTag). Dropping either
 * silently would leave an entity with more access than its creator set up, so both are refused.
 */
export const PermissionsBoundary = Arn;
export const Tags = list(struct({ Key: str({ min: 1, max: 128 }), Value: str({ max: 256 }) }, ["Key", "Value"]), { max: 50 });

export function refuseUnkept(input: { PermissionsBoundary?: string; Tags?: unknown[] }, what: string): void {
  if (input.PermissionsBoundary !== undefined) {
    throw new ServiceError(
      "InvalidInputException",
      `keyhold does not support permissions boundaries: the ${what} would not be bound by one. Leave PermissionsBoundary out, and limit the ${what} with its policies.`,
    );
  }
  if (input.Tags !== undefined && input.Tags.length > 0) {
    throw new ServiceError("InvalidInputException", `keyhold does not keep tags on IAM entities: leave Tags out of this ${what}.`);
  }
}

/** Quotas IAM enforces that keyhold keeps: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html */
export const QUOTAS = { accessKeysPerUser: 2, managedPoliciesPerEntity: 10, groupsPerUser: 10 };
