/**
 * `npm run bench:scale`: LookupEvents, a concurrent Encrypt, and `keyhold audit export` / `audit
 * verify` against audit trails of BENCH_SCALE_EVENTS events (default "100000,1000000"; a list).
 *
 * For each size: a keyhold server initializes a data directory and stops; the trail is then
 * written straight through the chain writer keyhold uses (SqliteAuditStore, its segments and its
 * index), in batches, as another chain of that directory (bench/trail.ts: three accounts, root,
 * users and role sessions, mostly KMS calls over 2,000 keys per account), ending now; the server
 * starts again on it. In process first: the store's lookups through its lookup thread, the scan
 * each was before the index (for comparison), and the event loop's longest delay while four
 * lookups run (and the CPU per lookup, which a loaded machine's waiting does not inflate), and
 * GetKeyLastUsage's read of the trail. Then over the SDK:
 * - LookupEvents p50/p99 for a rare attribute (an EventId, a rare EventName, one key's
 *   ResourceName) and a common one (a Username), and for a one-hour time window (first page);
 * - Encrypt p99 (4 connections) alone, then while four clients (a process of their own, at nice 10)
 *   run lookups back to back;
 * - after the server stops, `keyhold audit export` and `keyhold audit verify`: time and peak RSS
 *   (/usr/bin/time's maximum resident set size).
 * BENCH_SECONDS (default 4) is each Encrypt measurement's length; BENCH_LOOKUPS (default 40) the
 * lookups timed per query. BENCH_SCALE_DIR keeps the trails to run again on them (a 10M-event trail
 * is ~12 GB and half an hour to generate on a loaded 2-core machine); BENCH_SCALE_SKIP leaves out
 * phases (below).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { constants, setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from "@aws-sdk/client-cloudtrail";
import Database from "better-sqlite3";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { lookupChain, runToEnd } from "../src/audit/queries.js";
import { segmentDir } from "../src/audit/segments.js";
import type { LookupQuery } from "../src/audit/store.js";
import type { AuditEvent } from "../src/audit/record.js";
import { runLoad } from "./load.js";
import { ACCESS_KEY_ID, KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, SECRET, encryptBody, runBench, signedBytes, start } from "./servers.js";
import { trailEvent, type TrailShape } from "./trail.js";

const SIZES = (process.env.BENCH_SCALE_EVENTS ?? "100000,1000000").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 40);
/** Runs of each scan timed for comparison (each reads up to the whole trail). */
const SCANS = Number(process.env.BENCH_SCANS ?? 3);
const ACCOUNT = "000000000000";
const STEP_MS = 40;
const LOOKUP_CLIENTS = fileURLToPath(new URL("./lookup-clients.js", import.meta.url));
const BATCH = 256;
/**
 * BENCH_SCALE_DIR: keep each size's trail in <dir>/<events> and reuse it on the next run (its
 * landmarks in landmarks.json), where by default each trail is generated in a temporary directory
 * and deleted. BENCH_SCALE_SKIP: a list of phases to leave out ("inprocess", "scan", "sdk", "export").
 */
const KEEP_DIR = process.env.BENCH_SCALE_DIR;
const SKIP = new Set((process.env.BENCH_SCALE_SKIP ?? "").split(",").filter(Boolean));

