/**
 * The metrics listener (`--metrics-port`): Prometheus's `/metrics`, and `/healthz` and `/readyz`
 * with the main port's probe logic (src/http/probes.ts), for the orchestrators that probe a port
 * of their own. It is unauthenticated, like the probes, and so listens on loopback by default:
 * what it shows is counts, never names (src/metrics/metrics.ts).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import type { Logger } from "../log.js";
import { probeReply, type ReadinessCheck } from "../http/probes.js";

export interface MetricsEndpoint {
  /** The Prometheus text of this process (or, in a cluster's primary, the sum of its workers). */
  metrics(): Promise<string>;
  /** The readiness checks, as the main port's /_keyhold/readyz runs them. */
  readiness(): Record<string, ReadinessCheck>;
}

export interface MetricsListener {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startMetricsListener(host: string, port: number, endpoint: MetricsEndpoint, log: Logger): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const method = req.method ?? "GET";
    const answer = async (): Promise<{ status: number; headers: Record<string, string>; body: Buffer | string }> => {
      if (path === "/healthz" || path === "/readyz") {
        const reply = await probeReply(path === "/healthz" ? "health" : "ready", method, endpoint.readiness());
        return reply;
      }
      if (path !== "/metrics") return { status: 404, headers: { "content-type": "text/plain" }, body: "/metrics, /healthz or /readyz\n" };
      if (method !== "GET" && method !== "HEAD") return { status: 405, headers: { allow: "GET, HEAD" }, body: "" };
      const text = await endpoint.metrics();
      return { status: 200, headers: { "content-type": Registry.PROMETHEUS_CONTENT_TYPE }, body: method === "HEAD" ? "" : text };
    };
    answer().then(
      (r) => {
        res.writeHead(r.status, { "cache-control": "no-store", ...r.headers });
        res.end(r.body);
      },
      (error: unknown) => {
        log.error(`metrics listener: ${req.url} failed: ${(error as Error)?.stack ?? String(error)}`);
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("collecting the metrics failed; see the log\n");
      },
    );
  });
  // A scrape is small and quick: a slow or idle client is cut off rather than held.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${hostForUrl}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
