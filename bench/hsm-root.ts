/**
 * `npm run bench:hsm`: the whole server with its root of trust in a PKCS#11 token (SoftHSM2)
 * against the same server with a master key file, Encrypt of 64 bytes, measured in alternating
 * slices in the same run, with a bare node:http server as the usual yardstick. The token unseals
 * the root key at start and is not used per request, so the goal is a ratio of at least 0.95.
 * Needs softhsm2-util (Debian softhsm2). BENCH_SECONDS (default 10), BENCH_CONNECTIONS (32),
 * BENCH_WORKERS (1).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chooseLoadRunner, compareLoads, type LoadResult } from "./load.js";
import { KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, encryptBody, runBench, signedBytes, start } from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WORKERS = process.env.BENCH_WORKERS ?? "1";
const MODULE = "/usr/lib/softhsm/libsofthsm2.so";

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "keyhold-bench-hsm-"));
  const children: { kill(signal?: NodeJS.Signals): boolean }[] = [];
  try {
    mkdirSync(join(dir, "tokens"));
    const conf = join(dir, "softhsm2.conf");
    writeFileSync(conf, `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const init = spawnSync(
      "softhsm2-util",
      ["--init-token", "--free", "--label", "bench", "--so-pin", "so-bench-1", "--pin", "bench-pin"],
      {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        encoding: "utf8",
      },
    );
    if (init.status !== 0) throw new Error(`softhsm2-util failed (is Debian's softhsm2 installed?): ${init.stderr}`);
    writeFileSync(join(dir, "pin"), "bench-pin\n", { mode: 0o600 });
    const flags = (data: string) => ["server", "--port", "0", "--data-dir", join(dir, data), "--workers", WORKERS];
    const file = await start(KEYHOLD_MAIN, flags("file"), ROOT_ENV, KEYHOLD_READY);
    children.push(file.child);
    const hsmEnv = {
      ...ROOT_ENV,
      SOFTHSM2_CONF: conf,
      KEYHOLD_HSM_MODULE: MODULE,
      KEYHOLD_HSM_TOKEN_LABEL: "bench",
      KEYHOLD_HSM_PIN_FILE: join(dir, "pin"),
    };
    const hsm = await start(KEYHOLD_MAIN, flags("hsm"), hsmEnv, KEYHOLD_READY);
    children.push(hsm.child);
    const bare = await start(fileURLToPath(new URL("./bare-server.js", import.meta.url)), [], {}, /bare listening on (\d+)/);
    children.push(bare.child);
    const targets = await Promise.all(
      [file.port, hsm.port, bare.port].map(async (port) => ({
        port,
        request: await signedBytes(port, "Encrypt", port === bare.port ? await encryptBody(file.port) : await encryptBody(port)),
      })),
    );
    const client = chooseLoadRunner();
    for (const t of targets) await client.run("127.0.0.1", t.port, t.request, CONNECTIONS, 3);
    const [f, h, b] = await compareLoads(targets, CONNECTIONS, SECONDS, Math.max(2, Math.round(SECONDS)), client.run);
    for (const [name, r] of [
      ["master key file", f],
      ["SoftHSM2 root", h],
    ] as const) {
      if (r!.errors > 0) throw new Error(`${name}: ${r!.errors} requests answered with an error`);
    }
    const row = (name: string, r: LoadResult) =>
      `| ${name.padEnd(26)} | ${r.rps.toFixed(0).padStart(6)} | ${r.p50ms.toFixed(2).padStart(6)} | ${r.p99ms.toFixed(2).padStart(6)} | ${(r.rps / b!.rps).toFixed(2).padStart(5)} |`;
    process.stdout.write(
      `Encrypt 64 B, --workers ${WORKERS}, ${CONNECTIONS} connections, ${SECONDS} s each in alternating slices, load from ${client.name}\n\n`,
    );
    process.stdout.write("| root of trust              |  req/s | p50 ms | p99 ms | /bare |\n|---|--:|--:|--:|--:|\n");
    process.stdout.write(row("master key file", f!) + "\n" + row("SoftHSM2 token (PKCS#11)", h!) + "\n" + row("bare node:http", b!) + "\n");
    process.stdout.write(`\nHSM root / master key file: ${(h!.rps / f!.rps).toFixed(3)} (goal >= 0.95)\n`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
