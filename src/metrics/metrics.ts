/**
 * keyhold's Prometheus metrics, one registry per process. What other modules already count
 * (cache hits, the audit queue, scheduler work, the PostgreSQL pool) is read at scrape time by
 * collect callbacks; what happens per request is counted here, told by the dispatcher once a call
 * is answered (`answered`), at the cost of a Map lookup and a few additions.
 *
 * No label holds a value a client chose or that names something: services are SigV4 signing
 * names keyhold routes, operations come from the service registries (any other name is
 * `UNKNOWN_OPERATION`), error codes from src/errors.ts (any other is `OTHER_ERROR`), encryption
 * types from a fixed list. Key ids, access keys, bucket and object names and principals are in the
 * request log and the audit trail, never here: as labels they would make a series per key and
 * leak names to whoever can scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricValueWithName } from "prom-client";
import { ERROR_CODES } from "../errors.js";
import type { AnsweredCall } from "../http/dispatch.js";
import { bytesIn, bytesOut } from "../http/request-log.js";
import type { CacheStats } from "../lru.js";

export const UNKNOWN_SERVICE = "unknown";
export const UNKNOWN_OPERATION = "unknown";
export const OTHER_ERROR = "other";

/** What the collect callbacks read; each is a cheap read of a counter another module keeps. */
export interface MetricSources {
  inFlight(): number;
  auditQueueDepth(): number;
  /** When this process last completed an audit digest pass (ms), if it runs them. */
  lastDigest(): number | undefined;
  /** Whether this process writes the digests (the one that runs the scheduler). */
  digests: boolean;
  now(): number;
  caches(): Record<string, CacheStats>;
  invalidationsReceived(): number;
  kmsScheduler(): { runs: number; deletions: number; rotations: number; expiredMaterial: number };
  secretsScheduler(): { runs: number; purges: number };
  /** ACM's managed renewal (absent: not counted). */
  acmScheduler?(): { runs: number; renewals: number };
  postgresPool?(): { total: number; idle: number; waiting: number };
}

/** Seconds: from a cached Encrypt (about 0.2 ms) to a large S3 upload. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** S3 server-side encryption, from the reply's headers: what the object was (or is) stored with. */
export type EncryptionType = "sse_s3" | "sse_kms" | "sse_kms_dsse" | "sse_c" | "none";

export function encryptionOf(headers: Record<string, string>): EncryptionType {
  if (headers["x-amz-server-side-encryption-customer-algorithm"] !== undefined) return "sse_c";
  switch (headers["x-amz-server-side-encryption"]) {
    case "AES256":
      return "sse_s3";
    case "aws:kms":
      return "sse_kms";
    case "aws:kms:dsse":
      return "sse_kms_dsse";
    default:
      return "none";
  }
}

function statusClass(status: number): string {
  return status >= 500 ? "5xx" : status >= 400 ? "4xx" : status >= 300 ? "3xx" : "2xx";
}

/** One (service, operation)'s request latencies: a count per bucket of LATENCY_BUCKETS (the last one +Inf), their sum. */
interface LatencySeries {
  readonly service: string;
  readonly operation: string;
  readonly buckets: Float64Array;
  sum: number;
}

/** One label set of keyhold_requests_total, and the latency series of its service and operation. */
interface RequestSeries {
  readonly labels: { service: string; operation: string; status: string; code: string };
  count: number;
  readonly latency: LatencySeries;
}

/**
 * keyhold_request_duration_seconds: a Prometheus histogram kept as plain counts per series and
 * handed to the registry at scrape time in prom-client's shape (so the text and the cluster
 * aggregation are prom-client's own). A request costs a bucket search and two additions, where
 * prom-client's Histogram.observe validates and hashes the label object and looks its bucket up by
 * a number-to-string property key on every call.
 */
class LatencyHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, LatencySeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  /** The series of a (service, operation); made on first use (both labels are bounded sets). */
  of(service: string, operation: string): LatencySeries {
    const key = `${service}\n${operation}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = { service, operation, buckets: new Float64Array(this.bounds.length + 1), sum: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  observe(series: LatencySeries, seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    series.buckets[i]!++;
    series.sum += seconds;
  }

  /** What prom-client's Registry (its text, its cluster aggregation) reads of a metric. */
  get(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({
          labels: { le: i < this.bounds.length ? this.bounds[i]! : "+Inf", service: s.service, operation: s.operation },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { service: s.service, operation: s.operation }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { service: s.service, operation: s.operation }, value: cumulative, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

export class Metrics {
  readonly registry = new Registry();
  /** Answered requests by label set, keyed `service\n operation\n status\n code`; copied into the counter at scrape. */
  private readonly requests = new Map<string, RequestSeries>();
  private readonly s3In = new Map<EncryptionType, number>();
  private readonly s3Out = new Map<EncryptionType, number>();
  private readonly latency: LatencyHistogram;
  private readonly auditBatch: Histogram;
  private readonly auditCommit: Histogram;
  private readonly auditWritten: Counter;
  private readonly auditFailed: Counter;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const requests = this.requests;
    new Counter({
      name: "keyhold_requests_total",
      help: "API requests answered, by service, operation, status class and AWS error code (empty when it succeeded)",
      labelNames: ["service", "operation", "status", "code"],
      registers,
      collect() {
        this.reset();
        for (const series of requests.values()) this.inc(series.labels, series.count);
      },
    });
    this.latency = new LatencyHistogram(
      "keyhold_request_duration_seconds",
      "Time from a request's arrival (its body read) to its reply, audit record included, by service and operation",
      LATENCY_BUCKETS,
    );
    this.registry.registerMetric(this.latency as never);
    new Gauge({
      name: "keyhold_requests_in_flight",
      help: "API requests being handled",
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    });
    new Gauge({
      name: "keyhold_audit_queue_depth",
      help: "Audit events waiting to be handed to the audit writer",
      registers,
      collect() {
        this.set(sources.auditQueueDepth());
      },
    });
    this.auditBatch = new Histogram({
      name: "keyhold_audit_batch_size",
      help: "Audit events per batch handed to the audit writer",
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.auditCommit = new Histogram({
      name: "keyhold_audit_commit_duration_seconds",
      help: "Time for a batch of audit events to be durable (written and, with --audit-sync commit, fsynced)",
      buckets: COMMIT_BUCKETS,
      registers,
    });
    this.auditWritten = new Counter({ name: "keyhold_audit_events_written_total", help: "Audit events made durable", registers });
    this.auditFailed = new Counter({
      name: "keyhold_audit_write_failures_total",
      help: "Audit batches the writer failed to make durable (their calls were answered InternalFailure)",
      registers,
    });
    // With --workers, only the process that writes digests has an age; the others report 0 and the
    // cluster's value is their maximum.
    new Gauge({
      name: "keyhold_audit_digest_age_seconds",
      help: "Seconds since this node last completed a pass of signed audit digests (0 where another process writes them)",
      registers,
      aggregator: "max",
      collect() {
        const last = sources.lastDigest();
        this.set(sources.digests ? (sources.now() - (last ?? started)) / 1000 : 0);
      },
    });
    const started = sources.now();
    const cacheCounter = (name: string, help: string, read: (s: CacheStats) => number) =>
      new Counter({
        name,
        help,
        labelNames: ["cache"],
        registers,
        collect() {
          this.reset();
          for (const [cache, stats] of Object.entries(sources.caches())) this.inc({ cache }, read(stats));
        },
      });
    cacheCounter("keyhold_cache_hits_total", "Lookups a cache answered, by cache", (s) => s.hits);
    cacheCounter("keyhold_cache_misses_total", "Lookups a cache could not answer, by cache", (s) => s.misses);
    cacheCounter("keyhold_cache_evictions_total", "Entries aged out of a full cache, by cache", (s) => s.evictions);
    new Gauge({
      name: "keyhold_cache_entries",
      help: "Entries a cache holds, by cache",
      labelNames: ["cache"],
      registers,
      collect() {
        for (const [cache, stats] of Object.entries(sources.caches())) this.set({ cache }, stats.size);
      },
    });
    new Counter({
      name: "keyhold_cache_invalidations_total",
      help: "Times a change made by another process or node emptied this process's record caches",
      registers,
      collect() {
        this.reset();
        this.inc(sources.invalidationsReceived());
      },
    });
    new Counter({
      name: "keyhold_scheduler_runs_total",
      help: "Passes of the background scheduler, by scheduler",
      labelNames: ["scheduler"],
      registers,
      collect() {
        this.reset();
        this.inc({ scheduler: "kms" }, sources.kmsScheduler().runs);
        this.inc({ scheduler: "secretsmanager" }, sources.secretsScheduler().runs);
        if (sources.acmScheduler) this.inc({ scheduler: "acm" }, sources.acmScheduler().runs);
      },
    });
    new Counter({
      name: "keyhold_scheduler_work_total",
      help: "Work the background scheduler did: key rotations, key deletions, expired imported material deleted, secrets purged, certificates renewed",
      labelNames: ["work"],
      registers,
      collect() {
        this.reset();
        const kms = sources.kmsScheduler();
        this.inc({ work: "rotation" }, kms.rotations);
        this.inc({ work: "deletion" }, kms.deletions);
        this.inc({ work: "expired_material" }, kms.expiredMaterial);
        this.inc({ work: "secret_purge" }, sources.secretsScheduler().purges);
        if (sources.acmScheduler) this.inc({ work: "certificate_renewal" }, sources.acmScheduler().renewals);
      },
    });
    const s3In = this.s3In;
    const s3Out = this.s3Out;
    for (const [name, help, counts] of [
      ["keyhold_s3_received_bytes_total", "S3 request body bytes received, by the object's server-side encryption", s3In],
      ["keyhold_s3_sent_bytes_total", "S3 reply body bytes sent, by the object's server-side encryption", s3Out],
    ] as const) {
      new Counter({
        name,
        help,
        labelNames: ["encryption"],
        registers,
        collect() {
          this.reset();
          for (const [encryption, n] of counts) this.inc({ encryption }, n);
        },
      });
    }
    if (sources.postgresPool) {
      const pool = sources.postgresPool;
      new Gauge({
        name: "keyhold_postgres_pool_connections",
        help: "PostgreSQL pool: connections open (total), idle, and queries waiting for one (waiting)",
        labelNames: ["state"],
        registers,
        collect() {
          const p = pool();
          this.set({ state: "total" }, p.total);
          this.set({ state: "idle" }, p.idle);
          this.set({ state: "waiting" }, p.waiting);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** The dispatcher's hook: one answered call. */
  readonly answered = (call: AnsweredCall): void => {
    const service = call.completed.service ?? UNKNOWN_SERVICE;
    const operation = (call.served && call.completed.operation) || UNKNOWN_OPERATION;
    const code = call.errorCode === undefined ? "" : Object.hasOwn(ERROR_CODES, call.errorCode) ? call.errorCode : OTHER_ERROR;
    const status = statusClass(call.reply.status);
    const key = `${service}\n${operation}\n${status}\n${code}`;
    let series = this.requests.get(key);
    if (series === undefined) {
      series = { labels: { service, operation, status, code }, count: 0, latency: this.latency.of(service, operation) };
      this.requests.set(key, series);
    }
    series.count++;
    this.latency.observe(series.latency, call.seconds);
    if (service === "s3" && call.reply.status < 300) {
      const encryption = encryptionOf(call.reply.headers);
      this.s3In.set(encryption, (this.s3In.get(encryption) ?? 0) + bytesIn(call));
      this.s3Out.set(encryption, (this.s3Out.get(encryption) ?? 0) + bytesOut(call));
    }
  };

  /** The audit's hook: one batch handed to the store. */
  readonly auditBatchDone = (events: number, seconds: number, ok: boolean): void => {
    this.auditBatch.observe(events);
    this.auditCommit.observe(seconds);
    if (ok) this.auditWritten.inc(events);
    else this.auditFailed.inc();
  };

  /** The Prometheus text of this process's metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
