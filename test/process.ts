/** keyhold as a separate process (for kill -9 and the AWS CLI), and the system tools tests need. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, trackChild } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The HTTPS endpoint and the CA file to trust, when started with KEYHOLD_TLS_PORT. */
  tlsUrl?: string;
  caFile?: string;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnServer(dataDir: string, extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, "server", "--port", "0", "--data-dir", dataDir], {
    env: {
      PATH: process.env.PATH ?? "",
      KEYHOLD_ACCOUNT_ID: ACCOUNT_ID,
      KEYHOLD_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
      KEYHOLD_ROOT_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      // One process unless a test asks for workers: tests kill, restart and read the output of
      // "the server" as one process (the default is one worker per core).
      KEYHOLD_WORKERS: "1",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 15_000);
    const check = () => {
      const m = /keyhold listening on (http:\/\/\S+)/.exec(out);
      const tlsReady = extraEnv.KEYHOLD_TLS_PORT === undefined || /keyhold listening on https:/.test(out);
      if (m && tlsReady) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const tls = /keyhold listening on (https:\/\/\S+)(?: \(certificate authority: (\S+);)?/.exec(out);
  return {
    child,
    url,
    tlsUrl: tls?.[1],
    caFile: tls?.[2],
    output: () => out,
    kill: (signal = "SIGTERM") =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
  };
}

const requireAll = process.env.KEYHOLD_TEST_REQUIRE_ALL === "1";

/**
 * Makes sure a command-line tool is there: installs its Debian package when running as root,
 * otherwise skips the test, saying so, unless KEYHOLD_TEST_REQUIRE_ALL=1 makes that a failure.
 */
export function requireTool(t: TestContext, command: string, debianPackage: string): boolean {
  const has = () => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
  if (has()) return true;
  if (process.getuid?.() === 0) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
    spawnSync("apt-get", ["install", "-y", "-qq", debianPackage], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (has()) return true;
  }
  const why = `${command} is not installed and could not be installed (Debian package ${debianPackage})`;
  if (requireAll) throw new Error(`${why}; KEYHOLD_TEST_REQUIRE_ALL=1 makes this a failure`);
  t.skip(`SKIPPED: ${why}`);
  return false;
}

/** Environment for the AWS CLI and boto3: our credentials and nothing from the user's configuration. */
export function awsEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent/keyhold-test-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/keyhold-test-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  };
}
