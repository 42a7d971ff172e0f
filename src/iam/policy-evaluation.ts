/**
 * Key policy evaluation, as AWS evaluates a resource policy for a request
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny wins, then an Allow, otherwise the request is implicitly denied.
 *
 * Principals, actions and resources are matched with AWS's wildcards (* and ?). Conditions are not
 * evaluated yet, so a statement with a Condition is read the safe way: an Allow with conditions
 * grants nothing, a Deny with conditions denies. (Identity policies and grants come with IAM.)
 */
export type Decision = "allow" | "deny" | "implicit-deny";

export interface PolicyRequest {
  /** arn:aws:iam::<account>:root, or a user's or role's ARN. */
  principalArn: string;
  accountId: string;
  action: string;
  resourceArn: string;
}

interface Statement {
  Effect?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}

const parsed = new Map<string, Statement[]>();

function statementsOf(policy: string): Statement[] {
  let statements = parsed.get(policy);
  if (!statements) {
    const doc = JSON.parse(policy) as { Statement?: unknown };
    const raw = doc.Statement;
    statements = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
      (s): s is Statement => typeof s === "object" && s !== null,
    );
    if (parsed.size > 1000) parsed.clear();
    parsed.set(policy, statements);
  }
  return statements;
}

function list(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

const patterns = new Map<string, RegExp>();

function glob(pattern: string, value: string, caseInsensitive: boolean): boolean {
  if (pattern === "*") return true;
  const cacheKey = (caseInsensitive ? "i:" : "s:") + pattern;
  let re = patterns.get(cacheKey);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
      caseInsensitive ? "i" : "",
    );
    if (patterns.size > 10_000) patterns.clear();
    patterns.set(cacheKey, re);
  }
  return re.test(value);
}

function principalMatches(principal: unknown, request: PolicyRequest): boolean {
  if (principal === "*") return true;
  if (typeof principal !== "object" || principal === null) return false;
  return list((principal as { AWS?: unknown }).AWS).some(
    (p) =>
      p === "*" ||
      p === request.principalArn ||
      // An account id, or the account's root ARN, names the account: its root user here.
      ((p === request.accountId || p === `arn:aws:iam::${request.accountId}:root`) &&
        request.principalArn === `arn:aws:iam::${request.accountId}:root`),
  );
}

function matches(s: Statement, request: PolicyRequest): boolean {
  const principalOk =
    s.Principal !== undefined
      ? principalMatches(s.Principal, request)
      : s.NotPrincipal !== undefined && !principalMatches(s.NotPrincipal, request);
  const actionOk =
    s.Action !== undefined
      ? list(s.Action).some((a) => glob(a, request.action, true))
      : s.NotAction !== undefined && !list(s.NotAction).some((a) => glob(a, request.action, true));
  const resourceOk =
    s.Resource !== undefined
      ? list(s.Resource).some((r) => glob(r, request.resourceArn, false))
      : s.NotResource !== undefined && !list(s.NotResource).some((r) => glob(r, request.resourceArn, false));
  return principalOk && actionOk && resourceOk;
}

export function evaluatePolicy(policy: string, request: PolicyRequest): Decision {
  let allowed = false;
  for (const s of statementsOf(policy)) {
    if (!matches(s, request)) continue;
    const conditional = s.Condition !== undefined;
    if (s.Effect === "Deny") return "deny"; // with or without conditions: fail closed
    if (s.Effect === "Allow" && !conditional) allowed = true;
  }
  return allowed ? "allow" : "implicit-deny";
}
