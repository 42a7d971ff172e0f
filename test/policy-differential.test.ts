/**
 * Differential test of the policy engine against an independent IAM simulator
 * (@cloud-copilot/iam-simulate): a few thousand seeded policy/request pairs over the condition
 * operators (with IfExists and set prefixes), policy variables (missing, defaults, `${*}`, values
 * that look like wildcards), Action/NotAction and Resource/NotResource, Allow and Deny. Both must
 * reach the same decision (allowed, implicitly or explicitly denied), except where the simulator
 * itself departs from AWS's documentation: those cases are recognised by `knownSimulatorError`,
 * and asserted the AWS way instead.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
import { authorize } from "../src/iam/authorize.js";
import { ContextValues } from "../src/iam/conditions.js";
import { compilePolicy } from "../src/iam/policy.js";
import type { Principal } from "../src/iam/principal.js";

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACCOUNT = "111122223333";
const principal: Principal = {
  type: "IAMUser",
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  principalId: "AIDAALICE",
  userName: "alice",
};

type Context = Record<string, string | string[]>;
interface Statement {
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Case {
  version: string;
  statements: Statement[];
  action: string;
  resource: string;
  context: Context;
}
type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

const ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "sns:Publish"];
const ACTION_PATTERNS = [
  "sns:*",
  "s3:GetObject",
  "s3:get*",
  "s3:*Object",
  "s3:?utObject",
  "s3:*",
  "*",
  "S3:DELETEOBJECT",
  "s3:Get*Tagging",
];
/** No `*` or `?` in them: the simulator reads those in a request's resource as wildcards (for its discovery mode). */
const RESOURCES = [
  "arn:aws:s3:::bucket/alice/x",
  "arn:aws:s3:::bucket/red/x",
  "arn:aws:s3:::bucket/shared/x",
  "arn:aws:s3:::other/alice/y",
  "arn:aws:s3:::bucket/ab/x",
  "arn:aws:s3:::bucket/a/b/c",
  "arn:aws:sns:us-east-1:111122223333:topic",
];
const RESOURCE_PATTERNS = [
  "*",
  "arn:aws:s3:::bucket/*",
  "arn:aws:s3:::bucket/${aws:username}/*",
  "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
  "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'shared'}/*",
  "arn:aws:s3:::b?cket/*",
  "arn:aws:s3:::bucket/a*",
  "arn:aws:s3:::other/*",
  "arn:aws:s3:::*/alice/*",
  "arn:aws:s3:::bucket/${*}/*",
  "arn:aws:s3:::bucket/a${?}/x",
  "arn:aws:sns:*",
  "arn:aws:*:us-east-1:111122223333:*",
  "arn:aws:sns:us-east-1:*:topic",
];

