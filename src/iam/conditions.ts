/**
 * Condition operators, as AWS documents them:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 *
 * - Several values for one key: any of them may match (for negated operators: none may).
 * - Several keys in one operator, several operators in one Condition: all must hold.
 * - A key the request does not have: a positive operator does not match, a negated one does,
 *   `…IfExists` matches, `Null: true` matches.
 * - Multivalued keys (kms:EncryptionContextKeys, aws:TagKeys): `ForAnyValue:` needs one request
 *   value to match, `ForAllValues:` needs every request value to match (and holds for none).
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { wildcard } from "./wildcard.js";

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

type Comparator = (requestValue: string, policyValue: string) => boolean;

interface OperatorSpec {
  compare: Comparator;
  negated: boolean;
}

function numeric(test: (a: number, b: number) => boolean): Comparator {
  return (a, b) => {
    const x = Number(a);
    const y = Number(b);
    return a.trim() !== "" && b.trim() !== "" && Number.isFinite(x) && Number.isFinite(y) && test(x, y);
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

const likeCache = new Map<string, RegExp>();
function like(pattern: string, value: string): boolean {
  let re = likeCache.get(pattern);
  if (!re) {
    re = wildcard(pattern, false);
    if (likeCache.size > 10_000) likeCache.clear();
    likeCache.set(pattern, re);
  }
  return re.test(value);
}

/** ArnLike: each of the six colon-separated parts matched on its own (the last may hold colons). */
export function arnLike(value: string, pattern: string): boolean {
  const split = (arn: string) => {
    const parts = arn.split(":");
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(":")];
  };
  if (pattern === "*") return true;
  const v = split(value);
  const p = split(pattern);
  if (!v || !p) return false;
  return p.every((part, i) => like(part, v[i]!));
}

function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

const cidrCache = new Map<string, BlockList | null>();
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
    if (cidrCache.size > 10_000) cidrCache.clear();
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
  StringLike: { compare: (a, b) => like(b, a), negated: false },
  StringNotLike: { compare: (a, b) => like(b, a), negated: true },
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
  ArnEquals: { compare: (a, b) => arnLike(a, b), negated: false },
  ArnLike: { compare: (a, b) => arnLike(a, b), negated: false },
  ArnNotEquals: { compare: (a, b) => arnLike(a, b), negated: true },
  ArnNotLike: { compare: (a, b) => arnLike(a, b), negated: true },
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

/** Whether one request value matches any of the policy's values (ignoring negation). */
function anyMatch(spec: OperatorSpec, requestValue: string, policyValues: readonly string[]): boolean {
  return policyValues.some((p) => spec.compare(requestValue, p));
}

/**
 * Whether one condition holds. `substitute` replaces policy variables in the policy's values;
 * a value whose variable the request lacks matches nothing.
 */
export function conditionHolds(clause: ConditionClause, context: ConditionContext, substitute: (v: string) => string | undefined): boolean {
  const requestValues = context.get(clause.key);
  const op = clause.operator;
  if (op.base === "Null") {
    const absent = requestValues === undefined || requestValues.length === 0;
    return clause.values.some((v) => (v.toLowerCase() === "true" ? absent : !absent));
  }
  const spec = BASE[op.base]!;
  const policyValues = clause.variables ? clause.values.map(substitute).filter((v): v is string => v !== undefined) : clause.values;
  if (op.set === "ForAllValues") {
    if (!requestValues || requestValues.length === 0) return true;
    return requestValues.every((r) => anyMatch(spec, r, policyValues) !== spec.negated);
  }
  if (op.set === "ForAnyValue") {
    if (!requestValues || requestValues.length === 0) return false;
    return requestValues.some((r) => anyMatch(spec, r, policyValues) !== spec.negated);
  }
  if (!requestValues || requestValues.length === 0) return op.ifExists || spec.negated;
  const matched = requestValues.some((r) => anyMatch(spec, r, policyValues));
  return spec.negated ? !matched : matched;
}
