/**
 * The policy engine in process: wildcard matching that is linear whatever the pattern (an
 * account writes its own policies, callers choose object keys and encryption contexts), and the
 * evaluation rules an independent simulator and AWS's documentation found keyhold getting wrong:
 * variables without values, substituted values that acted as wildcards, default values, `${*}`,
 * single-value operators on multivalued keys, resource policies naming a role session, and
 * numbers that were not decimal.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { authorize } from "../src/iam/authorize.js";
import { ContextValues } from "../src/iam/conditions.js";
import { evaluatePolicy } from "../src/iam/evaluate.js";
import { compilePolicy, type PolicyKind } from "../src/iam/policy.js";
import type { Principal } from "../src/iam/principal.js";
import { escapedWildcard, escapeWildcard, wildcard, wildcardMatch } from "../src/iam/wildcard.js";

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/** The reference: AWS's definition, by dynamic programming over (pattern, value) positions. */
function reference(pattern: string, value: string): boolean {
  const m = pattern.length;
  const n = value.length;
  let row = new Array<boolean>(n + 1).fill(false);
  row[0] = true;
  for (let i = 1; i <= m; i++) {
    const p = pattern[i - 1]!;
    const next = new Array<boolean>(n + 1).fill(false);
    next[0] = row[0]! && p === "*";
    for (let j = 1; j <= n; j++) {
      if (p === "*") next[j] = row[j]! || next[j - 1]!;
      else next[j] = row[j - 1]! && (p === "?" || p === value[j - 1]);
    }
    row = next;
  }
  return row[n]!;
}

