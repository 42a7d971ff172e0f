/**
 * `keyhold server`: one process, or with `--workers N` a primary that initializes the data
 * directory and forks N worker processes sharing the listening port (node:cluster) and the
 * SQLite database. Worker 1 runs the scheduler; a worker that dies is replaced.
 */
import cluster from "node:cluster";
import { initializeDataDir, printCredentials, startKeyhold } from "../app.js";
import type { Config } from "../config.js";
import { consoleLogger } from "../log.js";

const log = consoleLogger();

function onSignals(stop: () => void): void {
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

async function single(config: Config): Promise<void> {
  const keyhold = await startKeyhold(config, { printCredentials: true });
  process.stdout.write(`keyhold listening on ${keyhold.url} (data in ${config.dataDir})\n`);
  if (keyhold.tlsUrl) process.stdout.write(`keyhold listening on ${keyhold.tlsUrl}${tlsNote(keyhold.caFile)}\n`);
  onSignals(() => {
    keyhold.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

async function worker(config: Config): Promise<void> {
  const id = Number(process.env.KEYHOLD_WORKER_ID);
  const keyhold = await startKeyhold(config, { scheduler: id === 1, auditChain: id });
  process.send?.({ listening: keyhold.url, port: keyhold.port, tls: keyhold.tlsUrl, caFile: keyhold.caFile });
  // A worker whose primary is gone (kill -9) stops too, freeing the port for a restart.
  process.on("disconnect", () => process.exit(0));
  onSignals(() => {
    keyhold.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

async function primary(config: Config): Promise<void> {
  const generated = await initializeDataDir(config, { log });
  let stopping = false;
  let announced = false;
  let ready = 0;
  const fork = (id: number) => {
    const w = cluster.fork({ KEYHOLD_WORKER_ID: String(id) });
    w.on("message", (m: { listening?: string; port?: number; tls?: string; caFile?: string }) => {
      if (!m.listening || announced || ++ready < config.workers) return;
      announced = true;
      if (generated) printCredentials(config, generated, m.port!);
      process.stdout.write(`keyhold listening on ${m.listening} with ${config.workers} workers (data in ${config.dataDir})\n`);
      if (m.tls) process.stdout.write(`keyhold listening on ${m.tls}${tlsNote(m.caFile)}\n`);
    });
    w.on("exit", (code, signal) => {
      if (stopping) return;
      log.error(`worker ${id} exited (${signal ?? code}); starting another`);
      fork(id);
    });
  };
  for (let id = 1; id <= config.workers; id++) fork(id);
  onSignals(() => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
    setTimeout(() => process.exit(0), 2000).unref();
    cluster.disconnect(() => process.exit(0));
  });
}

/** How clients trust keyhold's own certificate. */
function tlsNote(caFile: string | undefined): string {
  return caFile ? ` (certificate authority: ${caFile}; aws --ca-bundle ${caFile})` : "";
}

export async function runServer(config: Config): Promise<void> {
  if (config.workers <= 1) return single(config);
  return cluster.isPrimary ? primary(config) : worker(config);
}
