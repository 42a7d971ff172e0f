/**
 * Evaluation of one compiled policy against one request: which of its statements apply, and
 * whether any of them denies or allows. Combining several policies (identity, resource, session,
 * grants) is authorize.ts's job.
 */
import { conditionHolds, type ConditionContext } from "./conditions.js";
import type { CompiledPolicy, CompiledStatement } from "./policy.js";
import { principalArn, rootArn, type Principal } from "./principal.js";
import { wildcard } from "./wildcard.js";

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
 * identity policies (AWS's reading of `"Principal": {"AWS": "arn:aws:iam::<account>:root"}`).
 */
export type AllowKind = "none" | "account" | "direct";

export interface PolicyResult {
  deny: boolean;
  allow: AllowKind;
}

function principalMatch(patterns: readonly string[], p: Principal): AllowKind {
  let best: AllowKind = "none";
  const viaRole = principalArn(p);
  for (const pattern of patterns) {
    if (pattern === "*" || pattern === p.arn || pattern === viaRole) return "direct";
    if (pattern === p.accountId || pattern === rootArn(p.accountId)) {
      // The account's root is the account itself; anyone else of the account is delegated to IAM.
      if (p.type === "Root") return "direct";
      best = "account";
    }
  }
  return best;
}

const VARIABLE = /\$\{([^}]+)\}/g;

function substituter(policy: CompiledPolicy, request: PolicyRequest): (value: string) => string | undefined {
  if (!policy.variables) return (v) => v;
  return (value) => {
    if (!value.includes("${")) return value;
    let missing = false;
    const out = value.replace(VARIABLE, (_, name: string) => {
      if (name === "*") return "\\*";
      if (name === "?") return "\\?";
      if (name === "$") return "$";
      const v = request.context.get(name.toLowerCase());
      if (!v || v.length !== 1) {
        missing = true;
        return "";
      }
      return v[0]!;
    });
    return missing ? undefined : out;
  };
}

const resourcePatterns = new Map<string, RegExp>();
function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === "*") return true;
  let re = resourcePatterns.get(pattern);
  if (!re) {
    // \* and \? (from ${*} and ${?}) stay literal.
    re = wildcard(pattern.replace(/\\\*/g, "\u0000").replace(/\\\?/g, "\u0001"), false);
    re = new RegExp(re.source.replace(/\u0000/g, "\\*").replace(/\u0001/g, "\\?"), re.flags);
    if (resourcePatterns.size > 10_000) resourcePatterns.clear();
    resourcePatterns.set(pattern, re);
  }
  return re.test(resource);
}

/** Whether the statement applies to the request, and how its principal reached the caller. */
function applies(s: CompiledStatement, request: PolicyRequest, substitute: (v: string) => string | undefined): AllowKind {
  let reach: AllowKind = "direct";
  if (s.principals) {
    const m = principalMatch(s.principals, request.principal);
    if (s.notPrincipal) {
      if (m !== "none") return "none";
    } else if (m === "none") return "none";
    else reach = m;
  }
  const actionHit = s.actions.some((re) => re.test(request.action));
  if (actionHit === s.notAction) return "none";
  if (s.resources) {
    const hit = s.resources.some((r) => {
      const pattern = substitute(r);
      return pattern !== undefined && resourceMatches(pattern, request.resource);
    });
    if (hit === s.notResource) return "none";
  }
  for (const c of s.conditions) if (!conditionHolds(c, request.context, substitute)) return "none";
  return reach;
}

export function evaluatePolicy(policy: CompiledPolicy, request: PolicyRequest): PolicyResult {
  const substitute = substituter(policy, request);
  let allow: AllowKind = "none";
  for (const s of policy.statements) {
    const reach = applies(s, request, substitute);
    if (reach === "none") continue;
    if (s.effect === "Deny") return { deny: true, allow };
    if (reach === "direct" || allow === "none") allow = reach;
  }
  return { deny: false, allow };
}
