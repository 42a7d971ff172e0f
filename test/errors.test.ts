import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ERROR_CODES, ServiceError, type ErrorCode } from "../src/errors.js";

describe("error registry", () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it("holds a closed list of codes, each with a 4xx status (5xx only for internal faults) and a message", () => {
    assert.equal(codes.length, 150);
    for (const code of codes) {
      const { status, message } = ERROR_CODES[code];
      assert.ok(message.length > 10, code);
      if (
        code === "KMSInternalException" ||
        code === "InternalFailure" ||
        code === "InternalError" ||
        code === "InternalServiceError" ||
        code === "CloudHsmInternalFailureException"
      )
        assert.equal(status, 500);
      else if (code === "NotImplemented") assert.equal(status, 501, "S3's own status for it");
      else if (code === "NotModified") assert.equal(status, 304, "a conditional GET's answer, not an error, though SDKs raise it");
      else assert.ok(status >= 400 && status < 500, `${code} has status ${status}`);
      const e = new ServiceError(code);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(e.message, message);
    }
  });

  it("every code thrown in src/ is documented in docs/errors.md", () => {
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    for (const code of codes) assert.ok(doc.includes(`\`${code}\``), `${code} is missing from docs/errors.md`);
    // And no code is thrown that the registry does not know (the type system checks literals; this checks strings).
    const root = new URL("../../src", import.meta.url).pathname;
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts")) files.push(p);
      }
    };
    walk(root);
    for (const f of files) {
      for (const m of readFileSync(f, "utf8").matchAll(/new ServiceError\("(\w+)"/g)) {
        assert.ok(codes.includes(m[1] as ErrorCode), `${f} throws unknown code ${m[1]}`);
      }
    }
  });
});
