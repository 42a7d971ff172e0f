/**
 * Load generators: `connections` keep-alive sockets, each sending one pre-built HTTP/1.1 request,
 * waiting for the whole response, and sending the next, for a fixed time. Requests are bytes
 * prepared in advance, so generating load costs little CPU and costs the same for every server
 * measured.
 *
 * Two generators do this: wrk (https://github.com/wg/wrk, a C program, one thread) when it is
 * installed, and runLoad here in Node otherwise. On a machine whose cores are all in use (keyhold
 * with --workers), the generator's own CPU is taken from the server: wrk needs about 25 µs per
 * request on a 2-core VM where runLoad needs about 45 µs.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /**
   * The latencies (ms), sorted: what merging slices needs. From wrk, its latency histogram, which
   * wrk corrects for coordinated omission by adding samples for the requests a slow reply held
   * back: it holds more entries than requests were answered, so `requests` is counted apart.
   */
  latencies: number[];
}

function summary(latencies: number[], errors: number, seconds: number, requests = latencies.length): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { requests, errors, seconds, rps: requests / seconds, p50ms: pct(0.5), p99ms: pct(0.99), latencies };
}

/** Several measurements of one server taken as one: total requests over total time. */
export function mergeLoads(results: readonly LoadResult[]): LoadResult {
  return summary(
    results.flatMap((r) => r.latencies),
    results.reduce((n, r) => n + r.errors, 0),
    results.reduce((n, r) => n + r.seconds, 0),
    results.reduce((n, r) => n + r.requests, 0),
  );
}

/** The pause between two slices of compareLoads. */
const QUIET_MS = 300;

/**
 * Measures servers in alternating slices (a, b, c, a, b, c, …) of `seconds / slices` each, and
 * merges each one's slices. A machine whose speed drifts (a shared virtual machine) then slows
 * every side alike, and their ratios hold still where back-to-back runs would not.
 */

export async function compareLoads(
  targets: readonly { port: number; request: Buffer }[],
  connections: number,
  seconds: number,
  slices = 5,
  run: LoadRunner = runLoad,
): Promise<LoadResult[]> {
  const runs: LoadResult[][] = targets.map(() => []);
  for (let i = 0; i < slices; i++) {
    for (const [t, target] of targets.entries()) {
      // A server just measured keeps working for a moment (its audit checkpoint every 100 ms, its
      // garbage collection): let that end before the next one's slice, which it would slow.
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      runs[t]!.push(await run("127.0.0.1", target.port, target.request, connections, seconds / slices));
    }
  }
  return runs.map(mergeLoads);
}

export type LoadRunner = (host: string, port: number, request: Buffer, connections: number, seconds: number) => Promise<LoadResult>;

/**
 * The generator to measure with: wrk when it is on the PATH (installed first when running as root
 * on Debian, as the test set-up installs what it needs), else runLoad. BENCH_CLIENT=node forces runLoad.
 */
export function chooseLoadRunner(): { name: string; run: LoadRunner } {
  const node = { name: "node (bench/load.ts)", run: runLoad };
  if (process.env.BENCH_CLIENT === "node") return node;
  const has = () => spawnSync("wrk", ["--version"]).error === undefined;
  if (!has() && process.getuid?.() === 0) {
    process.stdout.write("wrk is not installed: apt-get install wrk\n");
    spawnSync("apt-get", ["install", "-y", "-q", "wrk"], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  if (has()) return { name: "wrk, one thread", run: runWrk };
  process.stdout.write("wrk is not available; measuring with the Node load generator, which takes more of the machine's CPU\n");
  return node;
}

/** wrk's script: sends the request file (its argument) over and over, and prints the count, errors and latency histogram. */
const WRK_SCRIPT = `
local raw
init = function(args) local f = assert(io.open(args[1], "rb")); raw = f:read("*a"); f:close() end
request = function() return raw end
done = function(summary, latency, requests)
  local e = summary.errors
  local parts = {}
  for i = 1, #latency do local v, c = latency(i); parts[#parts + 1] = v .. ":" .. c end
  io.write(string.format("KEYHOLD_WRK %d %d %d %d %s\\n", summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, table.concat(parts, ",")))
end
`;

let wrkDir: string | undefined;
const requestFiles = new WeakMap<Buffer, string>();

export async function runWrk(host: string, port: number, request: Buffer, connections: number, seconds: number): Promise<LoadResult> {
  if (wrkDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "keyhold-wrk-"));
    writeFileSync(join(dir, "load.lua"), WRK_SCRIPT);
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    wrkDir = dir;
  }
  const script = join(wrkDir, "load.lua");
  let file = requestFiles.get(request);
  if (!file) {
    file = join(wrkDir, `request-${port}-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, request);
    requestFiles.set(request, file);
  }
  const args = ["-t1", `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, "-s", script, `http://${host}:${port}/`, "--", file];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
  });
  const m = /KEYHOLD_WRK (\d+) (\d+) (\d+) (\d+) ?(\S*)/.exec(out);
  if (!m) throw new Error(`wrk printed no summary: ${out}`);
  const latencies: number[] = [];
  for (const pair of m[5] ? m[5].split(",") : []) {
    const [value, count] = pair.split(":").map(Number) as [number, number];
    for (let i = 0; i < count; i++) latencies.push(value / 1000);
  }
  if (Number(m[4]) > 0) process.stderr.write(`  ${m[4]} responses with an error status from port ${port}\n`);
  // Requests answered are wrk's count (summary.requests), not the histogram's entries: those include
  // the samples wrk's coordinated-omission correction adds for every reply slower than the mean
  // interval (from 2% to over 20% more entries than replies, the more the longer the server's
  // tail), which counted a server with a worse tail as a faster one.
  return summary(latencies, Number(m[3]) + Number(m[4]), Number(m[2]) / 1e6, Number(m[1]));
}

/** `request` is the bytes to send, or a function giving each request's bytes (bench/keys.ts: a random key per request). */
export async function runLoad(
  host: string,
  port: number,
  request: Buffer | (() => Buffer),
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let statusSample = "";
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket: Socket = connect({ host, port, noDelay: true });
          let buffer: Buffer = Buffer.alloc(0);
          let sentAt = 0;
          const sendOne = () => {
            if (performance.now() >= deadline) {
              socket.end();
              resolve();
              return;
            }
            sentAt = performance.now();
            socket.write(typeof request === "function" ? request() : request);
          };
          socket.on("connect", sendOne);
          socket.on("error", reject);
          socket.on("data", (chunk: Buffer) => {
            buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
            for (;;) {
              const headerEnd = buffer.indexOf("\r\n\r\n");
              if (headerEnd < 0) return;
              const head = buffer.subarray(0, headerEnd).toString("latin1");
              const m = /\r\ncontent-length: *(\d+)/i.exec(head);
              const length = m ? Number(m[1]) : 0;
              if (buffer.length < headerEnd + 4 + length) return;
              const status = head.slice(9, 12);
              if (status !== "200") {
                errors++;
                statusSample ||= buffer.subarray(0, headerEnd + 4 + length).toString("utf8");
              }
              buffer = buffer.subarray(headerEnd + 4 + length);
              latencies.push(performance.now() - sentAt);
              sendOne();
            }
          });
        }),
    ),
  );
  const elapsed = (performance.now() - start) / 1000;
  if (errors > 0) process.stderr.write(`  ${errors} non-200 responses, e.g.:\n${statusSample}\n`);
  return summary(latencies, errors, elapsed);
}
