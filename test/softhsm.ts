/**
 * Throw-away SoftHSM2 tokens for tests. SoftHSM2 reads its configuration (SOFTHSM2_CONF) when the
 * module is initialized, and lists the tokens of its token directory as they were then: so one
 * configuration per test process, in a temp dir removed when the process ends, and tokens made
 * before the module is opened in this process (or while every Token on it is closed). Processes
 * started by a test (keyhold servers, pkcs11-tool) get the same SOFTHSM2_CONF through `env`.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { ACCOUNT_ID, tempDir } from "./helpers.js";
import { requireTool } from "./process.js";

export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";
export const SO_PIN = "so-pin-1234";

export interface SoftHsm {
  module: string;
  /** The configuration file; also set as process.env.SOFTHSM2_CONF in this process. */
  conf: string;
  tokenDir: string;
  /** SOFTHSM2_CONF for child processes. */
  env: Record<string, string>;
  /** Initializes a token with this label and user PIN; returns its slot id. */
  token(label: string, pin: string): number;
}

let shared: SoftHsm | undefined;

/** SoftHSM2 (and opensc's pkcs11-tool) installed, or the test skipped saying why (false). */
export function requireSoftHsm(t: TestContext): SoftHsm | undefined {
  if (!requireTool(t, "softhsm2-util", "softhsm2")) return undefined;
  if (!requireTool(t, "pkcs11-tool", "opensc")) return undefined;
  if (!existsSync(SOFTHSM_MODULE)) {
    if (process.env.KEYHOLD_TEST_REQUIRE_ALL === "1") throw new Error(`${SOFTHSM_MODULE} is missing`);
    t.skip(`SKIPPED: ${SOFTHSM_MODULE} is missing`);
    return undefined;
  }
  if (shared) return shared;
  const dir = tempDir("keyhold-softhsm-");
  const tokenDir = join(dir, "tokens");
  mkdirSync(tokenDir, { mode: 0o700 });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, {
    mode: 0o600,
  });
  process.env.SOFTHSM2_CONF = conf;
  shared = {
    module: SOFTHSM_MODULE,
    conf,
    tokenDir,
    env: { SOFTHSM2_CONF: conf },
    token(label: string, pin: string): number {
      const made = spawnSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", pin], {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        encoding: "utf8",
      });
      const slot = /reassigned to slot (\d+)/.exec(made.stdout ?? "");
      if (made.status !== 0 || !slot) throw new Error(`softhsm2-util --init-token failed: ${made.stdout}${made.stderr}`);
      return Number(slot[1]);
    },
  };
  return shared;
}

/** Runs pkcs11-tool on the test's SoftHSM2; returns status and output. */
export function pkcs11Tool(hsm: SoftHsm, args: string[], input?: string): { status: number | null; out: string } {
  const run = spawnSync("pkcs11-tool", ["--module", hsm.module, ...args], {
    env: { ...process.env, SOFTHSM2_CONF: hsm.conf },
    encoding: "utf8",
    input,
  });
  return { status: run.status, out: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}

/** Writes a PIN file (0600) in a temp dir and returns its path. */
export function pinFile(pin: string): string {
  const path = join(tempDir("keyhold-pin-"), "pin");
  writeFileSync(path, pin + "\n", { mode: 0o600 });
  return path;
}

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Runs the keyhold command to its end with only PATH and `env` in its environment. */
export function runKeyhold(args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", KEYHOLD_ACCOUNT_ID: ACCOUNT_ID, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: run.status, out: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}

/** The server environment for a root of trust in `label` of the test's SoftHSM2. */
export function hsmEnv(hsm: SoftHsm, label: string, pinPath: string): Record<string, string> {
  return { ...hsm.env, KEYHOLD_HSM_MODULE: hsm.module, KEYHOLD_HSM_TOKEN_LABEL: label, KEYHOLD_HSM_PIN_FILE: pinPath };
}

/** A shared library that is not a PKCS#11 module (no C_GetFunctionList): this machine's libz, or a file of junk. */
export function notAModule(): string {
  for (const path of ["/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1", "/lib/libz.so.1"]) {
    if (existsSync(path)) return path;
  }
  const junk = join(tempDir("keyhold-junk-"), "libjunk.so");
  writeFileSync(junk, "not an ELF file");
  return junk;
}
