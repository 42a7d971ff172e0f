/**
 * `npm run bench:cluster`: Encrypt 64 B throughput with 1, 2 and 3 keyhold nodes on one
 * throw-away PostgreSQL, the 32 connections spread over the nodes, and `--workers 2` on SQLite
 * for comparison. Reports how it scales on this machine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess } from "node:child_process";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { startPostgres } from "../test/postgres.js";
import { runLoad } from "./load.js";
import { ACCESS_KEY_ID, SECRET, signedBytes, start } from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

async function measure(ports: number[]): Promise<{ rps: number; p99: number }> {
  const kms = new KMSClient({
    endpoint: `http://127.0.0.1:${ports[0]}`,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
  });
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  kms.destroy();
  const body = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(64, 7).toString("base64") });
  const requests = await Promise.all(ports.map((p) => signedBytes(p, "Encrypt", body)));
  const per = Math.max(1, Math.floor(CONNECTIONS / ports.length));
  await Promise.all(ports.map((p, i) => runLoad("127.0.0.1", p, requests[i]!, per, Math.min(1, SECONDS))));
  const results = await Promise.all(ports.map((p, i) => runLoad("127.0.0.1", p, requests[i]!, per, SECONDS)));
  return { rps: results.reduce((n, r) => n + r.rps, 0), p99: Math.max(...results.map((r) => r.p99ms)) };
}

async function main(): Promise<void> {
  const env = { KEYHOLD_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID, KEYHOLD_ROOT_SECRET_ACCESS_KEY: SECRET };
  const ready = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
  process.stdout.write(`Encrypt 64 B, ${CONNECTIONS} connections spread over the nodes, ${SECONDS} s, ${availableParallelism()} cores\n\n`);
  process.stdout.write("| layout | req/s | p99 ms |\n|---|--:|--:|\n");
  const dir = mkdtempSync(join(tmpdir(), "keyhold-bench-cluster-"));
  const pg = await startPostgres();
  try {
    for (const n of [1, 2, 3]) {
      const db = `${pg.url.replace(/\/postgres$/, "")}/postgres`;
      const children: ChildProcess[] = [];
      const ports: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = await start(
          MAIN,
          ["server", "--port", "0", "--data-dir", join(dir, `n${n}-${i}`)],
          {
            ...env,
            KEYHOLD_DATABASE_URL: db,
            KEYHOLD_MASTER_KEY_FILE: join(dir, "master.key"),
          },
          ready,
        );
        children.push(s.child);
        ports.push(s.port);
      }
      const r = await measure(ports);
      process.stdout.write(`| ${n} node${n > 1 ? "s" : ""} on PostgreSQL | ${r.rps.toFixed(0)} | ${r.p99.toFixed(2)} |\n`);
      for (const c of children) c.kill("SIGTERM");
      await new Promise((res) => setTimeout(res, 500));
    }
    const w = await start(MAIN, ["server", "--port", "0", "--data-dir", join(dir, "workers"), "--workers", "2"], env, ready);
    const r = await measure([w.port]);
    process.stdout.write(`| --workers 2 on SQLite | ${r.rps.toFixed(0)} | ${r.p99.toFixed(2)} |\n`);
    w.child.kill("SIGTERM");
  } finally {
    pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
