/**
 * `npm run bench:cpu [-- <server flags>]`: where the CPU goes. Encrypt 64 B at BENCH_CONNECTIONS
 * (default 32) for BENCH_SECONDS (default 5) against a keyhold server started with the given
 * flags (`--workers 2`, `--audit-sync periodic`, …; without flags, the defaults: one worker per
 * core and `--audit-sync periodic`), then the CPU time each thread of the server
 * and the load generator spent per request served (all requests, whichever worker served them),
 * from /proc/<pid>/task/<tid>/stat (Linux), and how idle the machine was. Threads are named as
 * the kernel knows them ("node" for a process's main thread and its writer, "V8 …" helpers under
 * newer Node versions); the main thread's id is its process id.
 */
import { readdirSync, readFileSync } from "node:fs";
import { runLoad } from "./load.js";
import { encryptBody, runBench, signedBytes, startKeyhold } from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** The kernel's clock ticks per second for /proc times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** utime + stime, in seconds, of each thread of a process: `tid (name)` → seconds. */
function threadTimes(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(`${pid}/${tid} (${name})`, (Number(fields[11]) + Number(fields[12])) / TICKS);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** The process and its children (a `--workers` primary forks its workers). */
function processTree(root: number): number[] {
  const pids = [root];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === root) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

function machineIdle(): { idle: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.split(/\s+/).slice(1).map(Number);
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((a, b) => a + b, 0) };
}

async function main(): Promise<void> {
  const flags = process.argv.slice(2);
  const server = await startKeyhold(flags);
  try {
    const request = await signedBytes(server.port, "Encrypt", await encryptBody(server.port));
    await runLoad("127.0.0.1", server.port, request, CONNECTIONS, 1); // warm-up
    const pids = processTree(server.child.pid!);
    const before = new Map(pids.flatMap((p) => [...threadTimes(p)]));
    const self0 = process.cpuUsage();
    const idle0 = machineIdle();
    const load = await runLoad("127.0.0.1", server.port, request, CONNECTIONS, SECONDS);
    const after = new Map(pids.flatMap((p) => [...threadTimes(p)]));
    const self = process.cpuUsage(self0);
    const idle1 = machineIdle();
    const perRequest = (seconds: number) => ((seconds / load.requests) * 1e6).toFixed(1).padStart(7);
    process.stdout.write(
      `Encrypt 64 B, keyhold ${flags.join(" ") || "(one process)"}: ${load.rps.toFixed(0)} requests/s, ` +
        `machine ${((100 * (idle1.idle - idle0.idle)) / (idle1.total - idle0.total)).toFixed(0)}% idle\n\n` +
        "| thread | µs per request |\n|---|--:|\n",
    );
    let total = 0;
    for (const [thread, seconds] of after) {
      const spent = seconds - (before.get(thread) ?? 0);
      total += spent;
      if (spent / load.requests >= 1e-6) process.stdout.write(`| ${thread} | ${perRequest(spent)} |\n`);
    }
    process.stdout.write(`| keyhold, all threads | ${perRequest(total)} |\n`);
    process.stdout.write(`| load generator (this process) | ${perRequest((self.user + self.system) / 1e6)} |\n`);
  } finally {
    await server.stop();
  }
}

runBench(main);
