/**
 * Policy documents: parsed, checked and compiled once, then evaluated many times.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 *
 * `compilePolicy` refuses what AWS refuses (unknown elements, a missing Effect or Action, a
 * Principal in an identity policy, an unknown condition operator, …) with a message naming the
 * problem; the caller turns it into its service's MalformedPolicyDocument error. Compiled
 * policies are cached by their text, so evaluating a stored policy costs no parsing.
 */
import { parseOperator, type ConditionClause } from "./conditions.js";
import { wildcard, type Wildcard } from "./wildcard.js";
import { Lru } from "../lru.js";

/** What a policy is attached to decides which elements it must and must not have. */
export type PolicyKind = "identity" | "resource" | "trust";

export interface CompiledStatement {
  sid?: string;
  effect: "Allow" | "Deny";
  /** Principal patterns (ARNs, account ids, "*"); undefined when the statement names none. */
  principals?: readonly string[];
  notPrincipal: boolean;
  /** Action patterns, matched case-insensitively. */
  actions: readonly Wildcard[];
  notAction: boolean;
  /** Resource patterns; undefined means any resource (trust policies have none). */
  resources?: readonly string[];
  notResource: boolean;
  conditions: readonly ConditionClause[];
}

export interface CompiledPolicy {
  readonly text: string;
  readonly statements: readonly CompiledStatement[];
  /** Whether policy variables (${aws:username}) are substituted: Version 2012-10-17 only. */
  readonly variables: boolean;
  /** Every condition key the policy reads, lower-cased: lets callers fetch costly keys only when read. */
  readonly conditionKeys: ReadonlySet<string>;
  /** Whether evaluating it reads the request context at all (conditions or policy variables). */
  readonly readsContext: boolean;
}

export class PolicySyntaxError extends Error {}

const TOP_LEVEL = new Set(["Version", "Id", "Statement"]);
const STATEMENT_ELEMENTS = new Set([
  "Sid",
  "Effect",
  "Principal",
  "NotPrincipal",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Condition",
]);
const ACTION = /^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$/;

function fail(message: string): never {
  throw new PolicySyntaxError(message);
}

function strings(value: unknown, element: string): string[] {
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) fail(`${element} must not be empty.`);
  for (const v of values) if (typeof v !== "string" || v.length === 0) fail(`${element} must be a string or an array of strings.`);
  return values as string[];
}

