/**
 * AWS's policy evaluation logic, for one request
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 *
 * 1. An explicit Deny in any policy (resource, identity, session) denies.
 * 2. Within one account: a resource policy naming the caller allows on its own; one naming the
 *    account delegates to the identity policies. Where the resource policy is the gate (KMS key
 *    policies, role trust policies) a resource policy that allows nothing denies.
 * 3. Across accounts: the resource policy must allow (the caller or its account) and the
 *    caller's identity policies must allow too.
 * 4. Session policies bound what identity policies give a role session, and what a resource
 *    policy gives it by naming its role; not what a resource policy gives by naming the session.
 * The root user needs no identity policy: it may do everything its account may.
 *
 * Services reuse this with their own actions and condition keys; grants (KMS) are consulted by
 * the service when this denies without an explicit Deny.
 */
import { evaluatePolicy, type PolicyRequest } from "./evaluate.js";
import type { CompiledPolicy } from "./policy.js";

export interface IdentityPolicies {
  /** The caller's identity policies: inline and attached, its groups' too. */
  policies: readonly CompiledPolicy[];
  /** A role session's session policies (inline and managed), when it was given any. */
  session?: readonly CompiledPolicy[];
}

export interface AuthorizationInput {
  request: PolicyRequest;
  /** The account that owns the resource; undefined for actions on no resource (the caller's own). */
  resourceAccount?: string;
  resourcePolicy?: CompiledPolicy;
  /** KMS keys and role trust: nothing is allowed unless the resource policy allows it (or delegates). */
  resourcePolicyRequired: boolean;
  /** Identity policies; undefined for the root user, who needs none. */
  identity: IdentityPolicies | undefined;
}

export type Authorization =
  | { allowed: true }
  | { allowed: false; explicit: boolean; /** completes "… is not authorized to perform: X on resource: Y " */ reason: string };

function deny(explicit: boolean, reason: string): Authorization {
  return { allowed: false, explicit, reason };
}

export function authorize(input: AuthorizationInput): Authorization {
  const { request } = input;
  const action = request.action;
  const resourceResult = input.resourcePolicy ? evaluatePolicy(input.resourcePolicy, request) : { deny: false, allow: "none" as const };
  if (resourceResult.deny) return deny(true, "with an explicit deny in a resource-based policy");

  const identity = request.principal.type === "Root" ? undefined : input.identity;
  let identityAllows = request.principal.type === "Root";
  if (identity) {
    for (const policy of identity.policies) {
      const r = evaluatePolicy(policy, request);
      if (r.deny) return deny(true, "with an explicit deny in an identity-based policy");
      if (r.allow !== "none") identityAllows = true;
    }
  }
  let sessionAllows = true;
  if (identity?.session) {
    sessionAllows = false;
    for (const policy of identity.session) {
      const r = evaluatePolicy(policy, request);
      if (r.deny) return deny(true, "with an explicit deny in a session policy");
      if (r.allow !== "none") sessionAllows = true;
    }
  }

  const sameAccount = input.resourceAccount === undefined || input.resourceAccount === request.principal.accountId;
  if (sameAccount && resourceResult.allow === "session") return { allowed: true };
  if (sameAccount && resourceResult.allow === "direct") {
    return sessionAllows ? { allowed: true } : deny(false, `because no session policy allows the ${action} action`);
  }
  if ((input.resourcePolicyRequired || !sameAccount) && resourceResult.allow === "none") {
    return deny(false, noResourcePolicyAllows(action));
  }
  if (!identityAllows) return deny(false, `because no identity-based policy allows the ${action} action`);
  if (!sessionAllows) return deny(false, `because no session policy allows the ${action} action`);
  return { allowed: true };
}

/** AWS's message for a denial: "User: arn:… is not authorized to perform: kms:Encrypt on resource: arn:… because …". */
/** The reason of a denial no resource-based policy allowed (shared by the checks that refuse before evaluating one). */
export function noResourcePolicyAllows(action: string): string {
  return `because no resource-based policy allows the ${action} action`;
}

export function denialMessage(callerArn: string, action: string, resource: string, reason: string): string {
  return `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} ${reason}`;
}