describe("wildcards", () => {
  it("match as AWS defines them: * any run (empty, newlines), ? one character, the rest literal", () => {
    const cases: [string, string, boolean][] = [
      ["*", "", true],
      ["*", "a\nb", true],
      ["a*b", "ab", true],
      ["a*b", "a\n\nb", true],
      ["a?b", "a\nb", true],
      ["a?b", "ab", false],
      ["a.b", "axb", false],
      ["a+b", "a+b", true],
      ["(x)|[y]^$\\", "(x)|[y]^$\\", true],
      ["${x}", "${x}", true],
      ["*ab*ab*", "abab", true],
      ["*ab*ab*", "aba", false],
      ["a**b", "ab", true],
      ["é?", "éü", true],
      ["", "", true],
      ["", "a", false],
      ["?*?", "a", false],
    ];
    for (const [p, v, want] of cases) assert.equal(wildcard(p).test(v), want, `${JSON.stringify(p)} ~ ${JSON.stringify(v)}`);
    assert.equal(wildcard("KMS:Encrypt*", true).test("kms:encryptDATA"), true);
    assert.equal(wildcard("kms:Encrypt", false).test("kms:encrypt"), false);
  });

  it("agree with the reference on thousands of random patterns and values", () => {
    const r = rng(19);
    const alphabet = ["a", "b", "*", "?", "\n", "ab", "é"];
    const values = ["a", "b", "\n", "ba", "é", "ü"];
    for (let i = 0; i < 5000; i++) {
      let p = "";
      for (let k = Math.floor(r() * 9); k > 0; k--) p += alphabet[Math.floor(r() * alphabet.length)];
      // Segments longer than one machine word exercise the multi-word shift-and scan.
      if (i % 50 === 0) p = "*" + "a?".repeat(20) + p + "*";
      let v = "";
      for (let k = Math.floor(r() * (i % 50 === 0 ? 80 : 12)); k > 0; k--) v += values[Math.floor(r() * values.length)];
      assert.equal(wildcard(p).test(v), reference(p, v), `${JSON.stringify(p)} ~ ${JSON.stringify(v)}`);
    }
  });

  it("take escaped text literally, for substituted values", () => {
    assert.equal(escapedWildcard(`a/${escapeWildcard("*")}/*`).test("a/*/x"), true);
    assert.equal(escapedWildcard(`a/${escapeWildcard("*")}/*`).test("a/b/x"), false);
    assert.equal(escapedWildcard(`${escapeWildcard("a?\\")}`).test("a?\\"), true);
    assert.equal(escapedWildcard(`${escapeWildcard("a?\\")}`).test("ab\\"), false);
  });

  /**
   * Patterns a backtracking matcher takes minutes or ages on (10 wildcards over 40 characters
   * took 68 s; these have 12 to 60 over 1 KiB): the answers must be right, and the test finishes
   * at all only because the work is linear.
   */
  it("answer adversarial patterns against 1 KiB values without backtracking", () => {
    const a = "a".repeat(1024);
    const aThenB = "a".repeat(1023) + "b";
    const stars = (n: number, unit: string, end: string) => "*" + `${unit}*`.repeat(n) + end;
    assert.equal(wildcard(stars(12, "a", "b")).test(a), false);
    assert.equal(wildcard(stars(12, "a", "b")).test(aThenB), true);
    assert.equal(wildcard(stars(60, "a", "b")).test(a), false);
    assert.equal(wildcard(stars(60, "?", "b")).test(aThenB), true);
    assert.equal(wildcard(stars(30, "a?", "?b")).test(a), false);
    assert.equal(wildcard("*" + "a".repeat(200) + "b*").test(a), false);
    assert.equal(wildcard("*" + "a?".repeat(100) + "b*").test(a), false);
    assert.equal(wildcard("*" + "a?".repeat(100) + "b*").test(aThenB), true);
    assert.equal(wildcard("*a*a*a*a*a*a*a*a*b", true).test("A".repeat(1024)), false);
    // The condition and resource paths a policy takes, end to end.
    const policy = compilePolicy(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "kms:*", Resource: "*" },
          {
            Effect: "Deny",
            Action: "kms:*",
            Resource: "arn:aws:kms:*:*:key/" + "*a".repeat(20) + "*b",
          },
          {
            Effect: "Deny",
            Action: "kms:*",
            Resource: "*",
            Condition: { StringLike: { "kms:EncryptionContext:x": "*a".repeat(20) + "*b" } },
          },
        ],
      }),
      "identity",
    );
    const decide = (resource: string, context: string) =>
      evaluatePolicy(policy, {
        principal: user,
        action: "kms:Encrypt",
        resource,
        context: new ContextValues().set("kms:EncryptionContext:x", context),
      });
    assert.deepEqual(decide("arn:aws:kms:us-east-1:111122223333:key/" + a, a), { deny: false, allow: "direct" });
    assert.deepEqual(decide("arn:aws:kms:us-east-1:111122223333:key/" + aThenB, a), { deny: true, allow: "direct" });
    assert.deepEqual(decide("arn:aws:kms:us-east-1:111122223333:key/k", aThenB), { deny: true, allow: "direct" });
  });

  it("keep the cache of compiled patterns bounded", () => {
    // 20,000 distinct long patterns: the cache clears itself rather than hold them all.
    for (let i = 0; i < 20_000; i++) assert.equal(wildcardMatch(`${i}*${"x".repeat(300)}`, `${i}-${"x".repeat(300)}`), true);
  });

  it("keep the cache of compiled policies bounded in characters, not only in entries", () => {
    // A compiled policy holds its own compiled patterns (about 2.5 MB for a 32 KB key policy of
    // distinct wildcards): 5,000 such documents, which anyone may submit as key or bucket policies
    // (compiled even when refused later), held 12 GB. 100 of them (3.2 M characters) must not all stay.
    const documents = Array.from({ length: 100 }, (_, d) => {
      const actions: string[] = [];
      for (let i = 0; i < 2000; i++) actions.push(`kms:*a*b*${d}q${i}`);
      return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: actions, Resource: "*" }] });
    });
    const first = compilePolicy(documents[0]!, "resource");
    for (const text of documents.slice(1)) compilePolicy(text, "resource");
    assert.notEqual(compilePolicy(documents[0]!, "resource"), first, "the first document was still cached after 3 M characters");
    assert.equal(compilePolicy(documents[0]!, "resource"), compilePolicy(documents[0]!, "resource"));
  });
});

