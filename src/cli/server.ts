/**
 * `keyhold server`: one process, or with `--workers N` a primary that initializes the data
 * directory and forks N worker processes sharing the listening port (node:cluster) and the
 * SQLite database. Worker 1 runs the scheduler; a worker that dies is replaced.
 */
import cluster from "node:cluster";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { initializeDataDir, printCredentials, startKeyhold, type Keyhold } from "../app.js";
import { ConfigError, type Config } from "../config.js";
import { configuredLogger, type Logger } from "../log.js";
import { startMetricsListener } from "../metrics/listener.js";
import { clusterEndpoint, serveWorkerMetrics } from "../metrics/cluster.js";

/**
 * The node flags a keyhold server process runs with: the bin's shebang (src/cli/main.ts) and
 * `npm start` give them to the process, and a primary of --workers to its workers. V8 fixes the
 * young generation's size when the process starts, so it cannot be set from here. The default
 * semi-space (16 MB, two of them) was 32 MB of a server's memory that holds 100,000 keys in its
 * caches, 8 MB fewer per semi-space than at 8 (bench/keys.ts; docs/settings.md).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8"];

/**
 * The flags a worker is forked with: SERVER_NODE_FLAGS, unless the primary was given its own
 * value of the same flag (on its command line or in NODE_OPTIONS), then the primary's own flags.
 */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  // V8 reads --max_semi_space_size as --max-semi-space-size.
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].map((flag) => flag.split("=")[0]!.replace(/_/g, "-"));
  return [...SERVER_NODE_FLAGS.filter((flag) => !given.includes(flag.split("=")[0]!)), ...execArgv];
}

/**
 * SIGTERM and SIGINT start one graceful stop; another signal while it runs changes nothing (a
 * terminal's Ctrl-C reaches the workers and the primary, which forwards SIGTERM too). The process
 * exits 0 once the stop is done, 1 if it failed.
 */
function onSignals(log: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error(`shutdown failed: ${(error as Error)?.stack ?? String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** The graceful stop of one serving process (see Keyhold.close). */
function shutdown(keyhold: Keyhold, config: Config, log: Logger, what: string): (signal: NodeJS.Signals) => Promise<void> {
  return async (signal) => {
    log.info(`${what}: ${signal}: not ready, finishing requests in flight (up to ${config.shutdownTimeout ?? 30} s)`);
    await keyhold.close();
    log.info(`${what}: stopped; audit trail synced and digested, database closed`);
  };
}

/**
 * Fails with one line when a port keyhold is to listen on is taken, before the data directory is
 * initialized: otherwise a first start would initialize it, fail to listen, and never show the
 * root credentials it generated.
 */
export async function checkPortsFree(config: Config): Promise<void> {
  for (const [port, flag] of [
    [config.port, "--port / KEYHOLD_PORT"],
    [config.tlsPort, "--tls-port / KEYHOLD_TLS_PORT"],
    [config.metricsPort, "--metrics-port / KEYHOLD_METRICS_PORT"],
  ] as const) {
    if (port === undefined || port === 0) continue;
    const host = port === config.metricsPort ? (config.metricsHost ?? "127.0.0.1") : config.host;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once("error", (error: NodeJS.ErrnoException) => reject(new ConfigError(listenFailure(error, host, port, flag))));
      probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}

/** One line for a port keyhold cannot listen on. */
export function listenFailure(error: NodeJS.ErrnoException, host: string, port: number, flag = "--port / KEYHOLD_PORT"): string {
  if (error.code === "EADDRINUSE") return `port ${port} on ${host} is already in use (another keyhold?); choose another with ${flag}`;
  if (error.code === "EACCES") return `not allowed to listen on port ${port} on ${host}; choose a port above 1023 with ${flag}`;
  if (error.code === "EADDRNOTAVAIL") return `${host} is not an address of this machine; choose another with --host / KEYHOLD_HOST`;
  return `cannot listen on ${host}:${port}: ${error.message}`;
}

/** On a start that did not generate the root credentials: where they are, when keyhold wrote them. */
function credentialsNote(config: Config): string {
  const file = join(config.dataDir, "root-credentials");
  return existsSync(file) ? `root credentials of account ${config.accountId}: ${file}\n` : "";
}

async function single(config: Config, log: Logger): Promise<void> {
  await checkPortsFree(config);
  const keyhold = await startKeyhold(config, { printCredentials: true, log });
  process.stdout.write(`keyhold listening on ${keyhold.url} (data in ${config.dataDir})\n`);
  if (!keyhold.generatedRootCredentials) process.stdout.write(credentialsNote(config));
  if (keyhold.tlsUrl) process.stdout.write(`keyhold listening on ${keyhold.tlsUrl}${tlsNote(keyhold.caFile)}\n`);
  onSignals(log, shutdown(keyhold, config, log, "keyhold"));
}

async function worker(config: Config, log: Logger): Promise<void> {
  const id = Number(process.env.KEYHOLD_WORKER_ID);
  const keyhold = await startKeyhold(config, { scheduler: id === 1, auditChain: id, log, metricsListener: false });
  if (keyhold.metrics) serveWorkerMetrics(keyhold.metrics.registry, keyhold.readiness);
  process.send?.({ listening: keyhold.url, port: keyhold.port, tls: keyhold.tlsUrl, caFile: keyhold.caFile });
  onSignals(log, shutdown(keyhold, config, log, `worker ${id}`));
  // A worker whose primary is gone (kill -9) stops too, freeing the port for a restart.
  process.on("disconnect", () => process.emit("SIGTERM", "SIGTERM"));
}

async function primary(config: Config, log: Logger): Promise<void> {
  await checkPortsFree(config);
  const generated = await initializeDataDir(config, { log });
  if (config.metricsPort !== undefined) {
    const listener = await startMetricsListener(
      config.metricsHost ?? "127.0.0.1",
      config.metricsPort,
      clusterEndpoint(() => config.workers),
      log,
    );
    log.info(`metrics of all ${config.workers} workers on ${listener.url}/metrics`);
  }
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
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
      if (!generated) process.stdout.write(credentialsNote(config));
      if (m.tls) process.stdout.write(`keyhold listening on ${m.tls}${tlsNote(m.caFile)}\n`);
    });
    w.on("exit", (code, signal) => {
      if (stopping) return;
      log.error(`worker ${id} exited (${signal ?? code}); starting another`);
      fork(id);
    });
  };
  for (let id = 1; id <= config.workers; id++) fork(id);
  // The primary forwards the signal and exits once every worker has finished its own graceful
  // stop; a worker stuck past its shutdown timeout (and a margin) is not waited for any longer.
  onSignals(log, async (signal) => {
    stopping = true;
    log.info(`keyhold: ${signal}: stopping ${config.workers} workers`);
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead());
    const exited = workers.map((w) => new Promise<void>((resolve) => w!.once("exit", () => resolve())));
    for (const w of workers) w!.process.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("workers did not stop within the shutdown timeout")),
        ((config.shutdownTimeout ?? 30) + 10) * 1000,
      );
    });
    try {
      await Promise.race([Promise.all(exited), late]);
    } finally {
      clearTimeout(timer);
    }
  });
}

/** How clients trust keyhold's own certificate. */
function tlsNote(caFile: string | undefined): string {
  return caFile ? ` (certificate authority: ${caFile}; aws --ca-bundle ${caFile})` : "";
}

export async function runServer(config: Config): Promise<void> {
  const log = configuredLogger(config);
  if (config.workers <= 1) return single(config, log);
  return cluster.isPrimary ? primary(config, log) : worker(config, log);
}
