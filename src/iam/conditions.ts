/**
 * Condition operators, as AWS documents them:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 *
 * - Several values for one key: any of them may match (for negated operators: none may).
 * - Several keys in one operator, several operators in one Condition: all must hold.
 * - A key the request does not have: a positive operator does not match, a negated one does,
 *   `…IfExists` matches, `Null: true` matches.
 * - Multivalued keys (kms:EncryptionContextKeys, aws:TagKeys): `ForAnyValue:` needs one request
 *   value to match, `ForAllValues:` needs every request value to match (and holds for none). A
 *   single-value operator on one of them does not match, negated or not: AWS requires a set
 *   operator there (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
 * - Policy variables in values are substituted per request; a variable the request has no value
 *   for (and no default) makes the condition not match, and a substituted value is literal text
 *   even where the operator takes wildcards.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { escapedWildcard, wildcard } from "./wildcard.js";
import { Lru } from "../lru.js";

/**
 * AWS's multivalued condition keys (lower-cased): those a request gives as a list, whichever
 * number of values this request has. Service authorization reference, "ArrayOfString" keys.
 */
export const MULTIVALUED_KEYS: ReadonlySet<string> = new Set([
  "aws:tagkeys",
  "aws:calledvia",
  "aws:principalservicenameslist",
  "aws:principalorgpaths",
  "aws:resourceorgpaths",
  "kms:encryptioncontextkeys",
  "kms:grantoperations",
  "kms:resourcealiases",
  "sts:transitivetagkeys",
]);

export type ConditionValue = string | readonly string[];

/** The request's condition keys, looked up by lower-cased name. */
export interface ConditionContext {
  get(key: string): readonly string[] | undefined;
}

/** Resolves one (lower-cased) condition key of a request, or says it has none. */
export type ContextResolver = (key: string) => ConditionValue | undefined;

/**
 * A request's condition keys: set ones, else resolved on first read by `resolve` (so a request
 * pays only for the keys its policies read), else those of `next`.
 */
export class ContextValues implements ConditionContext {
  private readonly values = new Map<string, readonly string[] | undefined>();

  constructor(
    private readonly resolve?: ContextResolver,
    private readonly next?: ConditionContext,
  ) {}

  set(key: string, value: ConditionValue | undefined): this {
    if (value !== undefined) this.values.set(key.toLowerCase(), typeof value === "string" ? [value] : value);
    return this;
  }

  get(key: string): readonly string[] | undefined {
    if (this.values.has(key)) return this.values.get(key);
    const resolved = this.resolve?.(key);
    const value = resolved === undefined ? this.next?.get(key) : typeof resolved === "string" ? [resolved] : resolved;
    this.values.set(key, value);
    return value;
  }
}

/** `escaped`: the policy value is a substituted pattern, in escapedWildcard's form. */
type Comparator = (requestValue: string, policyValue: string, escaped: boolean) => boolean;

interface OperatorSpec {
  compare: Comparator;
  negated: boolean;
  /** Whether the operator's values are wildcard patterns (substituted values stay literal in them). */
  pattern?: boolean;
}

/**
 * IAM's numbers are decimal: Number() would also read "0x12C" as 300, "0b1", "0o7", "Infinity"
 * and padded or empty strings, so a policy's limit could be met by input AWS refuses to compare.
 */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
function decimal(value: string): number {
  return DECIMAL.test(value) ? Number(value) : NaN;
}

function numeric(test: (a: number, b: number) => boolean): Comparator {
  return (a, b) => {
    const x = decimal(a);
    const y = decimal(b);
    return Number.isFinite(x) && Number.isFinite(y) && test(x, y);
  };
}

/** ISO 8601 or epoch seconds, as AWS accepts both in policies and request keys. */
function time(value: string): number {
  return /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
}

function date(test: (a: number, b: number) => boolean): Comparator {
  return (a, b) => {
    const x = time(a);
    const y = time(b);
    return !Number.isNaN(x) && !Number.isNaN(y) && test(x, y);
  };
}

/** StringLike: `pattern` as written, or (escaped) with substituted values made literal. */
function like(pattern: string, value: string, escaped = false): boolean {
  return (escaped ? escapedWildcard(pattern) : wildcard(pattern)).test(value);
}

/** ArnLike: each of the six colon-separated parts matched on its own (the last may hold colons). */
export function arnLike(value: string, pattern: string, escaped = false): boolean {
  const split = (arn: string) => {
    const parts = arn.split(":");
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(":")];
  };
  if (pattern === "*") return true;
  const v = split(value);
  const p = split(pattern);
  if (!v || !p) return false;
  return p.every((part, i) => like(part, v[i]!, escaped));
}

function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

const cidrCache = new Lru<string, BlockList | null>(10_000);
function inCidr(address: string, cidr: string): boolean {
  let list = cidrCache.get(cidr);
  if (list === undefined) {
    list = null;
    const [net, bits] = cidr.split("/");
    const type = net && isIPv4(net) ? "ipv4" : net && isIPv6(net) ? "ipv6" : undefined;
    const prefix = bits === undefined ? (type === "ipv4" ? 32 : 128) : Number(bits);
    if (type && Number.isInteger(prefix) && prefix >= 0 && prefix <= (type === "ipv4" ? 32 : 128)) {
      list = new BlockList();
      list.addSubnet(net!, prefix, type);
    }
    cidrCache.set(cidr, list);
  }
  const ip = normalizeIp(address);
  const type = isIPv4(ip) ? "ipv4" : isIPv6(ip) ? "ipv6" : undefined;
  return list !== null && type !== undefined && list.check(ip, type);
}

