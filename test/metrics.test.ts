/**
 * The metrics listener (--metrics-port), scraped over real HTTP after calls made with the AWS SDKs:
 * exact counts, labels that never hold a name or identifier a client chose, readiness that follows
 * the database and the audit trail, and with --workers one scrape that sums every worker.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { Agent } from "node:http";
import { createServer } from "node:net";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, kmsClient, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { call, query, send, signedRequest } from "./raw-requests.js";
import { bytesOf, s3Client } from "./s3.js";
import { iamClient } from "./iam.js";
import { GetUserCommand } from "@aws-sdk/client-iam";
import { postgresMissing, skipWithoutPostgres, startPostgres } from "./postgres.js";
import { spawnServer } from "./process.js";
import { ERROR_CODES } from "../src/errors.js";
import { KMS_OPERATIONS_BY_NAME } from "../src/kms/registry.js";
import { S3_OPERATIONS_BY_NAME } from "../src/s3/registry.js";
import { IAM_OPERATIONS_BY_NAME } from "../src/iam/registry.js";
import { STS_OPERATIONS_BY_NAME } from "../src/sts/registry.js";
import { SECRETSMANAGER_OPERATIONS_BY_NAME } from "../src/secretsmanager/registry.js";
import { ACM_OPERATIONS_BY_NAME } from "../src/acm/registry.js";
import { ACMPCA_OPERATIONS_BY_NAME } from "../src/acmpca/registry.js";
import { CLOUDTRAIL_OPERATIONS_BY_NAME } from "../src/cloudtrail/registry.js";
import { ORGANIZATIONS_OPERATIONS_BY_NAME } from "../src/organizations/registry.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(base: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parse(text) };
}

/** The value of the one sample with this name and exactly these labels (0 when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} appears ${found.length} times`);
  return found[0]?.value ?? 0;
}

const requests = (service: string, operation: string, status: string, code = "") => ({ service, operation, status, code });

async function probe(base: string, path: string): Promise<{ status: number; body: { status: string; failed?: Record<string, string> } }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as { status: string; failed?: Record<string, string> } };
}

describe("metrics listener", () => {
  let server: TestServer;
  let base: string;

  before(async () => {
    server = await startTestServer({ config: { metricsPort: 0 } });
    base = server.keyhold.metricsUrl!;
  });
  after(() => server.stop());

  it("is off unless --metrics-port is set, and listens on loopback by default", async () => {
    const plain = await startTestServer();
    try {
      assert.equal(plain.keyhold.metricsUrl, undefined);
      assert.equal(plain.keyhold.metrics, undefined);
    } finally {
      await plain.stop();
    }
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("counts calls exactly by service, operation, status class and error code, with their latency", async () => {
    const kms = server.client();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const blobs = [];
    for (let i = 0; i < 3; i++)
      blobs.push((await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from(`p${i}`) }))).CiphertextBlob!);
    await rejects(() => kms.send(new EncryptCommand({ KeyId: randomUUID(), Plaintext: Buffer.from("x") })), "NotFoundException");
    await kms.send(new DecryptCommand({ CiphertextBlob: blobs[0] }));
    const { samples } = await scrape(base);
    assert.equal(value(samples, "keyhold_requests_total", requests("kms", "Encrypt", "2xx")), 3);
    assert.equal(value(samples, "keyhold_requests_total", requests("kms", "Encrypt", "4xx", "NotFoundException")), 1);
    assert.equal(value(samples, "keyhold_requests_total", requests("kms", "CreateKey", "2xx")), 1);
    assert.equal(value(samples, "keyhold_requests_total", requests("kms", "Decrypt", "2xx")), 1);
    assert.equal(value(samples, "keyhold_request_duration_seconds_count", { service: "kms", operation: "Encrypt" }), 4);
    assert.ok(value(samples, "keyhold_request_duration_seconds_sum", { service: "kms", operation: "Encrypt" }) > 0);
    // Every call was recorded before its reply: six events, in batches the histogram counts.
    assert.equal(value(samples, "keyhold_audit_events_written_total"), 6);
    assert.equal(value(samples, "keyhold_audit_batch_size_sum"), 6);
    assert.equal(value(samples, "keyhold_audit_write_failures_total"), 0);
    assert.equal(value(samples, "keyhold_audit_queue_depth"), 0);
    assert.equal(value(samples, "keyhold_requests_in_flight"), 0);
    // The second and third Encrypt and the Decrypt found the unwrapped key version in the cache.
    assert.ok(value(samples, "keyhold_cache_hits_total", { cache: "key_material" }) >= 3);
    assert.ok(value(samples, "keyhold_cache_misses_total", { cache: "key_material" }) >= 1);
    assert.ok(value(samples, "keyhold_scheduler_runs_total", { scheduler: "kms" }) >= 1);
    assert.ok(value(samples, "process_cpu_seconds_total") > 0);
    assert.ok(value(samples, "nodejs_heap_size_used_bytes") > 0);
  });

  it("counts a body refused for its size (413), which no service read, under service and operation unknown", async () => {
    const big = JSON.stringify({ KeyId: "alias/x", Plaintext: Buffer.alloc(2 * 1024 * 1024).toString("base64") });
    const before = value(
      (await scrape(base)).samples,
      "keyhold_requests_total",
      requests("unknown", "unknown", "4xx", "RequestEntityTooLargeException"),
    );
    const res = await call(server.url, "TrentService.Encrypt", big);
    assert.equal(res.status, 413);
    const { samples } = await scrape(base);
    assert.equal(
      value(samples, "keyhold_requests_total", requests("unknown", "unknown", "4xx", "RequestEntityTooLargeException")),
      before + 1,
    );
  });

  it("counts S3 body bytes each way by the object's encryption", async () => {
    const s3 = s3Client(server.url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "bytes-counted" }));
      const body = randomBytes(3000);
      await s3.send(new PutObjectCommand({ Bucket: "bytes-counted", Key: "o", Body: body }));
      const got = await s3.send(new GetObjectCommand({ Bucket: "bytes-counted", Key: "o" }));
      assert.deepEqual(await bytesOf(got.Body), body);
      const { samples } = await scrape(base);
      // Default bucket encryption is SSE-S3, as in S3.
      assert.equal(value(samples, "keyhold_s3_received_bytes_total", { encryption: "sse_s3" }), 3000);
      assert.equal(value(samples, "keyhold_s3_sent_bytes_total", { encryption: "sse_s3" }), 3000);
      assert.equal(value(samples, "keyhold_requests_total", requests("s3", "PutObject", "2xx")), 1);
    } finally {
      s3.destroy();
    }
  });

  it("answers /healthz and /readyz with the main port's probe logic, and nothing else", async () => {
    assert.deepEqual(await probe(base, "/healthz"), { status: 200, body: { status: "ok" } });
    assert.deepEqual(await probe(base, "/readyz"), { status: 200, body: { status: "ready" } });
    assert.equal((await fetch(`${base}/readyz`, { method: "POST" })).status, 405);
    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: "DELETE" })).status, 405);
    // A scrape is not an API call: nothing of it in the request counts or the audit trail.
    const before = (await scrape(base)).samples;
    const again = (await scrape(base)).samples;
    assert.equal(value(again, "keyhold_audit_events_written_total"), value(before, "keyhold_audit_events_written_total"));
  });

  it("is not ready while the audit trail cannot be written (calls fail closed), and ready again once a write succeeds", async () => {
    const kms = server.client();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const store = server.keyhold.audit.store;
    const append = store.append.bind(store);
    // The disk is full: the store's append fails as a write to a full filesystem does.
    store.append = () => Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
    try {
      const refused = await rejects(
        () => kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from("x") })),
        "InternalFailure",
      );
      assert.equal(refused.$metadata?.httpStatusCode, 500);
      const ready = await probe(base, "/readyz");
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: "not ready", failed: { audit: "the audit trail cannot be written" } });
      assert.equal((await probe(base, "/healthz")).status, 200);
      const { samples } = await scrape(base);
      assert.equal(value(samples, "keyhold_audit_write_failures_total"), 1);
      assert.equal(value(samples, "keyhold_requests_total", requests("kms", "Encrypt", "5xx", "InternalFailure")), 1);
    } finally {
      store.append = append;
    }
    await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from("x") }));
    assert.deepEqual(await probe(base, "/readyz"), { status: 200, body: { status: "ready" } });
  });

  it("keeps every label bounded: no key id, bucket, object, access key, principal or made-up operation becomes a label value", async () => {
    const tokens: string[] = [];
    const token = () => {
      const t = `q${randomBytes(6).toString("hex")}`;
      tokens.push(t);
      return t;
    };
    const kms = server.client();
    const s3 = s3Client(server.url);
    const iam = iamClient(server.url);
    try {
      for (let i = 0; i < 5; i++) {
        await rejects(() => kms.send(new EncryptCommand({ KeyId: `alias/${token()}`, Plaintext: Buffer.from("x") })), "NotFoundException");
        const bucket = `b-${token()}`;
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${token()}/${token()}`, Body: "x" }));
        await rejects(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: token() })), "NoSuchKey");
        await rejects(() => iam.send(new GetUserCommand({ UserName: token() })), "NoSuchEntityException");
        // Operations no registry has, under a served and an unknown service, and an unknown Query action.
        assert.equal((await call(server.url, `TrentService.${token()}`, "{}")).status, 400);
        assert.equal((await call(server.url, `${token()}.Encrypt`, "{}")).status >= 400, true);
        assert.equal((await query(server.url, "iam", { Action: token(), Version: "2010-05-08" })).status >= 400, true);
        // A signature by an access key keyhold does not know, and one signed for a made-up service.
        const unknownKey = `AKIA${token()
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, "0")}`;
        assert.equal(
          (await call(server.url, "TrentService.ListKeys", "{}", { accessKeyId: unknownKey, secretAccessKey: "x" })).status,
          400,
        );
        const body = "{}";
        assert.ok(
          (await send(server.url, await signedRequest(server.url, body, { target: "TrentService.ListKeys", service: token() }), body))
            .status >= 400,
        );
        assert.ok((await fetch(`${server.url}/${token()}/${token()}`)).status >= 400);
      }
    } finally {
      s3.destroy();
      iam.destroy();
    }
    const { text, samples } = await scrape(base);
    for (const t of tokens) assert.ok(!text.toLowerCase().includes(t.toLowerCase()), `${t} appears in the metrics`);
    assert.ok(!text.includes(ACCESS_KEY_ID), "the access key id appears in the metrics");
    assert.ok(!text.includes("arn:aws"), "an ARN appears in the metrics");

    const operations = new Set<string>(["unknown"]);
    for (const registry of [
      KMS_OPERATIONS_BY_NAME,
      S3_OPERATIONS_BY_NAME,
      IAM_OPERATIONS_BY_NAME,
      STS_OPERATIONS_BY_NAME,
      SECRETSMANAGER_OPERATIONS_BY_NAME,
      ACM_OPERATIONS_BY_NAME,
      ACMPCA_OPERATIONS_BY_NAME,
      CLOUDTRAIL_OPERATIONS_BY_NAME,
      ORGANIZATIONS_OPERATIONS_BY_NAME,
    ] as ReadonlyMap<string, unknown>[])
      for (const name of registry.keys()) operations.add(name);
    const allowed: Record<string, ReadonlySet<string>> = {
      service: new Set(["kms", "s3", "iam", "sts", "secretsmanager", "acm", "cloudtrail", "organizations", "acm-pca", "unknown"]),
      operation: operations,
      status: new Set(["2xx", "3xx", "4xx", "5xx"]),
      code: new Set(["", "other", ...Object.keys(ERROR_CODES)]),
      cache: new Set(["keys", "key_versions", "key_material", "access_keys", "access_key_secrets", "aliases", "policies"]),
      encryption: new Set(["sse_s3", "sse_kms", "sse_kms_dsse", "sse_c", "none"]),
      scheduler: new Set(["kms", "secretsmanager", "acm"]),
      work: new Set(["rotation", "deletion", "expired_material", "secret_purge", "certificate_renewal"]),
      state: new Set(["total", "idle", "waiting"]),
    };
    const seen = new Map<string, Set<string>>();
    for (const s of samples.filter((s) => s.name.startsWith("keyhold_"))) {
      for (const [label, v] of Object.entries(s.labels)) {
        if (label === "le") continue;
        assert.ok(allowed[label], `unexpected label ${label} on ${s.name}`);
        assert.ok(allowed[label].has(v), `${s.name} has ${label}="${v}", not one of the fixed values`);
        if (!seen.has(label)) seen.set(label, new Set());
        seen.get(label)!.add(v);
      }
    }
    // What was driven shows up under the fixed names, not under the names the client made up.
    assert.ok(seen.get("operation")!.has("unknown"));
    assert.ok(value(samples, "keyhold_requests_total", requests("kms", "unknown", "4xx", "UnknownOperationException")) >= 5);
    assert.ok(value(samples, "keyhold_requests_total", requests("s3", "GetObject", "4xx", "NoSuchKey")) >= 5);
    assert.ok(value(samples, "keyhold_requests_total", requests("kms", "ListKeys", "4xx", "UnrecognizedClientException")) >= 5);
  });
});

describe("metrics listener readiness with PostgreSQL", () => {
  const missing = postgresMissing();

  it("is not ready while PostgreSQL is down, and ready again when it is back", async (t) => {
    if (skipWithoutPostgres(t, missing)) return;
    const pg = await startPostgres();
    let server: TestServer | undefined;
    try {
      server = await startTestServer({ config: { databaseUrl: pg.url, metricsPort: 0 } });
      const base = server.keyhold.metricsUrl!;
      assert.deepEqual(await probe(base, "/readyz"), { status: 200, body: { status: "ready" } });
      const { samples } = await scrape(base);
      assert.ok(value(samples, "keyhold_postgres_pool_connections", { state: "total" }) >= 1);
      pg.halt();
      const down = await probe(base, "/readyz");
      assert.equal(down.status, 503);
      assert.equal(down.body.failed?.database, "not writable");
      assert.equal((await probe(base, "/healthz")).status, 200);
      pg.resume();
      assert.deepEqual(await probe(base, "/readyz"), { status: 200, body: { status: "ready" } });
      await server.client().send(new CreateKeyCommand({}));
    } finally {
      await server?.stop().catch(() => undefined);
      pg.stop();
    }
  });
});

describe("metrics with --workers 2", () => {
  it("one scrape of the primary sums every worker's counts, and readiness asks every worker", async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const server = await spawnServer(dataDir, { KEYHOLD_WORKERS: "2", KEYHOLD_METRICS_PORT: String(port) });
    try {
      const base = `http://127.0.0.1:${port}`;
      // A new connection per request: the primary hands connections to the workers in turn.
      const kms = kmsClient(server.url, { requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false }) }) });
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
      for (let i = 0; i < 20; i++) await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from("x") }));
      // Both workers served some (each writes its own audit chain), so only a sum can give 20.
      const trail = new CloudTrailClient({
        endpoint: server.url,
        region: "us-east-1",
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      });
      const events = await trail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Encrypt" }], MaxResults: 50 }),
      );
      trail.destroy();
      kms.destroy();
      const chains = new Set(
        events.Events!.map(
          (e) => (JSON.parse(e.CloudTrailEvent!) as { additionalEventData: { keyholdChain: string } }).additionalEventData.keyholdChain,
        ),
      );
      assert.equal(events.Events!.length, 20);
      assert.equal(chains.size, 2, `Encrypt events in chains ${[...chains].join(", ")}`);
      const { samples } = await scrape(base);
      assert.equal(value(samples, "keyhold_requests_total", requests("kms", "Encrypt", "2xx")), 20);
      assert.equal(value(samples, "keyhold_request_duration_seconds_count", { service: "kms", operation: "Encrypt" }), 20);
      assert.deepEqual(await probe(base, "/readyz"), { status: 200, body: { status: "ready" } });
    } finally {
      await server.kill();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}
