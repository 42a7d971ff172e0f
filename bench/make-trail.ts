/**
 * `node dist/bench/make-trail.js <data-dir> <events> [stepMs]`: a data directory holding a
 * synthetic trail of <events> events (bench/trail.ts) on chain "bench", with the signed digests a
 * server writes every minute of the trail's time, for `keyhold audit export` and `audit verify`
 * at scale. stepMs (default 40) is the mean time between events, so it sets how many hours (and
 * hourly export files) the trail spans: 1M events at 400 ms span 111 hours, as 10M at 40 ms do.
 * A keyhold server initializes the directory first (its key store signs the digests).
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { openStorage } from "../src/app.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { loadConfig } from "../src/config.js";
import { KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, runBench, start } from "./servers.js";
import { writeTrail } from "./trail.js";

runBench(async () => {
  const [dir, count, step] = process.argv.slice(2);
  if (!dir || !count) throw new Error("usage: make-trail.js <data-dir> <events> [stepMs]");
  const dataDir = resolve(dir);
  const events = Number(count);
  const stepMs = Number(step ?? 40);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { child } = await start(KEYHOLD_MAIN, ["server", "--port", "0", "--data-dir", dataDir], ROOT_ENV, KEYHOLD_READY);
  await new Promise((r) => {
    child.once("exit", r);
    child.kill("SIGTERM");
  });
  const { repo, keystore } = await openStorage(loadConfig({}, ["--data-dir", dataDir]));
  const end = Date.now() - 60_000;
  const start0 = end - events * stepMs;
  const store = new SqliteAuditStore(dataDir, "bench", "periodic");
  try {
    await store.start(start0);
    const key = await store.signingKey(keystore, start0);
    const began = performance.now();
    const digests = await writeTrail(
      store,
      { accounts: ["000000000000", "111122223333", "444455556666"], users: 30, keys: 2000, start: start0, stepMs },
      events,
      {
        digests: { key, chain: "bench" },
        onProgress: (n) => process.stdout.write(`  ${n} events, ${((performance.now() - began) / 1000).toFixed(0)} s\n`),
      },
    );
    process.stdout.write(`${events} events and ${digests} digests in ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
  } finally {
    await store.close();
    await repo.close();
  }
});
