/**
 * A throw-away PostgreSQL server for tests: initdb in a temp dir with the machine's PostgreSQL
 * binaries (as the postgres user when running as root), started on a free port, removed after.
 * Without PostgreSQL the tests that need it are skipped and say so, unless
 * KEYHOLD_TEST_REQUIRE_ALL=1 makes that a failure; as root, Debian's postgresql is installed.
 */
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPostgres {
  url: string;
  port: number;
  /** Stops the server, keeping its data, as a crash or a maintenance stop would; `resume` starts it again on the same port. */
  halt(): void;
  resume(): void;
  stop(): void;
}

function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** The reason PostgreSQL cannot be had here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  if (!binDir() && process.getuid?.() === 0) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
    spawnSync("apt-get", ["install", "-y", "-qq", "postgresql"], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  return binDir() ? undefined : "PostgreSQL binaries (initdb) are not installed and could not be installed (Debian package postgresql)";
}

/**
 * Skips a test that needs PostgreSQL when `missing` says it cannot be had, saying so — or fails
 * it when KEYHOLD_TEST_REQUIRE_ALL=1 forbids skips. True when the test must stop.
 */
export function skipWithoutPostgres(t: TestContext, missing: string | undefined): boolean {
  if (!missing) return false;
  if (process.env.KEYHOLD_TEST_REQUIRE_ALL === "1") throw new Error(`${missing}; KEYHOLD_TEST_REQUIRE_ALL=1 makes this a failure`);
  t.skip(`SKIPPED: ${missing}`);
  return true;
}

/**
 * `password`: TCP connections need a password (scram-sha-256; the superuser `keyhold` has this one),
 * for tests where a refused password must be refused. Without it every connection is trusted.
 */
export async function startPostgres(options: { password?: string } = {}): Promise<TestPostgres> {
  const bin = binDir();
  if (!bin) throw new Error("PostgreSQL binaries not found");
  const dir = mkdtempSync(join(tmpdir(), "keyhold-pg-"));
  chmodSync(dir, 0o700);
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => {
    const r = asRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", join(bin, command), ...args], { encoding: "utf8" })
      : spawnSync(join(bin, command), args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr || r.stdout}`);
  };
  if (asRoot) {
    // initdb refuses to run as root: it runs as the postgres user, made here if the machine has none.
    if (spawnSync("id", ["-u", "postgres"]).status !== 0) spawnSync("useradd", ["--system", "--no-create-home", "postgres"]);
    const pw = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, "data");
  const auth = ["-A", "trust"];
  if (options.password !== undefined) {
    const pwfile = join(dir, "pwfile");
    writeFileSync(pwfile, options.password, { mode: 0o600 });
    if (asRoot) chownSync(pwfile, Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim()), 0);
    auth.push("--auth-host=scram-sha-256", `--pwfile=${pwfile}`);
  }
  run("initdb", ["-D", data, ...auth, "-U", "keyhold", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const start = () =>
    run("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "start"]);
  start();
  return {
    url:
      options.password === undefined
        ? `postgres://keyhold@127.0.0.1:${port}/postgres`
        : `postgres://keyhold:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
    port,
    halt: () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]),
    resume: start,
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