/** Condition keys by type, with the policy values and request values drawn for them. */
const STRING_VALUES = [
  "alice",
  "red",
  "*",
  "a*",
  "?lice",
  "ALICE",
  "${aws:username}",
  "${aws:PrincipalTag/team}",
  "${aws:PrincipalTag/team, 'red'}",
  "${*}",
  "r${?}d",
];
const KEYS: { key: string; operators: string[]; values: string[]; requestValues: (string | string[])[] }[] = [
  {
    key: "aws:username",
    operators: ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"],
    values: STRING_VALUES,
    requestValues: ["alice"],
  },
  {
    key: "aws:PrincipalTag/team",
    operators: ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"],
    values: STRING_VALUES,
    requestValues: ["red", "*", "alice", "?lice"],
  },
  {
    key: "aws:RequestTag/env",
    operators: ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"],
    values: ["prod", "p*", "${aws:PrincipalTag/team}", "${aws:PrincipalTag/team, 'prod'}"],
    requestValues: ["prod", "red", "dev"],
  },
  {
    key: "aws:TagKeys",
    operators: [
      "ForAnyValue:StringEquals",
      "ForAllValues:StringEquals",
      "ForAnyValue:StringLike",
      "ForAllValues:StringNotEquals",
      "StringEquals",
      "StringNotEquals",
      "StringLike",
    ],
    values: ["env", "team", "e*", "${aws:PrincipalTag/team}"],
    requestValues: [["env"], ["env", "team"], ["team"], ["red"]],
  },
  {
    key: "aws:MultiFactorAuthAge",
    operators: [
      "NumericLessThan",
      "NumericLessThanEquals",
      "NumericGreaterThan",
      "NumericGreaterThanEquals",
      "NumericEquals",
      "NumericNotEquals",
    ],
    values: ["100", "3600", "3600.5", "-1"],
    requestValues: ["100", "3600", "7200", "0"],
  },
  {
    key: "aws:CurrentTime",
    operators: ["DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals", "DateLessThanEquals", "DateGreaterThanEquals"],
    values: ["2026-01-01T00:00:00Z", "2030-06-01T12:00:00Z", "1767225600"],
    requestValues: ["2026-12-07T02:00:00Z", "2026-01-01T00:00:00Z", "2031-01-01T00:00:00Z"],
  },
  {
    key: "aws:SecureTransport",
    operators: ["Bool"],
    values: ["true", "false"],
    requestValues: ["true", "false"],
  },
  {
    key: "aws:SourceIp",
    operators: ["IpAddress", "NotIpAddress"],
    values: ["10.0.0.0/8", "203.0.113.5/32", "192.168.0.0/16", "0.0.0.0/0"],
    requestValues: ["10.1.2.3", "203.0.113.5", "192.0.2.1"],
  },
  {
    key: "aws:SourceArn",
    operators: ["ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals"],
    values: ["arn:aws:s3:::bucket", "arn:aws:s3:::b*", "arn:aws:s3:::${aws:PrincipalTag/team}", "arn:aws:*:*:*:*", "arn:aws:s3:::?ucket"],
    requestValues: ["arn:aws:s3:::bucket", "arn:aws:s3:::red", "arn:aws:s3:::*", "arn:aws:sns:us-east-1:111122223333:t"],
  },
];

function pick<T>(r: () => number, from: readonly T[]): T {
  return from[Math.floor(r() * from.length)]!;
}
function some<T>(r: () => number, from: readonly T[], max: number): T[] {
  const n = 1 + Math.floor(r() * max);
  return Array.from({ length: n }, () => pick(r, from));
}
function oneOrMany<T>(values: T[]): T | T[] {
  return values.length === 1 ? values[0]! : values;
}

function generate(r: () => number): Case {
  const statements: Statement[] = [];
  for (let n = 1 + Math.floor(r() * 2); n > 0; n--) {
    const s: Statement = { Effect: r() < 0.65 ? "Allow" : "Deny" };
    const actions = oneOrMany(some(r, ACTION_PATTERNS, 2));
    if (r() < 0.8) s.Action = actions;
    else s.NotAction = actions;
    const resources = oneOrMany(some(r, RESOURCE_PATTERNS, 2));
    if (r() < 0.75) s.Resource = resources;
    else s.NotResource = resources;
    if (r() < 0.75) {
      s.Condition = {};
      for (let c = r() < 0.7 ? 1 : 2; c > 0; c--) {
        const k = pick(r, KEYS);
        let operator = pick(r, k.operators);
        if (!operator.startsWith("For") && r() < 0.2) operator += "IfExists";
        (s.Condition[operator] ??= {})[k.key] = oneOrMany(some(r, k.values, 2));
      }
    }
    statements.push(s);
  }
  const context: Context = {};
  for (const k of KEYS) if (r() < 0.7) context[k.key] = pick(r, k.requestValues);
  // An action acts on its own service's resources.
  const action = pick(r, ACTIONS);
  const resource = pick(
    r,
    RESOURCES.filter((a) => a.split(":")[2] === action.split(":")[0]),
  );
  return { version: r() < 0.93 ? "2012-10-17" : "2008-10-17", statements, action, resource, context };
}

