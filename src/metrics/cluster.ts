/**
 * `--workers N` with `--metrics-port`: the primary serves the metrics listener, and a scrape sums
 * every worker's metrics (prom-client's AggregatorRegistry asks each over the cluster's IPC
 * channel), rather than answering with whichever worker the kernel handed the connection to.
 * Readiness is asked of every worker the same way: the node is ready when all of them are.
 */
import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import { readinessFailures, type ReadinessCheck } from "../http/probes.js";
import type { MetricsEndpoint } from "./listener.js";

const READY_REQUEST = "keyhold:readyz";
const READY_ANSWER = "keyhold:readyz-answer";
/** A worker that has not answered in this long is not ready (it is stuck, or busy beyond serving). */
const READY_TIMEOUT_MS = 2000;

interface ReadyAnswer {
  type: typeof READY_ANSWER;
  id: number;
  failed: Record<string, string>;
}

/** In a worker: answers the primary's scrapes with `registry`, and its readiness probes with `checks`. */
export function serveWorkerMetrics(registry: Registry, checks: Record<string, ReadinessCheck>): void {
  new AggregatorRegistry(); // registers the listener that answers the primary's metric requests
  AggregatorRegistry.setRegistries([registry]);
  process.on("message", (m: { type?: string; id?: number }) => {
    if (m?.type !== READY_REQUEST) return;
    void readinessFailures(checks).then((failed) => process.send?.({ type: READY_ANSWER, id: m.id ?? -1, failed } satisfies ReadyAnswer));
  });
}

/** In the primary: the metrics listener's view of the whole cluster. */
export function clusterEndpoint(expected: () => number): MetricsEndpoint {
  const aggregator = new AggregatorRegistry();
  let next = 0;
  return {
    metrics: () => aggregator.clusterMetrics(),
    readiness: () => {
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      const checks: Record<string, ReadinessCheck> = {
        workers: () => (workers.length < expected() ? `${workers.length} of ${expected()} workers running` : undefined),
      };
      for (const w of workers) {
        checks[`worker ${w.id}`] = () =>
          new Promise<string | undefined>((resolve) => {
            if (!w.isConnected()) return resolve("not connected");
            const id = next++;
            const timer = setTimeout(() => done("no answer"), READY_TIMEOUT_MS);
            const onMessage = (m: ReadyAnswer) => {
              if (m?.type !== READY_ANSWER || m.id !== id) return;
              const failed = Object.entries(m.failed);
              done(failed.length === 0 ? undefined : failed.map(([name, why]) => `${name}: ${why}`).join("; "));
            };
            const done = (why: string | undefined) => {
              clearTimeout(timer);
              w.off("message", onMessage);
              resolve(why);
            };
            w.on("message", onMessage);
            w.send({ type: READY_REQUEST, id });
          });
      }
      return checks;
    },
  };
}