function log(line: string): void {
  process.stdout.write(line + "\n");
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** What the generated trail holds that the lookups ask for. */
interface Landmarks {
  eventId: string;
  keyArn: string;
  start: number;
  end: number;
}

async function generate(dataDir: string, events: number): Promise<{ landmarks: Landmarks; seconds: number }> {
  const end = Date.now() - 60_000;
  const shape: TrailShape = {
    accounts: [ACCOUNT, "111122223333", "444455556666"],
    users: 30,
    keys: 2000,
    start: end - events * STEP_MS,
    stepMs: STEP_MS,
  };
  let s = 42;
  const pick = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const store = new SqliteAuditStore(dataDir, "bench", "periodic");
  await store.start(shape.start);
  const began = performance.now();
  let eventId = "";
  let keyArn = "";
  for (let n = 0; n < events;) {
    const batch: AuditEvent[] = [];
    for (let i = 0; i < BATCH && n < events; i++, n++) {
      const e = trailEvent(shape, n, pick);
      // Landmarks a third of the way back from the end, in the account the server's root is.
      if (!eventId && n >= (events * 2) / 3 && e.accountId === ACCOUNT && e.resources[0]?.type === "AWS::KMS::Key") {
        eventId = e.eventId;
        keyArn = e.resources[0].arn;
      }
      batch.push(e);
    }
    await store.append(batch);
    // Lets the writer's 100 ms timer save the index as the server's would.
    if (n % (BATCH * 16) === 0) await new Promise((r) => setImmediate(r));
    if (n % 1_000_000 === 0) log(`  generated ${n} events`);
  }
  await store.close();
  // Ten minutes a third of the way into the trail: most of the trail is newer (100k events span 67 minutes).
  const from = shape.start + Math.floor((events * STEP_MS) / 3);
  return { landmarks: { eventId, keyArn, start: from, end: from + 600_000 }, seconds: (performance.now() - began) / 1000 };
}

/** The lookups the SDK makes below, as the store receives them. */
function storeQueries(l: Landmarks): [string, LookupQuery][] {
  const q = (attribute?: LookupQuery["attribute"], more: Partial<LookupQuery> = {}): LookupQuery => ({
    accountId: ACCOUNT,
    region: "us-east-1",
    attribute,
    limit: 50,
    ...more,
  });
  return [
    ["EventId (one event)", q({ key: "EventId", value: l.eventId })],
    ["EventName ScheduleKeyDeletion (rare)", q({ key: "EventName", value: "ScheduleKeyDeletion" })],
    ["ResourceName (one key of 2,000)", q({ key: "ResourceName", value: l.keyArn })],
    ["Username app-7 (common)", q({ key: "Username", value: "app-7" })],
    ["time window, 10 min a third in", q(undefined, { startTime: l.start, endTime: l.end })],
    ["none (newest 50)", q()],
  ];
}

/**
 * The store's own lookups, without HTTP: through the lookup thread, then the scan every lookup
 * was before the index (the same code with the index emptied, on a copy of the chain's SQLite
 * file, on this thread; three runs each). Also the event loop's longest delay while four lookups
 * run at once, against the same measurement with none.
 */
async function inProcess(dataDir: string, landmarks: Landmarks): Promise<void> {
  const reader = new SqliteAuditStore(dataDir);
  const copy = join(dataDir, "scan-copy.db");
  const scanning = !SKIP.has("scan");
  if (scanning) copyFileSync(join(dataDir, "audit", "chain-bench.db"), copy);
  const scanDb = scanning ? new Database(copy) : undefined;
  scanDb?.exec("DELETE FROM audit_blocks; UPDATE audit_meta SET value = '0' WHERE key = 'indexed_seq'");
  const dir = segmentDir(dataDir, "bench");
  try {
    log("In process (`SqliteAuditStore.lookup`, lookup thread) and, for comparison, the scan that was every lookup before:\n");
    log(`| lookup | found | index p50 ms | index p99 ms | CPU ms per lookup | scan ms (median of ${SCANS}) |`);
    log("|---|---:|---:|---:|---:|---:|");
    await reader.lookup({ accountId: ACCOUNT, region: "us-east-1", limit: 1 });
    for (const [name, q] of storeQueries(landmarks)) {
      const times: number[] = [];
      let found = 0;
      // The process's CPU (both threads: the lookup thread's work, and the event loop's handing
      // over), which does not count the time a loaded machine keeps the thread waiting.
      const cpu = process.cpuUsage();
      for (let i = 0; i < LOOKUPS; i++) {
        const t = performance.now();
        found = (await reader.lookup(q)).events.length;
        times.push(performance.now() - t);
      }
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000 / LOOKUPS;
      times.sort((a, b) => a - b);
      const scans: number[] = [];
      for (let i = 0; scanDb && i < SCANS; i++) {
        const t = performance.now();
        runToEnd(lookupChain(dir, "bench", scanDb, q));
        scans.push(performance.now() - t);
      }
      scans.sort((a, b) => a - b);
      log(
        `| ${name} | ${found} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 99).toFixed(1)} | ${cpuMs.toFixed(1)} | ${scans.length ? percentile(scans, 50).toFixed(0) : "-"} |`,
      );
    }
    // GetKeyLastUsage's read: the records after the index, the newest block posted for the key's uses.
    log("\nGetKeyLastUsage's read (`SqliteAuditStore.lastUse`, lookup thread):\n");
    log("| key | found | p50 ms | p99 ms |");
    log("|---|---|---:|---:|");
    const unused = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`;
    for (const [name, arn] of [
      ["one key of 2,000", landmarks.keyArn],
      ["a key never used", unused],
    ] as const) {
      const times: number[] = [];
      let found: string | undefined;
      for (let i = 0; i < LOOKUPS; i++) {
        const t = performance.now();
        found = (await reader.lastUse(arn))?.eventName;
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      log(`| ${name} | ${found ?? "none"} | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} |`);
    }
    const delay = async (busy: boolean): Promise<number> => {
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      const until = performance.now() + 2000;
      const queries = storeQueries(landmarks).map((x) => x[1]);
      if (busy) {
        await Promise.all(
          [0, 1, 2, 3].map(async (i) => {
            for (let n = i; performance.now() < until; n++) await reader.lookup(queries[n % queries.length]!);
          }),
        );
      } else await new Promise((r) => setTimeout(r, 2000));
      h.disable();
      return h.max / 1e6;
    };
    const idle = await delay(false);
    const busy = await delay(true);
    log(`\nEvent loop delay, longest in 2 s: idle ${idle.toFixed(1)} ms, with four lookups running back to back ${busy.toFixed(1)} ms.\n`);
  } finally {
    scanDb?.close();
    rmSync(copy, { force: true });
    await reader.close();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function timeLookups(
  client: CloudTrailClient,
  input: LookupEventsCommandInput,
): Promise<{ p50: number; p99: number; found: number }> {
  const times: number[] = [];
  let found = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const t = performance.now();
    const out = await client.send(new LookupEventsCommand(input));
    times.push(performance.now() - t);
    found = out.Events?.length ?? 0;
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), found };
}

/** Runs a command under /usr/bin/time: seconds and peak RSS in MB. */
async function measured(args: string[]): Promise<{ seconds: number; rssMb: number; out: string }> {
  const child = spawn("/usr/bin/time", ["-f", "TIME %e %M", process.execPath, KEYHOLD_MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const m = /TIME ([\d.]+) (\d+)/.exec(err);
  if (code !== 0 || !m) throw new Error(`keyhold ${args.join(" ")} failed (${code}): ${err}${out}`);
  return { seconds: Number(m[1]), rssMb: Number(m[2]) / 1024, out: out.trim() };
}

async function overSdk(args: string[], landmarks: Landmarks): Promise<void> {
  const { child, port } = await start(KEYHOLD_MAIN, args, ROOT_ENV, KEYHOLD_READY);
  const client = new CloudTrailClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
  });
  try {
    const queries: [string, LookupEventsCommandInput][] = [
      ["EventId (one event)", { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: landmarks.eventId }] }],
      [
        "EventName ScheduleKeyDeletion (rare)",
        { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ScheduleKeyDeletion" }] },
      ],
      ["ResourceName (one key of 2,000)", { LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: landmarks.keyArn }] }],
      ["Username app-7 (common)", { LookupAttributes: [{ AttributeKey: "Username", AttributeValue: "app-7" }] }],
      ["time window, 10 min a third in", { StartTime: new Date(landmarks.start), EndTime: new Date(landmarks.end) }],
      ["none (newest 50)", {}],
    ];
    // The first lookup starts the server's lookup thread: not timed.
    await client.send(new LookupEventsCommand({ MaxResults: 1 }));
    log("| lookup | first page | p50 ms | p99 ms |");
    log("|---|---:|---:|---:|");
    for (const [name, input] of queries) {
      const r = await timeLookups(client, input);
      log(`| ${name} | ${r.found} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
    }

    const request = signedBytes(port, "Encrypt", await encryptBody(port));
    const alone = await runLoad("127.0.0.1", port, await request, 4, SECONDS);
    // The lookup clients start in their own process, then Encrypt is timed while they run.
    const lookers = spawn(process.execPath, [LOOKUP_CLIENTS, String(port), String(SECONDS + 2), JSON.stringify(queries.map((q) => q[1]))], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    // The clients stand for callers on other machines: at nice 10 their own work (signing, parsing
    // 70 KB answers) yields the shared cores to the server and to the Encrypt load.
    if (lookers.pid !== undefined) setPriority(lookers.pid, constants.priority.PRIORITY_BELOW_NORMAL);
    let printed = "";
    lookers.stdout.on("data", (d: Buffer) => (printed += d.toString()));
    const done = new Promise((r) => lookers.once("exit", r));
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = await runLoad("127.0.0.1", port, await request, 4, SECONDS);
    await done;
    const lookups = Number(printed.trim()) * (SECONDS / (SECONDS + 2));
    log(`\nEncrypt (4 connections): alone ${alone.rps.toFixed(0)} req/s, p99 ${alone.p99ms.toFixed(2)} ms;`);
    log(
      `with four lookup clients (${(lookups / SECONDS).toFixed(0)} lookups/s): ${loaded.rps.toFixed(0)} req/s, p99 ${loaded.p99ms.toFixed(2)} ms (+${(loaded.p99ms - alone.p99ms).toFixed(2)} ms)`,
    );
  } finally {
    client.destroy();
    await stop(child);
  }
}

