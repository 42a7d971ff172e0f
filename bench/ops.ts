/**
 * `npm run bench:ops`: what operating keyhold costs. Encrypt (64 bytes) against two keyhold
 * servers in the same run, in alternating slices, each in the default layout (a worker per core):
 * one bare (no metrics listener, request log off
 * with --log-level error), one with the metrics listener and the JSON request log on (written to a
 * file, as a log collector would read it). Prints requests/s, p50, p99 and the ratio on/off.
 *
 * First, in process, the request logger alone: 100,000 request lines to a file, as keyhold writes
 * them (built field by field, gathered and written every 25 ms or 64 KiB) and as a
 * logger that stringifies an object and writes each line on its own would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { chooseLoadRunner, compareLoads, type LoadResult } from "./load.js";
import { cpuSeconds, encryptBody, KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, runBench, signedBytes, startKeyhold } from "./servers.js";
import { createLogger, type RequestLogEntry } from "../src/log.js";
import { Metrics } from "../src/metrics/metrics.js";
import { requestLogEntry } from "../src/http/request-log.js";
import type { AnsweredCall } from "../src/http/dispatch.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const LINES = 100_000;

function entry(i: number): RequestLogEntry {
  return {
    time: Date.now(),
    requestId: `8f7a1c2e-4b3d-4e5f-9a8b-${String(i).padStart(12, "0")}`,
    service: "kms",
    operation: "Encrypt",
    status: 200,
    latencyMs: 0.412,
    callerArn: "arn:aws:iam::000000000000:user/bench-app",
    accessKeyId: "AKIABENCHKEYHOLD0001",
    sourceIp: "127.0.0.1",
    bytesIn: 140,
    bytesOut: 310,
  };
}

/** CPU nanoseconds per line of writing LINES request lines to a file, and the file's size. */
async function loggerCost(kind: "keyhold" | "stringify-per-line"): Promise<{ nsPerLine: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), "keyhold-bench-log-"));
  const file = join(dir, "log");
  const fd = openSync(file, "w");
  try {
    const started = process.cpuUsage();
    if (kind === "keyhold") {
      const log = createLogger({ format: "json", level: "info", write: (t) => writeSync(fd, t) });
      // As in the server: a few requests answered per turn of the event loop (32 connections).
      for (let i = 0; i < LINES; i++) {
        log.request!(entry(i));
        if (i % 32 === 31) await new Promise((r) => setImmediate(r));
      }
      log.flush!();
    } else {
      for (let i = 0; i < LINES; i++) {
        const e = entry(i);
        writeSync(fd, JSON.stringify({ level: "info", ...e, time: new Date(e.time).toISOString(), msg: "request" }) + "\n");
        if (i % 32 === 31) await new Promise((r) => setImmediate(r));
      }
    }
    const used = process.cpuUsage(started);
    return { nsPerLine: ((used.user + used.system) * 1000) / LINES, bytes: readFileSync(file).length };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU microseconds per request of what the dispatcher's hook does with metrics and the request log on:
 * the metrics' count and latency observation, the log line built and gathered, its share of a
 * write per turn (32 requests a turn), to a file.
 */
async function hookCost(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "keyhold-bench-log-"));
  const fd = openSync(join(dir, "log"), "w");
  try {
    const zero = { capacity: 1, size: 0, hits: 0, misses: 0, evictions: 0 };
    const metrics = new Metrics({
      inFlight: () => 0,
      auditQueueDepth: () => 0,
      lastDigest: () => undefined,
      digests: false,
      now: () => Date.now(),
      caches: () => ({ keys: zero }),
      invalidationsReceived: () => 0,
      kmsScheduler: () => ({ runs: 0, deletions: 0, rotations: 0, expiredMaterial: 0 }),
      secretsScheduler: () => ({ runs: 0, purges: 0 }),
    });
    const log = createLogger({ format: "json", level: "info", write: (t) => writeSync(fd, t) });
    const call = {
      request: { method: "POST", rawPath: "/", rawQuery: "", headers: {}, body: Buffer.alloc(140), sourceIp: "127.0.0.1", secure: false },
      completed: {
        requestId: "8f7a1c2e-4b3d-4e5f-9a8b-000000000000",
        time: Date.now(),
        service: "kms",
        operation: "Encrypt",
        readOnly: false,
        sourceIp: "127.0.0.1",
        caller: {
          accountId: "000000000000",
          accessKeyId: "AKIABENCHKEYHOLD0001",
          principal: { arn: "arn:aws:iam::000000000000:user/bench-app" },
        },
        trail: { resources: [] },
      },
      served: true,
      reply: { status: 200, headers: {}, body: Buffer.alloc(310) },
      seconds: 0.0004,
    } as unknown as AnsweredCall;
    const started = process.cpuUsage();
    for (let i = 0; i < LINES; i++) {
      metrics.answered(call);
      log.request!(requestLogEntry(call));
      if (i % 32 === 31) await new Promise((r) => setImmediate(r));
    }
    log.flush!();
    const used = process.cpuUsage(started);
    return (used.user + used.system) / LINES;
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** keyhold with the metrics listener and the JSON request log, its stderr (the log) going to a file. */
async function startObserved(): Promise<{ child: ChildProcess; port: number; logFile: string; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "keyhold-bench-"));
  const logFile = join(dataDir, "stderr.log");
  const logFd = openSync(logFile, "w");
  const child = spawn(
    process.execPath,
    [KEYHOLD_MAIN, "server", "--port", "0", "--data-dir", dataDir, "--metrics-port", "0", "--log-format", "json", "--log-level", "info"],
    { env: { PATH: process.env.PATH ?? "", ...ROOT_ENV }, stdio: ["ignore", "pipe", logFd] },
  );
  closeSync(logFd);
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = KEYHOLD_READY.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`keyhold exited with ${code}: ${out}`)));
  });
  return {
    child,
    port,
    logFile,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function row(name: string, r: LoadResult): string {
  return `| ${name.padEnd(34)} | ${r.rps.toFixed(0).padStart(7)} | ${r.p50ms.toFixed(2).padStart(6)} | ${r.p99ms.toFixed(2).padStart(6)} | ${String(r.errors).padStart(6)} |`;
}

runBench(async () => {
  const own = await loggerCost("keyhold");
  const naive = await loggerCost("stringify-per-line");
  process.stdout.write(
    `request logger, ${LINES} lines to a file: keyhold ${(own.nsPerLine / 1000).toFixed(2)} µs/line (${own.bytes} bytes); ` +
      `JSON.stringify + a write per line ${(naive.nsPerLine / 1000).toFixed(2)} µs/line (${naive.bytes} bytes)\n`,
  );

  process.stdout.write(`metrics + request log per request, in process (32 a turn, to a file): ${(await hookCost()).toFixed(2)} µs\n`);

  const loader = chooseLoadRunner();
  const bare = await startKeyhold(["--log-level", "error"]);
  const observed = await startObserved();
  try {
    const requests = [];
    for (const server of [bare, observed])
      requests.push({ port: server.port, request: await signedBytes(server.port, "Encrypt", await encryptBody(server.port)) });
    const cpuBefore = [cpuSeconds(bare.child.pid!), cpuSeconds(observed.child.pid!)];
    const [off, on] = await compareLoads(requests, CONNECTIONS, SECONDS, 10, loader.run);
    const cpu = [cpuSeconds(bare.child.pid!) - cpuBefore[0]!, cpuSeconds(observed.child.pid!) - cpuBefore[1]!];
    process.stdout.write(
      `\nEncrypt 64 B, ${CONNECTIONS} connections, ${SECONDS} s each in 10 alternating slices, load from ${loader.name}\n\n`,
    );
    // Both in the default layout: a worker per core (src/config.ts).
    const layout = `keyhold (${availableParallelism()} workers)`.padEnd(34);
    process.stdout.write(`| ${layout} | req/s   | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n`);
    process.stdout.write(`${row("metrics and request log off", off!)}\n${row("metrics listener + JSON request log", on!)}\n`);
    process.stdout.write(`\nratio on/off: ${(on!.rps / off!.rps).toFixed(3)}\n`);
    // CPU per request depends less on what else the machine runs than requests per second do.
    const perRequest = [(cpu[0]! / off!.requests) * 1e6, (cpu[1]! / on!.requests) * 1e6];
    process.stdout.write(
      `server CPU per request: off ${perRequest[0]!.toFixed(0)} µs, on ${perRequest[1]!.toFixed(0)} µs (ratio off/on ${(perRequest[0]! / perRequest[1]!).toFixed(3)})\n`,
    );
    // The log file holds a line per request answered (plus the start-up lines).
    await new Promise((r) => setTimeout(r, 200));
    const lines = readFileSync(observed.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes('"msg":"request"')).length;
    process.stdout.write(`request lines written: ${lines} for ${on!.requests} requests measured (and the warm-up)\n`);
  } finally {
    await bare.stop();
    await observed.stop();
  }
});
