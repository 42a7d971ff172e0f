/** Test harness: a keyhold server in-process on a free port with a throw-away data directory. */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import { startKeyhold, type Keyhold, type StartOptions } from "../src/app.js";
import type { Clock } from "../src/clock.js";
import type { Config } from "../src/config.js";

export const ACCESS_KEY_ID = "AKIATESTKEYHOLD00001";
export const SECRET_ACCESS_KEY = "test/secret/keyhold/0000000000000000000000";
export const ACCOUNT_ID = "111122223333";

export interface TestServer {
  keyhold: Keyhold;
  dataDir: string;
  url: string;
  logs: string[];
  client(region?: string, options?: { systemClockOffset?: number }): KMSClient;
  stop(): Promise<void>;
}

/** Every temporary directory this test process made, and every server process it started. */
const made = new Set<string>();
const children = new Set<ChildProcess>();

// Temporary directories hold master key files and sealed keys: they go when the test process ends,
// whether or not a test removed its own (a failed assertion skips its cleanup). A server process a
// test left running is killed first, so it writes nothing into a directory being removed.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

/** Everything an async iterable yields, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

export function tempDir(prefix = "keyhold-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** A child process (a keyhold server) to kill, if still running, when this test process ends. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

export function testConfig(dataDir: string, extra: Partial<Config> = {}): Config {
  return {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    region: "us-east-1",
    accountId: ACCOUNT_ID,
    rootAccessKeyId: ACCESS_KEY_ID,
    rootSecretAccessKey: SECRET_ACCESS_KEY,
    schedulerIntervalMs: 3_600_000,
    workers: 1,
    auditDigestIntervalMs: 3_600_000,
    auditRetentionDays: 365,
    ...extra,
  };
}

export async function startTestServer(
  options: { clock?: Clock; config?: Partial<Config>; dataDir?: string; start?: Partial<StartOptions> } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const logs: string[] = [];
  const keyhold = await startKeyhold(testConfig(dataDir, options.config), {
    ...options.start,
    clock: options.clock,
    log: { info: (m) => logs.push(m), error: (m) => logs.push(m) },
  });
  const clients: KMSClient[] = [];
  return {
    keyhold,
    dataDir,
    url: keyhold.url,
    logs,
    client(region = "us-east-1", clientOptions = {}) {
      const c = kmsClient(keyhold.url, { region, ...clientOptions });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await keyhold.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A KMS client for a keyhold at `url`, signing with the test root credentials. */
export function kmsClient(url: string, options: Partial<KMSClientConfig> = {}): KMSClient {
  return new KMSClient({
    endpoint: url,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
    ...options,
  });
}

/** Runs `fn`, expecting it to throw an AWS SDK error with the given name; returns the error. */
export async function rejects(fn: () => Promise<unknown>, name: string): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await fn();
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    if (e.name !== name) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}
