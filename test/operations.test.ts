/**
 * Running keyhold in production (issue 22): health probes, the regions served, and what a new user
 * meets on the command line (version, help, a busy port, a missing master key file, a closed pipe,
 * the root credentials file, temporary directories left behind).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { ConfigError, loadConfig } from "../src/config.js";
import { AWS_REGIONS } from "../src/regions.js";
import { kmsClient, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { spawnServer } from "./process.js";
import { s3Client } from "./s3.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Every event in the audit trail, over all chains. */
async function auditCount(server: TestServer): Promise<number> {
  let n = 0;
  for (const chain of await server.keyhold.audit.store.chains()) for await (const _ of server.keyhold.audit.store.records(chain)) n++;
  return n;
}

function keyhold(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
}

describe("health probes", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it("/_keyhold/healthz and /_keyhold/readyz answer unsigned with a small JSON body, and are not recorded in the trail", async () => {
    const before = await auditCount(server);
    const health = await fetch(`${server.url}/_keyhold/healthz`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await fetch(`${server.url}/_keyhold/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
    const head = await fetch(`${server.url}/_keyhold/readyz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await auditCount(server), before, "the probes wrote no audit event");
    // The control: an unsigned request anywhere else is an API call, refused and recorded.
    const other = await fetch(`${server.url}/health`);
    assert.equal(other.status, 403);
    assert.match(await other.text(), /<Code>AccessDenied<\/Code>/);
    assert.equal(await auditCount(server), before + 1);
  });

  it("other paths and methods under /_keyhold/ are refused without reaching S3; a virtual-hosted bucket's _keyhold/ key is S3's", async () => {
    const unknown = await fetch(`${server.url}/_keyhold/metrics`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { status: string }).status, "not found");
    const post = await fetch(`${server.url}/_keyhold/readyz`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    // bucket.localhost/_keyhold/healthz is the object `_keyhold/healthz` of the bucket: S3 answers.
    const vhost = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/_keyhold/healthz`, { headers: { host: `probe.localhost:${new URL(server.url).port}` } }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(vhost.status, 403);
    assert.match(vhost.body, /<Code>AccessDenied<\/Code>/);
  });

  it("readiness goes false while draining, when the database refuses a write and when the audit trail cannot be written; health stays true", async () => {
    const repo = server.keyhold.repo;
    const store = server.keyhold.audit.store;
    const readiness = async () => {
      const r = await fetch(`${server.url}/_keyhold/readyz`);
      return { status: r.status, body: (await r.json()) as { status: string; failed?: Record<string, string> } };
    };

    const writeSeal = repo.writeSeal.bind(repo);
    repo.writeSeal = () => Promise.reject(new Error("SQLITE_READONLY: attempt to write a readonly database"));
    let r = await readiness();
    assert.equal(r.status, 503);
    assert.deepEqual(r.body, { status: "not ready", failed: { database: "not writable" } });
    repo.writeSeal = writeSeal;
    assert.equal((await readiness()).status, 200);

    // The trail's store fails: the call is not served, and the node stops being ready until a write succeeds.
    const append = store.append.bind(store);
    store.append = () => Promise.reject(new Error("ENOSPC: no space left on device"));
    const kms = server.client();
    await assert.rejects(() => kms.send(new ListKeysCommand({})));
    r = await readiness();
    assert.equal(r.status, 503);
    assert.deepEqual(r.body.failed, { audit: "the audit trail cannot be written" });
    assert.equal((await fetch(`${server.url}/_keyhold/healthz`)).status, 200);
    store.append = append;
    await kms.send(new ListKeysCommand({}));
    assert.equal((await readiness()).status, 200);

    server.keyhold.drain();
    r = await readiness();
    assert.equal(r.status, 503);
    assert.deepEqual(r.body.failed, { serving: "draining: this node is shutting down" });
    assert.equal((await fetch(`${server.url}/_keyhold/healthz`)).status, 200);
    // Draining still serves the calls that arrive meanwhile.
    await kms.send(new ListKeysCommand({}));
  });
});

describe("regions", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { extraRegions: ["dc-east-1"] } });
  });
  after(() => server.stop());

  it("the regions the tests use are AWS's", () => {
    for (const r of ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"]) assert.ok(AWS_REGIONS.has(r), r);
    assert.ok(!AWS_REGIONS.has("us-east-9"));
  });

  it("a request signed for a region that is not AWS's is refused as AWS refuses a bad credential scope", async () => {
    const kms = kmsClient(server.url, { region: "us-east-9" });
    const e = await rejects(() => kms.send(new CreateKeyCommand({})), "InvalidSignatureException");
    assert.match(e.message, /Credential should be scoped to a valid region, not 'us-east-9'/);
    assert.equal(e.$metadata?.httpStatusCode, 400);
    kms.destroy();
    const s3 = s3Client(server.url, undefined, { region: "us-east-9" });
    const s = await rejects(() => s3.send(new ListBucketsCommand({})), "AuthorizationHeaderMalformed");
    assert.match(s.message, /region 'us-east-9' is wrong/);
    s3.destroy();
  });

  it("a private region added with KEYHOLD_EXTRA_REGIONS is served", async () => {
    const kms = kmsClient(server.url, { region: "dc-east-1" });
    const key = await kms.send(new CreateKeyCommand({}));
    assert.match(key.KeyMetadata!.Arn!, /^arn:aws:kms:dc-east-1:/);
    kms.destroy();
  });

  it("--region must be a served region; KEYHOLD_EXTRA_REGIONS names must look like regions", () => {
    assert.throws(
      () => loadConfig({}, ["--region", "us-east-9"]),
      (e: unknown) => e instanceof ConfigError && /not an AWS region/.test(e.message),
    );
    assert.equal(loadConfig({ KEYHOLD_EXTRA_REGIONS: "dc-east-1, dc-west-1" }, ["--region", "dc-west-1"]).region, "dc-west-1");
    assert.throws(() => loadConfig({ KEYHOLD_EXTRA_REGIONS: "Berlin" }, []), ConfigError);
    const r = keyhold(["server", "--region", "us-east-9", "--data-dir", join(tempDir(), "data")]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^keyhold: region 'us-east-9' is not an AWS region/);
  });
});

describe("the keyhold command, as a new user meets it", () => {
  it("keyhold --version prints package.json's version; --help says what keyhold is now", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const v = keyhold(["--version"]);
    assert.equal(v.status, 0);
    assert.equal(v.stdout, `keyhold ${pkg.version}\n`);
    const help = keyhold(["--help"]);
    assert.equal(help.status, 0);
    assert.doesNotMatch(help.stdout, /the AWS KMS API/);
    assert.match(help.stdout.split("\n")[0]!, /encryption and key management that speaks the AWS APIs/);
    // Every service keyhold serves is named, and the operator's commands are listed.
    const intro = help.stdout.slice(0, help.stdout.indexOf("Usage:")).replace(/\s+/g, " ");
    for (const part of ["KMS", "S3 with server-side encryption", "IAM and STS", "Secrets Manager", "CloudTrail audit"]) {
      assert.ok(intro.includes(part), `--help names ${part}: ${intro}`);
    }
    assert.match(help.stdout, /keyhold backup --out <dir>/);
    assert.match(help.stdout, /keyhold restore <dir> --data-dir <new>/);
    assert.match(help.stdout, /keyhold --version/);
  });

  it("the README's command works from a clone: npm run keyhold -- …", () => {
    assert.match(readFileSync(join(ROOT, "README.md"), "utf8"), /npm run keyhold -- account create/);
    const r = spawnSync("npm", ["run", "--silent", "keyhold", "--", "--version"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^keyhold \d+\.\d+\.\d+\n$/);
  });

  it("keyhold operations | head: a closed pipe ends it quietly, with no stack trace", async () => {
    const child = spawn(process.execPath, [MAIN, "operations"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // Read one chunk, then close the pipe as `head` does.
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.equal(stderr, "");
    assert.equal(code, 0);
  });

  it("a busy port is said in one line before anything is initialized", async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", () => resolve()));
    const port = (busy.address() as { port: number }).port;
    try {
      const data = join(tempDir(), "data");
      const r = keyhold(["server", "--port", String(port), "--data-dir", data]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `keyhold: port ${port} on 127.0.0.1 is already in use (another keyhold?); choose another with --port / KEYHOLD_PORT\n`,
      );
      assert.equal(existsSync(data), false, "the data directory was not initialized");
    } finally {
      busy.close();
    }
  });

  it("the first start shows the generated root credentials; a later start says where their file is", async () => {
    const data = join(tempDir(), "data");
    // No KEYHOLD_ROOT_* in the environment: keyhold generates the credentials.
    const first = await spawnServer(data, { KEYHOLD_ROOT_ACCESS_KEY_ID: "", KEYHOLD_ROOT_SECRET_ACCESS_KEY: "" });
    await first.kill();
    assert.match(first.output(), /export AWS_ACCESS_KEY_ID=AKIA/);
    const second = await spawnServer(data, { KEYHOLD_ROOT_ACCESS_KEY_ID: "", KEYHOLD_ROOT_SECRET_ACCESS_KEY: "" });
    // The note follows the "listening" line that spawnServer waits for: give it a moment to arrive.
    const note = new RegExp(`root credentials of account \\d{12}: ${join(data, "root-credentials")}`);
    for (let waited = 0; !note.test(second.output()) && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await second.kill();
    assert.doesNotMatch(second.output(), /AWS_SECRET_ACCESS_KEY/);
    assert.match(second.output(), note);
  });

  it("--master-key-file naming a missing file, on an initialized data directory, is refused and nothing is created", async () => {
    const dir = tempDir();
    const data = join(dir, "data");
    const server = await spawnServer(data);
    await server.kill();
    const missing = join(dir, "keys", "typo.key");
    const r = keyhold(["server", "--port", "0", "--data-dir", data, "--master-key-file", missing]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^keyhold: master key file ${missing} does not exist`));
    assert.equal(existsSync(join(dir, "keys")), false, "no file or folder was created");
    // The right key still unseals it.
    const again = await spawnServer(data);
    await again.kill();
  });

  it("temporary directories of a test process are removed when it ends, even if its test did not remove them", () => {
    const helpers = fileURLToPath(new URL("./helpers.js", import.meta.url));
    const r = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", `import { tempDir } from ${JSON.stringify(helpers)}; console.log(tempDir());`],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = r.stdout.trim();
    assert.match(dir, /keyhold-test-/);
    assert.equal(existsSync(dir), false, `${dir} is left behind`);
  });
});
