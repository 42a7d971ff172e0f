/** What the benchmarks share: starting a server process, a keyhold on a fresh data directory, pre-signed request bytes, and how a benchmark runs. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { SERVER_NODE_FLAGS } from "../src/cli/server.js";

export const ACCESS_KEY_ID = "AKIABENCHKEYHOLD0001";
export const SECRET = "bench/secret/keyhold/000000000000000000000";
export const KEYHOLD_MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
/** The environment that gives a new data directory the bench's root credentials. */
export const ROOT_ENV = { KEYHOLD_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID, KEYHOLD_ROOT_SECRET_ACCESS_KEY: SECRET };
export const KEYHOLD_READY = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * The node flags a keyhold server starts with (SERVER_NODE_FLAGS: the bin's shebang, `npm start`,
 * the workers of --workers), so a benchmark measures what users run. BENCH_SERVER_NODE_FLAGS
 * replaces them ("" for none), to measure a change of them.
 */
const KEYHOLD_NODE_FLAGS =
  process.env.BENCH_SERVER_NODE_FLAGS !== undefined
    ? process.env.BENCH_SERVER_NODE_FLAGS.split(" ").filter((f) => f !== "")
    : [...SERVER_NODE_FLAGS];

export function start(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const flags = script === KEYHOLD_MAIN ? [...KEYHOLD_NODE_FLAGS, ...nodeArgs] : nodeArgs;
  const child = spawn(process.execPath, [...flags, script, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
}

export interface BenchCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A service of the AWS JSON 1.1 protocol: the name requests are signed for, and the X-Amz-Target prefix. */
export interface JsonService {
  signingName: string;
  targetPrefix: string;
}
export const KMS: JsonService = { signingName: "kms", targetPrefix: "TrentService" };
export const SECRETS_MANAGER: JsonService = { signingName: "secretsmanager", targetPrefix: "secretsmanager" };

export async function signedBytes(
  port: number,
  target: string,
  body: string,
  credentials: BenchCredentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
  service: JsonService = KMS,
): Promise<Buffer> {
  const signer = new SignatureV4({
    credentials,
    region: "us-east-1",
    service: service.signingName,
    sha256: Hash.bind(null, "sha256"),
  });
  const host = `127.0.0.1:${port}`;
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: "127.0.0.1",
    port,
    path: "/",
    headers: { host, "content-type": "application/x-amz-json-1.1", "x-amz-target": `${service.targetPrefix}.${target}` },
    body,
  });
  const headers = Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(
    `POST / HTTP/1.1\r\n${headers.join("\r\n")}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`,
  );
}

export interface KeyholdProcess {
  child: ChildProcess;
  port: number;
  dataDir: string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

/** `keyhold server` with these flags on a fresh temporary data directory (node flags such as `--cpu-prof` in `nodeArgs`). */
export async function startKeyhold(flags: string[] = [], nodeArgs: string[] = []): Promise<KeyholdProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "keyhold-bench-"));
  const { child, port } = await start(
    KEYHOLD_MAIN,
    ["server", "--port", "0", "--data-dir", dataDir, ...flags],
    ROOT_ENV,
    KEYHOLD_READY,
    nodeArgs,
  );
  return {
    child,
    port,
    dataDir,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The body of an Encrypt of 64 bytes under a new key made on the server at `port`. */
export async function encryptBody(port: number): Promise<string> {
  const kms = new KMSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
  });
  try {
    const keyId = (await kms.send(new CreateKeyCommand({ Description: "bench" }))).KeyMetadata!.KeyId!;
    return JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(64, 7).toString("base64") });
  } finally {
    kms.destroy();
  }
}

/** Runs a benchmark's main function; a failure is printed and sets the exit code. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}

/**
 * CPU seconds (user + system) a process and its children have used, from /proc (Linux): every
 * thread, the audit writer's included, and the workers a `keyhold server` forks (one per core by
 * default), which serve the requests while the process started is their primary.
 */
export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return 0; // a worker that ended between the listing and the read
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let seconds = (Number(fields[11]) + Number(fields[12])) / 100;
  for (const child of childrenOf(pid)) seconds += cpuSeconds(child);
  return seconds;
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}
