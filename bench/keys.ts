/**
 * `npm run bench:keys`: Encrypt 64 B with every request on a random key among N keys, against the
 * same server answering Encrypt on one hot key, in alternating slices of the same run, twice: cold
 * (after two seconds of random keys: at 100,000 keys most measured requests are a key's first use)
 * and warm (after one request on every key); and the server's resident memory after each. N is 1,000, 10,000 and 100,000
 * (BENCH_KEYS="1000,10000" for others).
 *
 * The keys are made in bulk before the server starts, through the repository and the key store
 * (material generated, wrapped under the root key, one SQLite transaction), not by N CreateKey
 * calls. The random-key requests are signed in advance, one per key, with the SigV4 signing key
 * derived once, so the load generator sends bytes as it does for the hot key.
 *
 * One server process (--workers 1), so its RSS is the memory the keys cost; other flags from
 * BENCH_FLAGS (such as "--audit-sync commit"). BENCH_PROFILE=<dir> writes the server's CPU profile there.
 * The server runs with keyhold's node flags (SERVER_NODE_FLAGS, see servers.ts start) and those in
 * BENCH_NODE_ARGS after them (such as "--max-semi-space-size=2", which then wins).
 */
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initializeDataDir } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { defaultKeyPolicy } from "../src/kms/policy.js";
import { materialContext } from "../src/kms/service.js";
import { SoftwareKeyStore } from "../src/keystore/software.js";
import { SqliteRepository } from "../src/store/sqlite.js";
import { consoleLogger } from "../src/log.js";
import { runLoad, mergeLoads, type LoadResult } from "./load.js";
import { ACCESS_KEY_ID, KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, SECRET, runBench, start } from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const COUNTS = (process.env.BENCH_KEYS ?? "1000,10000,100000").split(",").map(Number);
const FLAGS = (process.env.BENCH_FLAGS ?? "").split(" ").filter((f) => f !== "");
const PROFILE = process.env.BENCH_PROFILE;
/** More node flags for the server process: its environment is not this one's, so NODE_OPTIONS does not reach it. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((f) => f !== "");
const ACCOUNT = "000000000000";
const REGION = "us-east-1";

/** Makes `count` symmetric keys in the data directory, as CreateKey would, in one transaction. */
async function makeKeys(dataDir: string, count: number): Promise<string[]> {
  const repo = new SqliteRepository(join(dataDir, "keyhold.db"));
  const keystore = await SoftwareKeyStore.open(repo, { kind: "file", path: join(dataDir, "master.key") });
  const now = Date.now();
  const policy = defaultKeyPolicy(ACCOUNT);
  const ids: string[] = [];
  // The repository's own createKey, inside one outer transaction (its transaction nests as a
  // savepoint): one fsync for all of them instead of one per key.
  const db = (repo as unknown as { db: { transaction(fn: () => void): () => void } }).db;
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const keyId = randomUUID();
      const material = randomBytes(32);
      const version = {
        keyId,
        version: 1,
        materialId: randomBytes(32).toString("hex"),
        wrappedMaterial: keystore.wrap(material, materialContext(keyId, 1)),
        createdAt: now,
      };
      material.fill(0);
      void repo.createKey(
        {
          keyId,
          accountId: ACCOUNT,
          region: REGION,
          description: `bench key ${i}`,
          keyState: "Enabled",
          keySpec: "SYMMETRIC_DEFAULT",
          keyUsage: "ENCRYPT_DECRYPT",
          origin: "AWS_KMS",
          keyManager: "CUSTOMER",
          policy,
          creationDate: now,
          rotationEnabled: false,
          onDemandRotations: 0,
          currentVersion: 1,
        },
        version,
        [],
      );
      ids.push(keyId);
    }
  })();
  await repo.close();
  keystore.close();
  return ids;
}

