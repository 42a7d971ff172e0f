/** A trust anchor for HSM cluster tests: a self-signed CA certificate made with openssl. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { tempDir } from "./helpers.js";
import { requireTool } from "./process.js";

/** A self-signed CA certificate, as the trust anchor a cluster is initialized with. */
export function trustAnchor(t: TestContext): string | undefined {
  if (!requireTool(t, "openssl", "openssl")) return undefined;
  const dir = tempDir("keyhold-ca-");
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "ca.key"),
      "-out",
      join(dir, "ca.crt"),
      "-subj",
      "/CN=customerCA",
      "-days",
      "30",
    ],
    { encoding: "utf8" },
  );
  assert.equal(made.status, 0, made.stderr);
  return readFileSync(join(dir, "ca.crt"), "utf8");
}