const ACCOUNT = "111122223333";
const user: Principal = {
  type: "IAMUser",
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  principalId: "AIDAALICE",
  userName: "alice",
};
const session: Principal = {
  type: "AssumedRole",
  accountId: ACCOUNT,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/R/S`,
  principalId: "AROAR:S",
  roleArn: `arn:aws:iam::${ACCOUNT}:role/R`,
  roleName: "R",
  sessionName: "S",
};

function policy(statements: object[], kind: PolicyKind = "identity", version = "2012-10-17") {
  return compilePolicy(JSON.stringify({ Version: version, Statement: statements }), kind);
}

/** Whether one identity policy allows the request (same account, no resource policy). */
function allows(
  statements: object[],
  resource: string,
  context: Record<string, string | string[]>,
  principal = user,
  version?: string,
): boolean {
  const values = new ContextValues();
  for (const [k, v] of Object.entries(context)) values.set(k, v);
  const d = authorize({
    request: { principal, action: "s3:GetObject", resource, context: values },
    resourceAccount: ACCOUNT,
    resourcePolicyRequired: false,
    identity: { policies: [policy(statements, "identity", version)] },
  });
  return d.allowed;
}

const OBJECT = "arn:aws:s3:::bucket/alice/report";
const allowAll = { Effect: "Allow", Action: "s3:*", Resource: "*" };

describe("policy variables", () => {
  it("a variable without a value makes the statement not apply (negated operators, NotResource, Deny)", () => {
    // A role session has no aws:username; the tag is absent.
    const notEquals = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringNotEquals: { "s3:prefix": "${aws:username}" } },
    };
    assert.equal(allows([notEquals], OBJECT, { "s3:prefix": "x" }, session), false);
    assert.equal(allows([notEquals], OBJECT, { "s3:prefix": "x", "aws:username": "alice" }), true);
    const notResource = { Effect: "Allow", Action: "s3:GetObject", NotResource: "arn:aws:s3:::secret/${aws:PrincipalTag/team}/*" };
    assert.equal(allows([notResource], OBJECT, {}), false);
    assert.equal(allows([notResource], OBJECT, { "aws:PrincipalTag/team": "red" }), true);
    const denyNotLike = {
      Effect: "Deny",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringNotLike: { "s3:prefix": "home/${aws:PrincipalTag/team}/*" } },
    };
    assert.equal(allows([allowAll, denyNotLike], OBJECT, { "s3:prefix": "home/red/x" }), true);
    // A multivalued key has no value as a variable, even with one value in the request.
    const tagKeys = { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/${aws:TagKeys}/*" };
    assert.equal(allows([tagKeys], "arn:aws:s3:::bucket/env/x", { "aws:TagKeys": ["env"] }), false);
    // A positive operator: the value matches nothing, as before.
    const equals = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringEquals: { "s3:prefix": "${aws:PrincipalTag/team}" } },
    };
    assert.equal(allows([equals], OBJECT, { "s3:prefix": "" }), false);
  });

  it("a substituted value is literal text, not a pattern (Resource, StringLike, ArnLike)", () => {
    const resource = { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*" };
    assert.equal(allows([resource], OBJECT, { "aws:PrincipalTag/team": "*" }), false);
    assert.equal(allows([resource], "arn:aws:s3:::bucket/*/report", { "aws:PrincipalTag/team": "*" }), true);
    assert.equal(allows([resource], OBJECT, { "aws:PrincipalTag/team": "alic?" }), false);
    assert.equal(allows([resource], OBJECT, { "aws:PrincipalTag/team": "alice" }), true);
    const like = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringLike: { "s3:prefix": "${aws:PrincipalTag/team}/*" } },
    };
    assert.equal(allows([like], OBJECT, { "aws:PrincipalTag/team": "*", "s3:prefix": "red/x" }), false);
    assert.equal(allows([like], OBJECT, { "aws:PrincipalTag/team": "*", "s3:prefix": "*/x" }), true);
    const arn = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { ArnLike: { "aws:SourceArn": "arn:aws:s3:::${aws:PrincipalTag/team}" } },
    };
    assert.equal(allows([arn], OBJECT, { "aws:PrincipalTag/team": "*", "aws:SourceArn": "arn:aws:s3:::other" }), false);
    assert.equal(allows([arn], OBJECT, { "aws:PrincipalTag/team": "*", "aws:SourceArn": "arn:aws:s3:::*" }), true);
    // A backslash in a substituted value is no escape either.
    assert.equal(allows([resource], "arn:aws:s3:::bucket/a\\*/x", { "aws:PrincipalTag/team": "a\\*" }), true);
    assert.equal(allows([resource], "arn:aws:s3:::bucket/a\\b/x", { "aws:PrincipalTag/team": "a\\*" }), false);
  });

  it("${key, 'default'} takes the default when the key has no value", () => {
    const withDefault = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*",
    };
    assert.equal(allows([withDefault], "arn:aws:s3:::bucket/company-wide/x", {}), true);
    assert.equal(allows([withDefault], "arn:aws:s3:::bucket/red/x", {}), false);
    assert.equal(allows([withDefault], "arn:aws:s3:::bucket/red/x", { "aws:PrincipalTag/team": "red" }), true);
    assert.equal(allows([withDefault], "arn:aws:s3:::bucket/company-wide/x", { "aws:PrincipalTag/team": "red" }), false);
    const inCondition = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringEquals: { "s3:prefix": "${aws:username, 'nobody'}" } },
    };
    assert.equal(allows([inCondition], OBJECT, { "s3:prefix": "nobody" }, session), true);
    assert.equal(allows([inCondition], OBJECT, { "s3:prefix": "alice", "aws:username": "alice" }), true);
  });

  it("${*}, ${?} and ${$} are the literal characters, in conditions and resources", () => {
    const equals = {
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringEquals: { "s3:prefix": "a${*}b${?}c${$}" } },
    };
    assert.equal(allows([equals], OBJECT, { "s3:prefix": "a*b?c$" }), true);
    assert.equal(allows([equals], OBJECT, { "s3:prefix": "a\\*b\\?c$" }), false);
    const like = { Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { StringLike: { "s3:prefix": "${*}*" } } };
    assert.equal(allows([like], OBJECT, { "s3:prefix": "*x" }), true);
    assert.equal(allows([like], OBJECT, { "s3:prefix": "xx" }), false);
    const resource = { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/${?}" };
    assert.equal(allows([resource], "arn:aws:s3:::bucket/?", {}), true);
    assert.equal(allows([resource], "arn:aws:s3:::bucket/x", {}), false);
  });

  it("Version 2008-10-17 leaves ${…} as literal text", () => {
    const resource = { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/${aws:username}/*" };
    assert.equal(allows([resource], OBJECT, { "aws:username": "alice" }, user, "2008-10-17"), false);
    assert.equal(allows([resource], "arn:aws:s3:::bucket/${aws:username}/x", { "aws:username": "alice" }, user, "2008-10-17"), true);
  });
});

describe("condition operators", () => {
  it("a single-value operator on a multivalued key does not match, negated or not", () => {
    for (const [operator, value] of [
      ["StringEquals", "a"],
      ["StringNotEquals", "zzz"],
      ["StringLike", "*"],
    ] as const) {
      for (const key of ["aws:TagKeys", "kms:EncryptionContextKeys", "kms:GrantOperations"]) {
        const st = { Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { [operator]: { [key]: value } } };
        assert.equal(allows([st], OBJECT, { [key]: ["a"] }), false, `${operator} ${key}`);
        const any = {
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: "*",
          Condition: { [`ForAnyValue:${operator}`]: { [key]: value } },
        };
        assert.equal(allows([any], OBJECT, { [key]: ["a"] }), true, `ForAnyValue:${operator} ${key}`);
      }
    }
    // And a Deny with it does not deny.
    const deny = { Effect: "Deny", Action: "s3:GetObject", Resource: "*", Condition: { StringNotEquals: { "aws:TagKeys": "approved" } } };
    assert.equal(allows([allowAll, deny], OBJECT, { "aws:TagKeys": ["other"] }), true);
  });

  it("numbers are decimal: no hex, binary, octal, Infinity or padding", () => {
    const limit = (value: string) => ({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { NumericLessThanEquals: { "s3:max-keys": value } },
    });
    assert.equal(allows([limit("300")], OBJECT, { "s3:max-keys": "300" }), true);
    assert.equal(allows([limit("300")], OBJECT, { "s3:max-keys": "-1.5" }), true);
    assert.equal(allows([limit("300")], OBJECT, { "s3:max-keys": ".5" }), true);
    for (const bad of ["0x12C", "0b1", "0o7", "Infinity", "-Infinity", " 5", "5 ", "", "1e2", "1_0"]) {
      assert.equal(allows([limit("300")], OBJECT, { "s3:max-keys": bad }), false, JSON.stringify(bad));
      assert.equal(allows([limit(bad)], OBJECT, { "s3:max-keys": "1" }), false, JSON.stringify(bad));
    }
    const equals = { Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { NumericEquals: { "s3:max-keys": "300" } } };
    assert.equal(allows([equals], OBJECT, { "s3:max-keys": "0x12C" }), false);
  });
});

describe("resource policies and session policies", () => {
  const resource = `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`;
  const sessionPolicy = policy([{ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }]);
  const decide = (principalArn: string) =>
    authorize({
      request: { principal: session, action: "kms:Encrypt", resource, context: new ContextValues() },
      resourceAccount: ACCOUNT,
      resourcePolicy: policy([{ Effect: "Allow", Principal: { AWS: principalArn }, Action: "kms:Encrypt", Resource: "*" }], "resource"),
      resourcePolicyRequired: true,
      identity: { policies: [], session: [sessionPolicy] },
    });

  it("a resource policy naming the session's own ARN is not limited by the session policy", () => {
    assert.deepEqual(decide(session.arn), { allowed: true });
  });

  it("one naming the role is limited by it", () => {
    assert.equal(decide(session.roleArn!).allowed, false);
  });
});