/** SigV4 for KMS's JSON protocol with the signing key derived once: microseconds per request. */
function signer(port: number): (target: string, body: string) => Buffer {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${REGION}/kms/aws4_request`;
  const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, day), REGION), "kms"), "aws4_request");
  const host = `127.0.0.1:${port}`;
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  return (target, body) => {
    const headers = `content-type:application/x-amz-json-1.1\nhost:${host}\nx-amz-date:${amzDate}\nx-amz-target:TrentService.${target}\n`;
    const signed = "content-type;host;x-amz-date;x-amz-target";
    const canonical = `POST\n/\n\n${headers}\n${signed}\n${sha(body)}`;
    const signature = hmac(signingKey, `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha(canonical)}`).toString("hex");
    return Buffer.from(
      `POST / HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-date: ${amzDate}\r\n` +
        `x-amz-target: TrentService.${target}\r\nauthorization: AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/${scope}, ` +
        `SignedHeaders=${signed}, Signature=${signature}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`,
    );
  };
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Hot key and random keys in alternating slices, SECONDS each side. */
async function alternate(port: number, hot: Buffer, random: () => Buffer): Promise<{ hot: LoadResult; random: LoadResult }> {
  const slices = Math.max(2, Math.round(SECONDS / 2));
  const runs: { hot: LoadResult[]; random: LoadResult[] } = { hot: [], random: [] };
  for (let i = 0; i < slices; i++) {
    runs.hot.push(await runLoad("127.0.0.1", port, hot, CONNECTIONS, SECONDS / slices));
    runs.random.push(await runLoad("127.0.0.1", port, random, CONNECTIONS, SECONDS / slices));
  }
  const h = mergeLoads(runs.hot);
  const r = mergeLoads(runs.random);
  if (h.errors + r.errors > 0) throw new Error(`${h.errors + r.errors} requests answered with an error`);
  return { hot: h, random: r };
}

async function measure(count: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "keyhold-bench-keys-"));
  try {
    const config = loadConfig({ ...ROOT_ENV }, ["--data-dir", dataDir]);
    await initializeDataDir(config, { log: consoleLogger() });
    const made = performance.now();
    const ids = await makeKeys(dataDir, count);
    const makeSeconds = (performance.now() - made) / 1000;
    const server = await start(
      KEYHOLD_MAIN,
      ["server", "--port", "0", "--data-dir", dataDir, "--workers", "1", ...FLAGS],
      ROOT_ENV,
      KEYHOLD_READY,
      [...NODE_ARGS, ...(PROFILE ? ["--cpu-prof", "--cpu-prof-dir", PROFILE] : [])],
    );
    try {
      const sign = signer(server.port);
      const plaintext = Buffer.alloc(64, 7).toString("base64");
      const requests = ids.map((KeyId) => sign("Encrypt", JSON.stringify({ KeyId, Plaintext: plaintext })));
      const hot = requests[0]!;
      const random = () => requests[Math.floor(Math.random() * requests.length)]!;
      const idle = rssMb(server.child.pid!);
      // Warm-up: the hot key, and two seconds of random keys (at 100,000 keys most of the measured
      // requests are still a key's first use in this process: the cold figure).
      await runLoad("127.0.0.1", server.port, hot, CONNECTIONS, 2);
      await runLoad("127.0.0.1", server.port, random, CONNECTIONS, 2);
      const cold = await alternate(server.port, hot, random);
      const afterCold = rssMb(server.child.pid!);
      // Then one request on every key, in order, and the same measurement again: the steady state
      // of a server whose keys have all been used once (each is a cache hit if the caches hold them).
      let next = 0;
      const inOrder = () => requests[next++ % requests.length]!;
      while (next < requests.length) await runLoad("127.0.0.1", server.port, inOrder, CONNECTIONS, 1);
      const warm = await alternate(server.port, hot, random);
      const used = rssMb(server.child.pid!);
      const f = (n: number, d = 0) => n.toFixed(d);
      return (
        `| ${String(count).padStart(7)} | ${f(makeSeconds, 1)} | ${f(cold.hot.rps)} | ${f(cold.random.rps)} | ${f(cold.random.p99ms, 1)} | ` +
        `${f(cold.random.rps / cold.hot.rps, 2)} | ${f(warm.hot.rps)} | ${f(warm.random.rps)} | ${f(warm.random.p99ms, 1)} | ` +
        `${f(warm.random.rps / warm.hot.rps, 2)} | ${f(idle.rss)} | ${f(afterCold.rss)} | ${f(used.rss)} | ${f(used.peak)} |`
      );
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((res) => server.child.once("exit", res));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const count of COUNTS) rows.push(await measure(count));
  process.stdout.write(
    `\nEncrypt 64 B, one server process${FLAGS.length ? ` (${FLAGS.join(" ")})` : ""}, ${CONNECTIONS} connections, ` +
      `${SECONDS} s each side in alternating slices; load from bench/load.ts\n\n`,
  );
  process.stdout.write(
    "Cold: after 2 s of random keys (mostly first uses at 100,000 keys). Warm: after one request on every key.\n\n" +
      "| keys | made in s | cold: hot key req/s | random key req/s | p99 ms | random/hot | warm: hot key req/s | random key req/s | p99 ms | " +
      "random/hot | RSS idle MB | RSS after cold MB | RSS after warm MB | peak RSS MB |\n",
  );
  process.stdout.write("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  for (const r of rows) process.stdout.write(r + "\n");
}

runBench(main);
