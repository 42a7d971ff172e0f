/**
 * `keyhold server`: one process, or with `--workers N` a primary that initializes the data
 * directory and forks N worker processes sharing the listening port (node:cluster) and the
 * SQLite database. Worker 1 runs the scheduler; a worker that dies is replaced.
 */
import cluster from "node:cluster";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { initializeDataDir, printCredentials, startKeyhold } from "../app.js";
import { ConfigError, type Config } from "../config.js";
import { configuredLogger, type Logger } from "../log.js";
import { startMetricsListener } from "../metrics/listener.js";
import { clusterEndpoint, serveWorkerMetrics } from "../metrics/cluster.js";

function onSignals(stop: () => void): void {
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
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
  onSignals(() => {
    keyhold.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

async function worker(config: Config, log: Logger): Promise<void> {
  const id = Number(process.env.KEYHOLD_WORKER_ID);
  const keyhold = await startKeyhold(config, { scheduler: id === 1, auditChain: id, log, metricsListener: false });
  if (keyhold.metrics) serveWorkerMetrics(keyhold.metrics.registry, keyhold.readiness);
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
  const log = configuredLogger(config);
  if (config.workers <= 1) return single(config, log);
  return cluster.isPrimary ? primary(config, log) : worker(config, log);
}
