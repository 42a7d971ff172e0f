/**
 * The key policy editor's syntax check (console/src/pages/keys/json-syntax.ts): the first error of
 * a JSON text placed at its line and column, the way policyProblem words it, no stack exhausted by
 * deep nesting, and agreement with JSON.parse on thousands of mangled policies. No browser.
 */
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type * as JsonSyntax from "../console/src/pages/keys/json-syntax.js";
import type * as Policy from "../console/src/pages/keys/policy.js";
import { loadConsoleModule } from "./console-modules.js";

const { jsonSyntaxError } = await loadConsoleModule<typeof JsonSyntax>("console/src/pages/keys/json-syntax.ts");
const { policyProblem, defaultKeyPolicy } = await loadConsoleModule<typeof Policy>("console/src/pages/keys/policy.ts");

/** Line and column of the first occurrence of `marker` in `text` (1-based). */
function at(text: string, marker: string, from = 0): { line: number; column: number } {
  const offset = text.indexOf(marker, from);
  assert.ok(offset >= 0, `${marker} in the text`);
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

function where(text: string) {
  const e = jsonSyntaxError(text);
  assert.ok(e, `an error in ${JSON.stringify(text.slice(0, 60))}`);
  return { line: e.line, column: e.column, message: e.message };
}

describe("console: the key policy editor's JSON syntax check", () => {
  test("valid JSON has no error", () => {
    for (const text of [
      '{"a":1}',
      "[]",
      "{}",
      " 1 ",
      '"x"',
      "null",
      '{"a":[1,-2.5e+3,true,false,null,{"b":"\\u00e9\\n"}]}',
      "\r\n{\t}\r\n",
    ]) {
      assert.equal(jsonSyntaxError(text), undefined, text);
    }
  });

  test("each kind of error is placed at its line and column, with a reason", () => {
    const trailing = '{\n    "Version": "2012-10-17",\n    "Statement": [\n        {"Effect": "Allow",}\n    ]\n}';
    const comma = at(trailing, ",}");
    assert.deepEqual(where(trailing), {
      line: comma.line,
      column: comma.column + 1,
      message: 'Unexpected character "}": expected a property name in double quotes',
    });

    const missingComma = '{\n  "a": 1\n  "b": 2\n}';
    assert.deepEqual(where(missingComma), { ...at(missingComma, '"b"'), message: `Unexpected character "\\"": expected ',' or '}'` });

    const arrayComma = "[1,\n 2,\n]";
    assert.deepEqual(where(arrayComma), { line: 3, column: 1, message: 'Unexpected character "]": expected a value' });

    const singleQuotes = "{'Effect': 'Allow'}";
    assert.deepEqual(where(singleQuotes), {
      line: 1,
      column: 2,
      message: `Unexpected character "'": expected a property name in double quotes`,
    });

    const unterminated = '{\n  "Sid": "open';
    assert.deepEqual(where(unterminated), { ...at(unterminated, '"open'), message: "Unterminated string" });

    const lineBreak = '{"Sid": "two\nlines"}';
    assert.deepEqual(where(lineBreak), { line: 1, column: 13, message: "Unterminated string (a line break inside a string)" });

    assert.deepEqual(where('{"a": "\\x"}'), { line: 1, column: 8, message: "Bad escape in a string" });
    assert.deepEqual(where('{"a": "\\u12g4"}'), { line: 1, column: 8, message: "Bad \\u escape in a string" });
    assert.deepEqual(where('{"a": 01}'), { line: 1, column: 8, message: "Bad number" });
    assert.deepEqual(where('{"a": 1.}'), { line: 1, column: 8, message: "Bad number" });
    assert.deepEqual(where('{"a": -}'), { line: 1, column: 7, message: "Bad number" });
    assert.deepEqual(where('{"a": tru}'), { line: 1, column: 7, message: 'Unexpected character "t": expected a value' });
    assert.deepEqual(where('{"a" 1}'), { line: 1, column: 6, message: `Unexpected character "1": expected ':' after a property name` });
    assert.deepEqual(where("{} x"), { line: 1, column: 4, message: 'Unexpected character "x" after the end of the JSON value' });
    assert.deepEqual(where('{\n  "a": 1'), { line: 2, column: 9, message: "Unexpected end of the text: expected ',' or '}'" });
    assert.deepEqual(where(""), { line: 1, column: 1, message: "Unexpected end of the text: expected a value" });
  });

  test("policyProblem says where a policy's syntax breaks; KMS-shaped checks follow only for valid JSON", () => {
    assert.equal(
      policyProblem('{\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}'),
      `The policy is not valid JSON: line 3, column 24: Unexpected character "}": expected a property name in double quotes.`,
    );
    assert.equal(policyProblem('{"Statement": [{"Effect": "Maybe"}]}'), 'Statement 1: Effect must be "Allow" or "Deny".');
    const generated = defaultKeyPolicy({
      account: "111122223333",
      administrators: [],
      allowAdminsToDelete: true,
      users: [],
      otherAccounts: [],
      usage: "ENCRYPT_DECRYPT",
      symmetric: true,
    });
    assert.equal(policyProblem(generated), undefined);
  });

  test("deep nesting is read without recursion", () => {
    const depth = 200_000;
    assert.equal(jsonSyntaxError("[".repeat(depth) + "]".repeat(depth)), undefined);
    const unclosed = "[".repeat(depth) + "]".repeat(depth - 1);
    assert.deepEqual(where(unclosed), { line: 1, column: 2 * depth, message: "Unexpected end of the text: expected ',' or ']'" });
  });

  test("agrees with JSON.parse on 3000 mangled policies, and always finds the error itself", () => {
    const policy = defaultKeyPolicy({
      account: "111122223333",
      administrators: ["arn:aws:iam::111122223333:user/KeyAdministrator"],
      allowAdminsToDelete: false,
      users: ["arn:aws:iam::111122223333:user/KeyUser"],
      otherAccounts: ["444455556666"],
      usage: "ENCRYPT_DECRYPT",
      symmetric: true,
    });
    let seed = 0x2545f491;
    const random = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pieces = ['"', ",", ":", "{", "}", "[", "]", "\\", "\n", "-", "0", "e", "t", " ", "'", "/", "\u0001"];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      let text = policy;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const p = random(text.length + 1);
        text = random(2) === 0 ? text.slice(0, p) + text.slice(p + 1) : text.slice(0, p) + pieces[random(pieces.length)]! + text.slice(p);
      }
      let parsed = true;
      let engine = "";
      try {
        JSON.parse(text);
      } catch (e) {
        parsed = false;
        engine = (e as Error).message;
      }
      const found = jsonSyntaxError(text);
      assert.equal(found === undefined, parsed, `JSON.parse and the check disagree on ${JSON.stringify(text)}`);
      if (found) {
        refused++;
        assert.notEqual(found.message, engine, `the check placed the error itself in ${JSON.stringify(text)}`);
        assert.ok(found.offset >= 0 && found.offset <= text.length);
      }
    }
    assert.ok(refused > 1000, `most mangled policies are refused (${refused})`);
  });
});
