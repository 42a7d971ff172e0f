/**
 * The README's private-PKI scenario with the AWS CLI and openssl, run as written in an empty
 * directory: root CA, subordinate CA with a CRL bucket, a server certificate, its revocation, and
 * the CRL read back from keyhold's S3 that lists it.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startTestServer, tempDir, type TestServer } from "./helpers.js";
import { awsEnv, requireTool } from "./process.js";

function readmeScenario(): string[] {
  const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
  const intro = readme.indexOf("A private PKI: a root CA");
  assert.ok(intro >= 0, "the README introduces its private CA scenario");
  const open = readme.indexOf("```\n", intro) + 4;
  return readme
    .slice(open, readme.indexOf("```", open))
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

/** Runs the lines in one bash (variables carry over), stopping at the first that fails; stdout and stderr. */
function run(commands: string[], endpoint: string, cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const script = ["set -e -o pipefail", ...commands.map((c) => c.replaceAll("http://127.0.0.1:8420", endpoint))].join("\n");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { env: awsEnv(), cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

describe("aws acm-pca against keyhold", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it("runs the README's private PKI scenario: the chain verifies, and the CRL lists the revoked serial", async (t: TestContext) => {
    if (!requireTool(t, "aws", "awscli") || !requireTool(t, "openssl", "openssl")) return;
    const dir = tempDir("keyhold-cli-pca-");
    const result = await run(readmeScenario(), server.url, dir);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /orders\.pem: OK/);
    const serial = execFileSync("openssl", ["x509", "-in", `${dir}/orders.pem`, "-noout", "-serial"], { encoding: "utf8" })
      .trim()
      .split("=")[1]!;
    assert.match(result.stdout, new RegExp(`Serial Number: ${serial}\\s+Revocation Date:`));
  });
});
