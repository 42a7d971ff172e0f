/**
 * The authorization step every service runs before acting: builds the aws:* condition keys of
 * the call, loads the caller's identity policies only when the decision needs them, and turns a
 * denial into AccessDeniedException with AWS's message (the Query protocol renders it as AccessDenied).
 */
import type { CallContext } from "../call.js";
import { ServiceError } from "../errors.js";
import { authorize, denialMessage, type Authorization, type IdentityPolicies } from "./authorize.js";
import { ContextValues, type ConditionContext } from "./conditions.js";
import type { Directory } from "./directory.js";
import type { CompiledPolicy } from "./policy.js";
import { principalArn } from "./principal.js";

export interface AccessRequest {
  action: string;
  /** The resource's ARN, or "*". */
  resource: string;
  resourceAccount?: string;
  resourcePolicy?: CompiledPolicy;
  resourcePolicyRequired?: boolean;
  /** The service's condition keys (built only when a policy in play reads the context); the aws:* keys of the call are added. */
  context?: () => ContextValues;
  /** Adds condition keys that cost a query, when the policies in play read them (their `conditionKeys`). */
  enrich?: (policies: readonly CompiledPolicy[], context: ContextValues) => Promise<void> | undefined;
}

export class Authorizer {
  constructor(private readonly directory: Directory) {}

  /** The global condition keys of a call (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html). */
  globalContext(call: CallContext, service?: ConditionContext): ContextValues {
    const p = call.principal;
    // A service principal (CloudTrail delivering) has no ARN, account, type or user id in a request context;
    // it has aws:PrincipalServiceName. Its accountId is only the account it acts in.
    if (p.type === "AWSService") return this.serviceContext(call, service);
    return new ContextValues((key) => {
      switch (key) {
        case "aws:principalarn":
          return principalArn(p);
        case "aws:principalaccount":
          return p.accountId;
        case "aws:principaltype":
          return p.type === "Root" ? "Account" : p.type === "IAMUser" ? "User" : "AssumedRole";
        case "aws:userid":
          return p.principalId;
        case "aws:username":
          return p.userName;
        case "aws:securetransport":
          return String(call.secureTransport);
        case "aws:sourceip":
          return call.sourceIp?.startsWith("::ffff:") ? call.sourceIp.slice(7) : call.sourceIp;
        case "aws:currenttime":
          return new Date(call.time).toISOString();
        case "aws:epochtime":
          return String(Math.floor(call.time / 1000));
        case "aws:requestedregion":
          return call.region;
        case "aws:tokenissuetime":
          return p.issuedAt === undefined ? undefined : new Date(p.issuedAt).toISOString();
        default:
          return undefined;
      }
    }, service);
  }

  private serviceContext(call: CallContext, service?: ConditionContext): ContextValues {
    return new ContextValues((key) => {
      switch (key) {
        case "aws:principalservicename":
          return call.principal.principalId;
        case "aws:sourcearn":
          return call.source?.arn;
        case "aws:sourceaccount":
          return call.source?.account;
        case "aws:securetransport":
          return String(call.secureTransport);
        case "aws:currenttime":
          return new Date(call.time).toISOString();
        case "aws:epochtime":
          return String(Math.floor(call.time / 1000));
        case "aws:requestedregion":
          return call.region;
        default:
          return undefined;
      }
    }, service);
  }

  async check(call: CallContext, access: AccessRequest): Promise<Authorization> {
    const identity =
      call.principal.type === "Root" ? undefined : await this.directory.identityPolicies(call.principal, call.sessionPolicies);
    const policies = inPlay(access.resourcePolicy, identity);
    // Most decisions read no condition key: the request context is built only for those that do.
    let context: ContextValues = EMPTY_CONTEXT;
    if (policies.some((p) => p.readsContext)) {
      context = this.globalContext(call, access.context?.());
      const enriching = access.enrich?.(policies, context);
      if (enriching) await enriching;
    }
    return authorize({
      request: { principal: call.principal, action: access.action, resource: access.resource, context },
      resourceAccount: access.resourceAccount,
      resourcePolicy: access.resourcePolicy,
      resourcePolicyRequired: access.resourcePolicyRequired ?? false,
      identity,
    });
  }

  /** Throws AccessDeniedException unless the caller may. */
  async require(call: CallContext, access: AccessRequest): Promise<void> {
    const decision = await this.check(call, access);
    if (!decision.allowed) throw accessDenied(call, access.action, access.resource, decision.reason);
  }
}

const EMPTY_CONTEXT = new ContextValues();

/** The policies a decision reads: the resource's, the caller's own and its session's. */
function inPlay(resourcePolicy: CompiledPolicy | undefined, identity: IdentityPolicies | undefined): CompiledPolicy[] {
  const policies = resourcePolicy ? [resourcePolicy] : [];
  if (identity) {
    for (const p of identity.policies) policies.push(p);
    for (const p of identity.session ?? []) policies.push(p);
  }
  return policies;
}

export function accessDenied(call: CallContext, action: string, resource: string, reason: string): ServiceError {
  return new ServiceError("AccessDeniedException", denialMessage(call.principal.arn, action, resource, reason));
}
