/**
 * Evaluation of one compiled policy against one request: which of its statements apply, and
 * whether any of them denies or allows. Combining several policies (identity, resource, session,
 * grants) is authorize.ts's job.
 */
import { conditionHolds, MULTIVALUED_KEYS, type ConditionContext, type Substitute } from "./conditions.js";
import type { CompiledPolicy, CompiledStatement } from "./policy.js";
import { principalArn, rootArn, type Principal } from "./principal.js";
import { escapedWildcard, escapeWildcard, wildcardMatch } from "./wildcard.js";

export interface PolicyRequest {
  principal: Principal;
  /** service:Action, such as kms:Encrypt. */
  action: string;
  /** The resource's ARN, or "*" for actions on no particular resource. */
  resource: string;
  context: ConditionContext;
}

/**
 * How a resource policy's Allow reached the caller: "direct" names the caller (or its role, or
 * "*"); "account" names the caller's account, which delegates the decision to the account's
 * identity policies (AWS's reading of `"Principal": {"AWS": "arn:aws:iam::<account>:root"}`);
 * "session" names a role session by its own ARN (arn:aws:sts::…:assumed-role/R/S), whose
 * permissions are added after the session was made and so are not limited by its session policy
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_session.html).
 */
export type AllowKind = "none" | "account" | "direct" | "session";

const RANK: Record<AllowKind, number> = { none: 0, account: 1, direct: 2, session: 3 };

export interface PolicyResult {
  deny: boolean;
  allow: AllowKind;
}

function principalMatch(patterns: readonly string[], p: Principal): AllowKind {
  let best: AllowKind = "none";
  const viaRole = principalArn(p);
  for (const pattern of patterns) {
    if (p.type === "AssumedRole" && pattern === p.arn) return "session";
    if (pattern === "*" || pattern === p.arn || pattern === viaRole) best = "direct";
    else if (pattern === p.accountId || pattern === rootArn(p.accountId)) {
      // The account's root is the account itself; anyone else of the account is delegated to IAM.
      if (p.type === "Root") best = "direct";
      else if (best === "none") best = "account";
    }
  }
  return best;
}

/** `${name}` or `${name, 'default'}` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html). */
const VARIABLE = /\$\{([^}]+)\}/g;

/** How `${…}` reads for one request: the variable's text, or undefined when it has no value. */
function variableValue(inside: string, context: ConditionContext): string | undefined {
  // ${*}, ${?} and ${$} stand for the characters themselves, wildcards included.
  if (inside === "*" || inside === "?" || inside === "$") return inside;
  let name = inside;
  let fallback: string | undefined;
  const comma = inside.indexOf(",");
  if (comma >= 0) {
    const quoted = inside.slice(comma + 1).trim();
    if (quoted.length >= 2 && quoted.startsWith("'") && quoted.endsWith("'")) {
      name = inside.slice(0, comma);
      fallback = quoted.slice(1, -1);
    }
  }
  const key = name.trim().toLowerCase();
  const v = context.get(key);
  // A multivalued key, or none: the variable has no value (then its default, if it has one).
  if (v && v.length === 1 && !MULTIVALUED_KEYS.has(key)) return v[0]!;
  return fallback;
}

/**
 * The request's substitution of policy variables. Substituted text is literal: in a pattern it is
 * escaped, so a tag value `*` matches only `*` (AWS: variables are replaced by values, not by
 * patterns). Policies of Version 2008-10-17 take no variables: `${…}` is literal text there.
 */
function substituter(policy: CompiledPolicy, request: PolicyRequest): Substitute | undefined {
  if (!policy.variables) return undefined;
  return (value, pattern) => {
    let missing = false;
    let out = "";
    let last = 0;
    for (const m of value.matchAll(VARIABLE)) {
      const v = variableValue(m[1]!, request.context);
      if (v === undefined) {
        missing = true;
        break;
      }
      const before = value.slice(last, m.index);
      out += pattern ? before.replace(/\\/g, "\\\\") + escapeWildcard(v) : before + v;
      last = m.index + m[0].length;
    }
    if (missing) return undefined;
    const rest = value.slice(last);
    return out + (pattern ? rest.replace(/\\/g, "\\\\") : rest);
  };
}

/**
 * Whether the statement's Resource (or NotResource) entries name the request's resource. Entries
 * with variables are substituted first; an entry whose variable has no value names nothing, and
 * under NotResource makes the statement not apply (it would otherwise apply to everything).
 */
function resourceHit(
  s: CompiledStatement,
  resources: readonly string[],
  request: PolicyRequest,
  substitute: Substitute | undefined,
): boolean | undefined {
  for (const r of resources) {
    if (substitute && r.includes("${")) {
      const pattern = substitute(r, true);
      if (pattern === undefined) {
        if (s.notResource) return undefined;
        continue;
      }
      if (escapedWildcard(pattern).test(request.resource)) return true;
    } else if (wildcardMatch(r, request.resource)) return true;
  }
  return false;
}

/** Whether the statement applies to the request, and how its principal reached the caller. */
function applies(s: CompiledStatement, request: PolicyRequest, action: string, substitute: Substitute | undefined): AllowKind {
  let reach: AllowKind = "direct";
  if (s.principals) {
    const m = principalMatch(s.principals, request.principal);
    if (s.notPrincipal) {
      if (m !== "none") return "none";
    } else if (m === "none") return "none";
    else reach = m;
  }
  const actionHit = s.actions.some((w) => w.testLowerCased(action));
  if (actionHit === s.notAction) return "none";
  if (s.resources) {
    const hit = resourceHit(s, s.resources, request, substitute);
    if (hit === undefined || hit === s.notResource) return "none";
  }
  for (const c of s.conditions) if (!conditionHolds(c, request.context, substitute)) return "none";
  return reach;
}

/**
 * Actions match case-insensitively: the request's action is lowered once rather than once a
 * pattern, and remembered, as one request's policies (and the next request's) ask for the same.
 */
let lastAction = "";
let lastLowered = "";
function lowerCased(action: string): string {
  if (action !== lastAction) {
    lastAction = action;
    lastLowered = action.toLowerCase();
  }
  return lastLowered;
}

export function evaluatePolicy(policy: CompiledPolicy, request: PolicyRequest): PolicyResult {
  const substitute = substituter(policy, request);
  const action = lowerCased(request.action);
  let allow: AllowKind = "none";
  for (const s of policy.statements) {
    const reach = applies(s, request, action, substitute);
    if (reach === "none") continue;
    if (s.effect === "Deny") return { deny: true, allow };
    if (RANK[reach] > RANK[allow]) allow = reach;
  }
  return { deny: false, allow };
}
