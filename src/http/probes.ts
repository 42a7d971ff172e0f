/**
 * Health probes for load balancers and orchestrators, answered on the main port before SigV4,
 * unsigned and unaudited: a probe every few seconds is no API call, and answering it as one (an S3
 * ListBuckets AccessDenied, recorded in the trail) filled the trail with noise.
 *
 * They live under `/_keyhold/`, a path no AWS API uses: in S3's path-style addressing the first
 * segment is a bucket name, and bucket names cannot start with `_`. A request whose Host names a
 * bucket (virtual-host style) is S3's, where `_keyhold/healthz` is an ordinary object key.
 *
 * - `GET /_keyhold/healthz`: 200 while the process is alive and its event loop turns.
 * - `GET /_keyhold/readyz`: 200 when this node can serve: the database answers a write, the audit
 *   trail's last write succeeded, the root key is unsealed and the node is not draining; else 503
 *   naming what failed. A node that cannot write its audit trail stops being ready instead of
 *   serving calls it cannot record; one that is shutting down stops being ready first, so a
 *   balancer drains it.
 */
import type { Reply } from "./dispatch.js";
import type { SignedRequest } from "./sigv4.js";
import { virtualHostBucket } from "./rest-xml-protocol.js";

export const PROBE_PREFIX = "/_keyhold/";
export const HEALTH_PATH = "/_keyhold/healthz";
export const READY_PATH = "/_keyhold/readyz";

/** One check of readiness: undefined when it passes, else why it fails. */
export type ReadinessCheck = () => Promise<string | undefined> | string | undefined;

/** Whether a request is for a probe path (and not for an S3 object of a virtual-hosted bucket). */
export function isProbe(req: Pick<SignedRequest, "rawPath" | "headers">): boolean {
  if (!req.rawPath.startsWith(PROBE_PREFIX)) return false;
  const host = req.headers.host;
  return virtualHostBucket(typeof host === "string" ? host : undefined) === undefined;
}

function json(status: number, body: unknown, head: boolean, extra: Record<string, string> = {}): Reply {
  const text = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
    body: head ? Buffer.alloc(0) : text,
    contentLength: text.length,
  };
}

/** Answers a probe request; `checks` are run in order, each named in the reply. */
export async function answerProbe(req: Pick<SignedRequest, "rawPath" | "method">, checks: Record<string, ReadinessCheck>): Promise<Reply> {
  if (req.rawPath === HEALTH_PATH) return probeReply("health", req.method, checks);
  if (req.rawPath === READY_PATH) return probeReply("ready", req.method, checks);
  return json(404, { status: "not found", probes: [HEALTH_PATH, READY_PATH] }, req.method === "HEAD");
}

/**
 * The answer of a liveness ("health") or readiness ("ready") probe, wherever it is served: under
 * /_keyhold/ on the main port, or at /healthz and /readyz on the metrics listener.
 */
export async function probeReply(probe: "health" | "ready", method: string, checks: Record<string, ReadinessCheck>): Promise<Reply> {
  const head = method === "HEAD";
  if (method !== "GET" && !head) return json(405, { status: "method not allowed" }, head, { allow: "GET, HEAD" });
  if (probe === "health") return json(200, { status: "ok" }, head);
  const failed = await readinessFailures(checks);
  const ready = Object.keys(failed).length === 0;
  return json(ready ? 200 : 503, ready ? { status: "ready" } : { status: "not ready", failed }, head);
}

/** Runs the checks in order: the ones that failed, each with why. */
export async function readinessFailures(checks: Record<string, ReadinessCheck>): Promise<Record<string, string>> {
  const failed: Record<string, string> = {};
  for (const [name, check] of Object.entries(checks)) {
    let why: string | undefined;
    try {
      why = await check();
    } catch {
      // What went wrong is for the log (the check's own business), not for an unauthenticated caller.
      why = "failed";
    }
    if (why !== undefined) failed[name] = why;
  }
  return failed;
}