function principals(value: unknown, element: string): string[] {
  if (value === "*") return ["*"];
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${element} must be "*" or an object.`);
  const out: string[] = [];
  for (const [type, entries] of Object.entries(value)) {
    if (!["AWS", "Service", "Federated", "CanonicalUser"].includes(type)) fail(`${element} has an unknown type ${type}.`);
    for (const p of strings(entries, `${element}.${type}`)) {
      if (type !== "AWS") {
        out.push(`${type.toLowerCase()}:${p}`);
        continue;
      }
      if (p !== "*" && !/^\d{12}$/.test(p) && !/^arn:aws:(iam|sts)::\d{12}:.+$/.test(p)) {
        fail(`Invalid principal in policy: "AWS":"${p}"`);
      }
      out.push(p);
    }
  }
  return out;
}

function compileStatement(raw: unknown, kind: PolicyKind, index: number): CompiledStatement {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`Statement ${index + 1} must be an object.`);
  const s = raw as Record<string, unknown>;
  for (const element of Object.keys(s))
    if (!STATEMENT_ELEMENTS.has(element)) fail(`Statement ${index + 1} has an unknown element ${element}.`);
  if (s.Effect !== "Allow" && s.Effect !== "Deny") fail(`Statement ${index + 1} must have an Effect of "Allow" or "Deny".`);
  if (s.Sid !== undefined && typeof s.Sid !== "string") fail(`Statement ${index + 1}: Sid must be a string.`);
  // IAM's own policies take letters and digits in a Sid; key and bucket policies take more ("Enable IAM User Permissions").
  if (kind !== "resource" && typeof s.Sid === "string" && !/^[0-9A-Za-z]*$/.test(s.Sid)) {
    fail("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*");
  }

  const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined;
  if (s.Principal !== undefined && s.NotPrincipal !== undefined) fail(`Statement ${index + 1} has both Principal and NotPrincipal.`);
  if (kind === "identity" && hasPrincipal) fail("Policy document should not specify a principal.");
  if (kind !== "identity" && !hasPrincipal) fail(`Statement ${index + 1} must name a Principal.`);

  if ((s.Action === undefined) === (s.NotAction === undefined))
    fail(`Statement ${index + 1} must have exactly one of Action and NotAction.`);
  const actionPatterns = strings(s.Action ?? s.NotAction, s.Action !== undefined ? "Action" : "NotAction");
  for (const a of actionPatterns)
    if (!ACTION.test(a)) fail(`Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.: '${a}'`);

  if (s.Resource !== undefined && s.NotResource !== undefined) fail(`Statement ${index + 1} has both Resource and NotResource.`);
  const hasResource = s.Resource !== undefined || s.NotResource !== undefined;
  if (kind === "trust" && hasResource) fail("Has prohibited field Resource.");
  if (kind !== "trust" && !hasResource) fail(`Statement ${index + 1} must have a Resource or NotResource.`);
  for (const r of hasResource ? strings(s.Resource ?? s.NotResource, "Resource") : []) {
    if (r !== "*" && !r.startsWith("arn:")) fail(`Resource ${r} must be in ARN format or "*".`);
  }

  const conditions: ConditionClause[] = [];
  if (s.Condition !== undefined) {
    if (typeof s.Condition !== "object" || s.Condition === null || Array.isArray(s.Condition)) fail("Condition must be an object.");
    for (const [operatorText, block] of Object.entries(s.Condition)) {
      const operator = parseOperator(operatorText);
      if (!operator) fail(`Invalid Condition type : ${operatorText}.`);
      if (typeof block !== "object" || block === null || Array.isArray(block)) fail(`Condition ${operatorText} must map keys to values.`);
      for (const [key, value] of Object.entries(block)) {
        const values = Array.isArray(value) ? value : [value];
        if (values.length === 0 || values.some((v) => typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")) {
          fail(`Condition ${operatorText} ${key} must be a string, number or boolean, or an array of them.`);
        }
        if (!/^[a-zA-Z0-9-]+:.+$/.test(key)) fail(`Condition key ${key} must be prefaced by a vendor, e.g. aws:, kms:.`);
        const texts = values.map(String);
        conditions.push({ operator, key: key.toLowerCase(), values: texts, variables: texts.some((v) => v.includes("${")) });
      }
    }
  }

  return {
    sid: s.Sid as string | undefined,
    effect: s.Effect,
    principals: hasPrincipal
      ? principals(s.Principal ?? s.NotPrincipal, s.Principal !== undefined ? "Principal" : "NotPrincipal")
      : undefined,
    notPrincipal: s.NotPrincipal !== undefined,
    actions: actionPatterns.map((a) => wildcard(a, true)),
    notAction: s.NotAction !== undefined,
    resources: hasResource ? strings(s.Resource ?? s.NotResource, s.Resource !== undefined ? "Resource" : "NotResource") : undefined,
    notResource: s.NotResource !== undefined,
    conditions,
  };
}

/** The (lower-cased) keys a statement's policy variables name: `${key}` or `${key, 'default'}`; not `${*}`, `${?}`, `${$}`. */
function variableKeys(s: CompiledStatement): string[] {
  const keys: string[] = [];
  for (const text of [...(s.resources ?? []), ...s.conditions.flatMap((c) => c.values)]) {
    for (const m of text.matchAll(/\$\{([^}]+)\}/g)) {
      const key = m[1]!.split(",")[0]!.trim().toLowerCase();
      if (key !== "*" && key !== "?" && key !== "$") keys.push(key);
    }
  }
  return keys;
}

function compile(text: string, kind: PolicyKind): CompiledPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    fail("Syntax errors in policy: the document is not valid JSON.");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fail("The policy document must be a JSON object.");
  const d = doc as Record<string, unknown>;
  for (const element of Object.keys(d)) if (!TOP_LEVEL.has(element)) fail(`Syntax errors in policy: unknown element ${element}.`);
  if (d.Version !== undefined && d.Version !== "2012-10-17" && d.Version !== "2008-10-17") {
    fail(`The policy Version must be "2012-10-17" or "2008-10-17".`);
  }
  if (d.Statement === undefined) fail("Syntax errors in policy: the Statement element is missing.");
  const raw = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (raw.length === 0) fail("Syntax errors in policy: the Statement element is empty.");
  const statements = raw.map((s, i) => compileStatement(s, kind, i));
  const sids = statements.map((s) => s.sid).filter((s) => s !== undefined && s !== "");
  if (new Set(sids).size !== sids.length) fail("Statement IDs (SID) in a single policy must be unique.");
  const variables = d.Version === "2012-10-17";
  const conditionKeys = new Set(statements.flatMap((s) => s.conditions.map((c) => c.key)));
  // A key read only as a policy variable (`${aws:ResourceTag/team}` in a Resource or a condition
  // value) is read all the same: the caller must fetch it, or the variable would have no value.
  if (variables) for (const key of statements.flatMap(variableKeys)) conditionKeys.add(key);
  const usesVariables = variables && statements.some((s) => (s.resources ?? []).some((r) => r.includes("${")));
  return { text, statements, variables, conditionKeys, readsContext: conditionKeys.size > 0 || usesVariables };
}

/**
 * Compiled policies by kind and text, least recently used aged out, bounded in entries and in the
 * characters they hold: a compiled policy keeps its own compiled patterns (up to ~80 bytes per
 * character of a policy made of distinct wildcards), so a count alone let anyone who may put a
 * policy (a key policy of 32 KB, a refused 128 KB identity policy) fill the heap with a few
 * thousand distinct documents.
 */
const CACHE_CHARS = 1_000_000;
let cachedChars = 0;
const compiled = new Lru<string, CompiledPolicy>(5_000, (_policy, key) => {
  cachedChars -= key.length;
});

/** The compiled policy; throws PolicySyntaxError when the document is malformed. */
export function compilePolicy(text: string, kind: PolicyKind): CompiledPolicy {
  const cacheKey = kind + "\n" + text;
  let policy = compiled.get(cacheKey);
  if (!policy) {
    policy = compile(text, kind);
    compiled.set(cacheKey, policy);
    cachedChars += cacheKey.length;
    while (cachedChars > CACHE_CHARS && compiled.evictOldest());
  }
  return policy;
}