async function measureSize(events: number): Promise<void> {
  const dataDir = KEEP_DIR ? join(KEEP_DIR, String(events)) : mkdtempSync(join(tmpdir(), "keyhold-scale-"));
  const exportDir = `${dataDir}-export`;
  const landmarksFile = join(dataDir, "landmarks.json");
  try {
    const args = ["server", "--port", "0", "--data-dir", dataDir];
    let landmarks: Landmarks;
    if (KEEP_DIR && existsSync(landmarksFile)) {
      landmarks = JSON.parse(readFileSync(landmarksFile, "utf8")) as Landmarks;
      log(`\n## ${events.toLocaleString("en")} events (the trail in ${dataDir}, generated before)\n`);
    } else {
      const free = statfsSync(KEEP_DIR ?? tmpdir());
      if (free.bavail * free.bsize < events * 2.5 * 1100)
        throw new Error(`not enough disk for ${events} events in ${KEEP_DIR ?? tmpdir()}`);
      if (KEEP_DIR) mkdirSync(dataDir, { recursive: true });
      await stop((await start(KEYHOLD_MAIN, args, ROOT_ENV, KEYHOLD_READY)).child);
      const generated = await generate(dataDir, events);
      landmarks = generated.landmarks;
      if (KEEP_DIR) writeFileSync(landmarksFile, JSON.stringify(landmarks));
      log(`\n## ${events.toLocaleString("en")} events (generated in ${generated.seconds.toFixed(1)} s)\n`);
    }

    if (!SKIP.has("inprocess")) await inProcess(dataDir, landmarks);

    if (!SKIP.has("sdk")) await overSdk(args, landmarks);

    if (SKIP.has("export")) return;
    const exported = await measured(["audit", "export", "--data-dir", dataDir, "--out", exportDir]);
    const verified = await measured(["audit", "verify", exportDir]);
    log(`\n| command | seconds | peak RSS MB | µs per event |`);
    log(`|---|---:|---:|---:|`);
    log(
      `| audit export | ${exported.seconds.toFixed(1)} | ${exported.rssMb.toFixed(0)} | ${((exported.seconds * 1e6) / events).toFixed(1)} |`,
    );
    log(
      `| audit verify | ${verified.seconds.toFixed(1)} | ${verified.rssMb.toFixed(0)} | ${((verified.seconds * 1e6) / events).toFixed(1)} |`,
    );
  } finally {
    if (!KEEP_DIR) rmSync(dataDir, { recursive: true, force: true });
    rmSync(exportDir, { recursive: true, force: true });
  }
}

runBench(async () => {
  log(`# bench:scale (${new Date().toISOString()})`);
  for (const events of SIZES) await measureSize(events);
});