const BASE: Record<string, OperatorSpec> = {
  StringEquals: { compare: (a, b) => a === b, negated: false },
  StringNotEquals: { compare: (a, b) => a === b, negated: true },
  StringEqualsIgnoreCase: { compare: (a, b) => a.toLowerCase() === b.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { compare: (a, b) => a.toLowerCase() === b.toLowerCase(), negated: true },
  StringLike: { compare: (a, b, e) => like(b, a, e), negated: false, pattern: true },
  StringNotLike: { compare: (a, b, e) => like(b, a, e), negated: true, pattern: true },
  NumericEquals: { compare: numeric((a, b) => a === b), negated: false },
  NumericNotEquals: { compare: numeric((a, b) => a === b), negated: true },
  NumericLessThan: { compare: numeric((a, b) => a < b), negated: false },
  NumericLessThanEquals: { compare: numeric((a, b) => a <= b), negated: false },
  NumericGreaterThan: { compare: numeric((a, b) => a > b), negated: false },
  NumericGreaterThanEquals: { compare: numeric((a, b) => a >= b), negated: false },
  DateEquals: { compare: date((a, b) => a === b), negated: false },
  DateNotEquals: { compare: date((a, b) => a === b), negated: true },
  DateLessThan: { compare: date((a, b) => a < b), negated: false },
  DateLessThanEquals: { compare: date((a, b) => a <= b), negated: false },
  DateGreaterThan: { compare: date((a, b) => a > b), negated: false },
  DateGreaterThanEquals: { compare: date((a, b) => a >= b), negated: false },
  Bool: { compare: (a, b) => a.toLowerCase() === b.toLowerCase(), negated: false },
  BinaryEquals: { compare: (a, b) => a === b, negated: false },
  IpAddress: { compare: (a, b) => inCidr(a, b), negated: false },
  NotIpAddress: { compare: (a, b) => inCidr(a, b), negated: true },
  ArnEquals: { compare: (a, b, e) => arnLike(a, b, e), negated: false, pattern: true },
  ArnLike: { compare: (a, b, e) => arnLike(a, b, e), negated: false, pattern: true },
  ArnNotEquals: { compare: (a, b, e) => arnLike(a, b, e), negated: true, pattern: true },
  ArnNotLike: { compare: (a, b, e) => arnLike(a, b, e), negated: true, pattern: true },
};

export const CONDITION_OPERATORS: readonly string[] = [...Object.keys(BASE), "Null"];

export interface Operator {
  name: string;
  base: string;
  ifExists: boolean;
  set?: "ForAllValues" | "ForAnyValue";
}

export interface ConditionClause {
  operator: Operator;
  /** Lower-cased. */
  key: string;
  values: readonly string[];
  /** Whether a value holds a policy variable (`${…}`), to be substituted per request. */
  variables: boolean;
}

export function parseOperator(text: string): Operator | undefined {
  let rest = text;
  let set: Operator["set"];
  for (const prefix of ["ForAllValues", "ForAnyValue"] as const) {
    if (rest.startsWith(prefix + ":")) {
      set = prefix;
      rest = rest.slice(prefix.length + 1);
    }
  }
  const ifExists = rest.endsWith("IfExists") && rest !== "IfExists";
  const base = ifExists ? rest.slice(0, -"IfExists".length) : rest;
  if (base === "Null") return ifExists || set ? undefined : { name: text, base, ifExists, set };
  if (!BASE[base]) return undefined;
  return { name: text, base, ifExists, set };
}

/**
 * Replaces a value's policy variables for one request: as plain text, or (`pattern`) in
 * escapedWildcard's form. Undefined when a variable has no value and no default.
 */
export type Substitute = (value: string, pattern: boolean) => string | undefined;

/** Whether one request value matches any of the policy's values (ignoring negation). */
function anyMatch(spec: OperatorSpec, requestValue: string, policyValues: readonly string[], escaped: boolean): boolean {
  return policyValues.some((p) => spec.compare(requestValue, p, escaped));
}

/**
 * Whether one condition holds. `substitute` (absent for policies whose Version takes no
 * variables) replaces policy variables in the policy's values.
 */
export function conditionHolds(clause: ConditionClause, context: ConditionContext, substitute?: Substitute): boolean {
  const requestValues = context.get(clause.key);
  const op = clause.operator;
  if (op.base === "Null") {
    const absent = requestValues === undefined || requestValues.length === 0;
    return clause.values.some((v) => (v.toLowerCase() === "true" ? absent : !absent));
  }
  const spec = BASE[op.base]!;
  let policyValues = clause.values;
  const escaped = clause.variables && substitute !== undefined && spec.pattern === true;
  if (clause.variables && substitute) {
    const substituted: string[] = [];
    for (const v of clause.values) {
      const s = substitute(v, escaped);
      // A value whose variable has no value matches nothing; under a negated operator "none
      // matches" would then hold, so the condition fails instead: the statement does not apply.
      if (s === undefined) {
        if (spec.negated) return false;
        continue;
      }
      substituted.push(s);
    }
    policyValues = substituted;
  }
  if (op.set === "ForAllValues") {
    if (!requestValues || requestValues.length === 0) return true;
    return requestValues.every((r) => anyMatch(spec, r, policyValues, escaped) !== spec.negated);
  }
  if (op.set === "ForAnyValue") {
    if (!requestValues || requestValues.length === 0) return false;
    return requestValues.some((r) => anyMatch(spec, r, policyValues, escaped) !== spec.negated);
  }
  if (!requestValues || requestValues.length === 0) return op.ifExists || spec.negated;
  // A single-value operator on a multivalued key: AWS says the condition does not match.
  if (MULTIVALUED_KEYS.has(clause.key) || requestValues.length > 1) return false;
  const matched = anyMatch(spec, requestValues[0]!, policyValues, escaped);
  return spec.negated ? !matched : matched;
}
