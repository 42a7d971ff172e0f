/** Smoke scenario with the AWS CLI: a secret under a customer key, read, a new value, deleted with a 7-day window, restored. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "./helpers.js";
import { awsEnv, requireTool } from "./process.js";

describe("aws secretsmanager against keyhold", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  /** Runs the CLI without blocking: the server answers from this process's event loop. */
  function aws(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        "aws",
        ["--endpoint-url", server.url, "--output", "json", ...args],
        { env: awsEnv(), encoding: "utf8" },
        (error, stdout, stderr) => {
          resolve({ status: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
        },
      );
    });
  }
  async function ok(...args: string[]): Promise<Record<string, unknown>> {
    const r = await aws(...args);
    assert.equal(r.status, 0, `aws ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
  }
  async function fails(code: string, ...args: string[]): Promise<void> {
    const r = await aws(...args);
    assert.notEqual(r.status, 0, `aws ${args.join(" ")} should fail`);
    assert.match(r.stderr, new RegExp(`\\(${code}\\)`), r.stderr);
  }

  it("keyhold operations lists the Secrets Manager operations", () => {
    const main = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
    const r = spawnSync(process.execPath, [main, "operations"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^secretsmanager GetSecretValue +Read a secret's value/m);
    assert.equal((r.stdout.match(/^secretsmanager /gm) ?? []).length, 23);
  });

  it("create under a customer key, read, put a new value, delete with a 7-day window, restore", async (t) => {
    if (!requireTool(t, "aws", "awscli")) return;
    const key = (await ok("kms", "create-key", "--description", "secrets")) as { KeyMetadata: { Arn: string } };
    const created = (await ok(
      "secretsmanager",
      "create-secret",
      "--name",
      "prod/db",
      "--kms-key-id",
      key.KeyMetadata.Arn,
      "--secret-string",
      '{"password":"first"}',
    )) as { ARN: string; VersionId: string };
    assert.match(created.ARN, /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:prod\/db-[A-Za-z0-9]{6}$/);
    const read = (await ok("secretsmanager", "get-secret-value", "--secret-id", "prod/db")) as {
      SecretString: string;
      VersionStages: string[];
    };
    assert.equal(read.SecretString, '{"password":"first"}');
    assert.deepEqual(read.VersionStages, ["AWSCURRENT"]);

    const put = (await ok(
      "secretsmanager",
      "put-secret-value",
      "--secret-id",
      created.ARN,
      "--secret-string",
      '{"password":"second"}',
    )) as {
      VersionId: string;
    };
    assert.notEqual(put.VersionId, created.VersionId);
    assert.equal(
      ((await ok("secretsmanager", "get-secret-value", "--secret-id", "prod/db")) as { SecretString: string }).SecretString,
      '{"password":"second"}',
    );
    const previous = (await ok("secretsmanager", "get-secret-value", "--secret-id", "prod/db", "--version-stage", "AWSPREVIOUS")) as {
      SecretString: string;
      VersionId: string;
    };
    assert.equal(previous.SecretString, '{"password":"first"}');
    assert.equal(previous.VersionId, created.VersionId);
    const described = (await ok("secretsmanager", "describe-secret", "--secret-id", "prod/db")) as { KmsKeyId: string };
    assert.equal(described.KmsKeyId, key.KeyMetadata.Arn);

    const deleted = (await ok("secretsmanager", "delete-secret", "--secret-id", "prod/db", "--recovery-window-in-days", "7")) as {
      DeletionDate: number | string;
    };
    const days =
      (new Date(typeof deleted.DeletionDate === "number" ? deleted.DeletionDate * 1000 : deleted.DeletionDate).getTime() - Date.now()) /
      86_400_000;
    assert.ok(days > 6.9 && days <= 7, `deletion in ${days} days`);
    await fails("InvalidRequestException", "secretsmanager", "get-secret-value", "--secret-id", "prod/db");
    await fails("InvalidParameterException", "secretsmanager", "delete-secret", "--secret-id", "other", "--recovery-window-in-days", "3");

    await ok("secretsmanager", "restore-secret", "--secret-id", "prod/db");
    assert.equal(
      ((await ok("secretsmanager", "get-secret-value", "--secret-id", "prod/db")) as { SecretString: string }).SecretString,
      '{"password":"second"}',
    );
    const password = (await ok("secretsmanager", "get-random-password", "--password-length", "40", "--exclude-punctuation")) as {
      RandomPassword: string;
    };
    assert.match(password.RandomPassword, /^[A-Za-z0-9]{40}$/);
    await fails("InvalidRequestException", "secretsmanager", "rotate-secret", "--secret-id", "prod/db");
  });
});