function keyhold(c: Case): Decision {
  const values = new ContextValues();
  for (const [k, v] of Object.entries(c.context)) values.set(k, v);
  const policy = compilePolicy(JSON.stringify({ Version: c.version, Statement: c.statements }), "identity");
  const d = authorize({
    request: { principal, action: c.action, resource: c.resource, context: values },
    resourceAccount: ACCOUNT,
    resourcePolicyRequired: false,
    identity: { policies: [policy] },
  });
  return d.allowed ? "Allowed" : d.explicit ? "ExplicitlyDenied" : "ImplicitlyDenied";
}

function simulator(c: Case): Decision {
  return runUnsafeSimulation(
    {
      request: {
        principal: principal.arn,
        action: c.action,
        resource: { resource: c.resource, accountId: ACCOUNT },
        contextVariables: c.context,
      },
      identityPolicies: [{ name: "p", policy: { Version: c.version, Statement: c.statements } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  ) as Decision;
}

/** Epoch seconds in a policy's date values, as the ISO 8601 time they are. */
const EPOCH = /^\d+$/;
const NEVER = "arn:aws:s3:::never-applies/never";

/** Whether a value's variables leave one without a value (and no default) in this request. */
function unresolved(value: string, context: Context): boolean {
  for (const m of value.matchAll(/\$\{([^}]+)\}/g)) {
    const inside = m[1]!;
    if (inside === "*" || inside === "?" || inside === "$" || /,\s*'[^']*'\s*$/.test(inside)) continue;
    const v = Object.entries(context).find(([k]) => k.toLowerCase() === inside.trim().toLowerCase())?.[1];
    if (v === undefined || Array.isArray(v)) return true;
  }
  return false;
}

/**
 * The case as the simulator must be given it to answer as AWS does, where it departs from AWS's
 * documentation (and a note of which departures the case touched):
 * - epoch seconds in date conditions: the simulator reads them as milliseconds;
 *   AWS documents epoch seconds (reference_policies_elements_condition_operators.html#Conditions_Date);
 * - `IpAddress 0.0.0.0/0` matches no address in the simulator; in AWS it is every IPv4 address
 *   (given to the simulator as its two halves, 0.0.0.0/1 and 128.0.0.0/1);
 * - Version 2008-10-17 takes no policy variables (reference_policies_elements_version.html): the
 *   simulator substitutes them anyway (given to it as `${$}{` so that it keeps them literal);
 * - a NotResource entry naming another service than the request's (arn:aws:sns:* for an S3
 *   object): the simulator does not count the request's resource as outside it, so the statement
 *   does not apply; in AWS NotResource applies to every resource it does not name (given to the
 *   simulator without such entries, or with one that names nothing when none is left);
 * - a NotResource entry whose variable has no value: AWS makes the statement invalid
 *   (reference_policies_variables.html), as keyhold does; the simulator, for a request on another
 *   service, applies it (given to it as a statement that applies to nothing);
 * - `${*}`, `${?}`, `${$}` in the value of an operator that takes no wildcards (StringEquals…):
 *   the simulator leaves the text as it is; AWS documents them as the characters "in any string
 *   where you can use regular policy variables" (given to it as the characters);
 * - a negated operator whose value holds a variable without a value, on a key the request lacks:
 *   the simulator lets the absent key decide ("not equal" holds); AWS says a variable it cannot
 *   resolve makes the statement invalid (reference_policies_variables.html), as keyhold does
 *   (given to the simulator as a statement that applies to nothing).
 */
function asAws(c: Case): { case: Case; known: string[] } {
  const known = new Set<string>();
  const legacy = c.version === "2008-10-17";
  const literal = (v: string) => {
    if (!legacy || !v.includes("${")) return v;
    known.add("2008-10-17 variables");
    return v.replaceAll("${", "${$}{");
  };
  const each = (v: string | string[] | undefined, f: (s: string) => string) =>
    v === undefined ? undefined : Array.isArray(v) ? v.map(f) : f(v);
  const statements = c.statements.map((s): Statement => {
    const out: Statement = { ...s };
    if (s.Resource !== undefined) out.Resource = each(s.Resource, literal);
    if (s.NotResource !== undefined) {
      const entries = (Array.isArray(s.NotResource) ? s.NotResource : [s.NotResource]).map(literal);
      if (!legacy && entries.some((e) => unresolved(e, c.context))) {
        known.add("NotResource with an unresolved variable");
        return { Effect: s.Effect, Action: "s3:GetObject", Resource: NEVER };
      }
      const service = c.resource.split(":")[2];
      const same = entries.filter((e) => e === "*" || /[*?]/.test(e.split(":")[2] ?? "") || e.split(":")[2] === service);
      if (same.length < entries.length) known.add("NotResource naming another service");
      out.NotResource = same.length > 0 ? same : [c.resource.replace(/[^:/]+$/, "never-named")];
    }
    if (!s.Condition) return out;
    out.Condition = {};
    let invalid = false;
    for (const [operator, block] of Object.entries(s.Condition)) {
      out.Condition[operator] = {};
      for (const [key, value] of Object.entries(block)) {
        let values = (Array.isArray(value) ? value : [value]).map(literal);
        if (operator.startsWith("Date") && values.some((v) => EPOCH.test(v))) {
          known.add("epoch seconds");
          values = values.map((v) => (EPOCH.test(v) ? new Date(Number(v) * 1000).toISOString().replace(".000Z", "Z") : v));
        }
        if (operator.includes("IpAddress") && values.includes("0.0.0.0/0")) {
          known.add("0.0.0.0/0");
          values = values.flatMap((v) => (v === "0.0.0.0/0" ? ["0.0.0.0/1", "128.0.0.0/1"] : [v]));
        }
        if (!legacy && !/Like|Arn/.test(operator) && values.some((v) => /\$\{[*?$]\}/.test(v))) {
          known.add("${*} outside patterns");
          values = values.map((v) => v.replace(/\$\{([*?$])\}/g, "$1"));
        }
        const negated = /Not(Equals|Like|IpAddress)/.test(operator);
        const absent = !Object.keys(c.context).some((k) => k.toLowerCase() === key.toLowerCase());
        if (!legacy && negated && absent && values.some((v) => unresolved(v, c.context))) invalid = true;
        out.Condition[operator]![key] = values.length === 1 ? values[0]! : values;
      }
    }
    if (invalid) {
      known.add("unresolved variable, absent key");
      return { Effect: s.Effect, Action: "s3:GetObject", Resource: NEVER };
    }
    return out;
  });
  return { case: { ...c, version: legacy ? "2012-10-17" : c.version, statements }, known: [...known] };
}

export { generate, keyhold, simulator, rng, asAws, type Case };

describe("policy evaluation against @cloud-copilot/iam-simulate", () => {
  it("agrees on 3,000 generated policy/request pairs", () => {
    const r = rng(2026);
    const mismatches: string[] = [];
    const decisions: Record<string, number> = {};
    let adjusted = 0;
    for (let i = 0; i < 3000; i++) {
      const c = generate(r);
      const aws = asAws(c);
      if (aws.known.length > 0) adjusted++;
      const ours = keyhold(c);
      const theirs = simulator(aws.case);
      decisions[ours] = (decisions[ours] ?? 0) + 1;
      if (ours !== theirs)
        mismatches.push(
          `#${i}: keyhold ${ours}, simulator ${theirs}${aws.known.length ? ` (as AWS: ${aws.known.join(", ")})` : ""}: ${JSON.stringify(c)}`,
        );
    }
    assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} disagreements`);
    // The cases exercise every outcome, and most are compared as the simulator gives them.
    for (const d of ["Allowed", "ImplicitlyDenied", "ExplicitlyDenied"]) assert.ok((decisions[d] ?? 0) >= 150, `${d}: ${decisions[d]}`);
    assert.ok(adjusted < 1200, `${adjusted} cases adjusted for the simulator's known departures`);
  });
});
