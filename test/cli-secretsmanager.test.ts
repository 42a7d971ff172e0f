/**
 * Smoke scenario with the AWS CLI: a secret under a customer key, read, a new value, deleted with a
 * 7-day window, restored; and the README's lines for it, run as written.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "./helpers.js";
import { awsEnv, requireTool } from "./process.js";
import { ROOT_CREDS } from "./iam.js";

/** The README's Secrets Manager scenario: the code block after its introduction, one command a line (continuations joined). */
function readmeScenario(): string[] {
  const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
  const intro = readme.indexOf("A secret under a key of one's own");
  assert.ok(intro >= 0, "the README introduces its Secrets Manager scenario");
  const open = readme.indexOf("```\n", intro) + 4;
  const block = readme.slice(open, readme.indexOf("```", open));
  return block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "");
}

/** Runs `commands` in one shell (so a variable set by one is seen by the next); each one's output and exit status. */
function runScript(commands: string[], endpoint: string): Promise<{ stdout: string; status: number }[]> {
  const script = commands.map((c, i) => `${c.replaceAll("http://127.0.0.1:8420", endpoint)}\nprintf '\\n<<%d:%d>>\\n' ${i} $?\n`).join("");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { env: awsEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", () => {
      const results: { stdout: string; status: number }[] = [];
      let rest = out;
      for (let i = 0; i < commands.length; i++) {
        const m = new RegExp(`\\n<<${i}:(\\d+)>>\\n`).exec(rest);
        if (!m) return reject(new Error(`command ${i} printed no end marker: ${out}\n${err}`));
        results.push({ stdout: rest.slice(0, m.index).trim(), status: Number(m[1]) });
        rest = rest.slice(m.index + m[0].length);
      }
      if (results.some((r) => r.status !== 0)) return reject(new Error(`a command failed: ${JSON.stringify(results)}\n${err}`));
      resolve(results);
    });
  });
}

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

  it("the README's scenario runs as written: create under a customer key, read, a new value, delete with a 7-day window, restore", async (t) => {
    if (!requireTool(t, "aws", "awscli")) return;
    const commands = readmeScenario();
    assert.equal(commands.length, 7, commands.join("\n"));
    for (const c of commands) assert.match(c, /^(KEY=\$\()?aws --endpoint-url http:\/\/127\.0\.0\.1:8420 (kms|secretsmanager) /);
    // A server of its own: the scenario's secret name is the one the test above leaves behind.
    const own = await startTestServer();
    try {
      const [key, created, read, put, previous, deleted, restored] = await runScript(commands, own.url);
      assert.equal(key!.stdout, "");
      const secret = JSON.parse(created!.stdout) as { ARN: string; Name: string; VersionId: string };
      assert.match(secret.ARN, /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:prod\/db-[A-Za-z0-9]{6}$/);
      assert.equal(read!.stdout, '{"username":"app","password":"first"}');
      assert.notEqual((JSON.parse(put!.stdout) as { VersionId: string }).VersionId, secret.VersionId);
      assert.equal(previous!.stdout, '{"username":"app","password":"first"}');
      const deletion = (JSON.parse(deleted!.stdout) as { DeletionDate: number | string }).DeletionDate;
      const days = (new Date(typeof deletion === "number" ? deletion * 1000 : deletion).getTime() - Date.now()) / 86_400_000;
      assert.ok(days > 6.9 && days <= 7, `deletion in ${days} days`);
      assert.equal((JSON.parse(restored!.stdout) as { ARN: string }).ARN, secret.ARN);

      // Afterwards: the secret is back, under the customer key the first line made, its value the second one.
      const { SecretsManagerClient, DescribeSecretCommand, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
      const { DescribeKeyCommand } = await import("@aws-sdk/client-kms");
      const sm = new SecretsManagerClient({ endpoint: own.url, region: "us-east-1", credentials: ROOT_CREDS, maxAttempts: 1 });
      try {
        const described = await sm.send(new DescribeSecretCommand({ SecretId: secret.ARN }));
        assert.equal(described.DeletedDate, undefined);
        const keyMetadata = (await own.client().send(new DescribeKeyCommand({ KeyId: described.KmsKeyId! }))).KeyMetadata!;
        assert.equal(keyMetadata.Description, "secrets");
        assert.equal(keyMetadata.KeyManager, "CUSTOMER");
        assert.equal(
          (await sm.send(new GetSecretValueCommand({ SecretId: "prod/db" }))).SecretString,
          '{"username":"app","password":"second"}',
        );
      } finally {
        sm.destroy();
      }
    } finally {
      await own.stop();
    }
  });
});
