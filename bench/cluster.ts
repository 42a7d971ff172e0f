/**
 * `npm run bench:cluster`: Encrypt 64 B throughput with 1, 2 and 3 keyhold nodes (one process
 * each) on one throw-away PostgreSQL, the 32 connections spread over the nodes, and for comparison
 * one process and `--workers <cores>` on SQLite with the audit synced as PostgreSQL's commit is
 * (`--audit-sync commit`: on disk before the response). Reports how it scales on this machine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { startPostgres } from "../test/postgres.js";
import { runLoad } from "./load.js";
import { encryptBody, KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, runBench, signedBytes, start } from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

async function measure(ports: number[]): Promise<{ rps: number; p99: number }> {
  const body = await encryptBody(ports[0]!);
  const requests = await Promise.all(ports.map((p) => signedBytes(p, "Encrypt", body)));
  const per = Math.max(1, Math.floor(CONNECTIONS / ports.length));
  await Promise.all(ports.map((p, i) => runLoad("127.0.0.1", p, requests[i]!, per, Math.min(1, SECONDS))));
  const results = await Promise.all(ports.map((p, i) => runLoad("127.0.0.1", p, requests[i]!, per, SECONDS)));
  return { rps: results.reduce((n, r) => n + r.rps, 0), p99: Math.max(...results.map((r) => r.p99ms)) };
}

async function main(): Promise<void> {
  process.stdout.write(`Encrypt 64 B, ${CONNECTIONS} connections spread over the nodes, ${SECONDS} s, ${availableParallelism()} cores\n\n`);
  const rows: [string, number, number][] = [];
  const dir = mkdtempSync(join(tmpdir(), "keyhold-bench-cluster-"));
  const pg = await startPostgres();
  try {
    for (const n of [1, 2, 3]) {
      const db = `${pg.url.replace(/\/postgres$/, "")}/postgres`;
      const children: ChildProcess[] = [];
      const ports: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = await start(
          KEYHOLD_MAIN,
          ["server", "--port", "0", "--data-dir", join(dir, `n${n}-${i}`), "--workers", "1"],
          {
            ...ROOT_ENV,
            KEYHOLD_DATABASE_URL: db,
            KEYHOLD_MASTER_KEY_FILE: join(dir, "master.key"),
          },
          KEYHOLD_READY,
        );
        children.push(s.child);
        ports.push(s.port);
      }
      const r = await measure(ports);
      rows.push([`${n} node${n > 1 ? "s" : ""} on PostgreSQL`, r.rps, r.p99]);
      for (const c of children) c.kill("SIGTERM");
      await new Promise((res) => setTimeout(res, 500));
    }
    for (const workers of [1, availableParallelism()]) {
      const w = await start(
        KEYHOLD_MAIN,
        ["server", "--port", "0", "--data-dir", join(dir, `sqlite-${workers}`), "--workers", String(workers), "--audit-sync", "commit"],
        ROOT_ENV,
        KEYHOLD_READY,
      );
      const r = await measure([w.port]);
      rows.push([workers === 1 ? "1 process on SQLite" : `--workers ${workers} on SQLite`, r.rps, r.p99]);
      w.child.kill("SIGTERM");
      await new Promise((res) => setTimeout(res, 500));
    }
    // The rows once all are measured: the server logs of the starts would cut the table.
    const sqlite = rows.find((r) => r[0] === "1 process on SQLite")![1];
    process.stdout.write("\n| layout | req/s | p99 ms | / 1 process on SQLite |\n|---|--:|--:|--:|\n");
    for (const [name, rps, p99] of rows)
      process.stdout.write(`| ${name} | ${rps.toFixed(0)} | ${p99.toFixed(2)} | ${(rps / sqlite).toFixed(2)} |\n`);
  } finally {
    pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
