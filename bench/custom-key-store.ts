/**
 * `npm run bench:hsm`: Encrypt of 64 bytes under a key in a custom key store (AES-GCM inside a
 * SoftHSM2 token, through PKCS#11) against the same under a software key, on one keyhold server,
 * in alternating slices so both see the same machine (issue 20's goal: ratio >= 0.5). Needs
 * softhsm2 and openssl. Run it alone: on a shared machine the ratio is what to read.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DescribeCustomKeyStoresCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { chooseLoadRunner, compareLoads } from "./load.js";
import { ACCESS_KEY_ID, KEYHOLD_MAIN, KEYHOLD_READY, ROOT_ENV, SECRET, runBench, signedBytes, start } from "./servers.js";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so";
const PIN = "bench-kmsuser-1";
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

function run(command: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(command, args, { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${command} ${args[0]} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

runBench(async () => {
  const dir = mkdtempSync(join(tmpdir(), "keyhold-bench-hsm-"));
  const tokens = join(dir, "tokens");
  mkdirSync(tokens);
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf };
  for (const label of ["bench-a", "bench-b"]) {
    run("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", "so-pin-1234", "--pin", PIN], env);
  }
  run(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "ca.key"),
      "-out",
      join(dir, "ca.crt"),
      "-subj",
      "/CN=ca",
      "-days",
      "2",
    ],
    {},
  );
  writeFileSync(join(dir, "pin"), PIN + "\n", { mode: 0o600 });
  const dataDir = join(dir, "data");
  const { child, port } = await start(
    KEYHOLD_MAIN,
    ["server", "--port", "0", "--data-dir", dataDir],
    { ...ROOT_ENV, ...env },
    KEYHOLD_READY,
  );
  const kms = new KMSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
  });
  try {
    const clusterId = run(
      process.execPath,
      [
        KEYHOLD_MAIN,
        "hsm",
        "cluster",
        "create",
        "--module",
        MODULE,
        "--token-label",
        "bench-a",
        "--token-label",
        "bench-b",
        "--pin-file",
        join(dir, "pin"),
        "--trust-anchor",
        join(dir, "ca.crt"),
        "--data-dir",
        dataDir,
      ],
      { ...ROOT_ENV, ...env },
    ).trim();
    const { readFileSync } = await import("node:fs");
    const storeId = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: "bench",
          CloudHsmClusterId: clusterId,
          TrustAnchorCertificate: readFileSync(join(dir, "ca.crt"), "utf8"),
          KeyStorePassword: PIN,
        }),
      )
    ).CustomKeyStoreId!;
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const state = (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }))).CustomKeyStores![0]!.ConnectionState;
    if (state !== "CONNECTED") throw new Error(`the store is ${state}`);
    const hsmKey = (await kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: storeId }))).KeyMetadata!.KeyId!;
    const softKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const body = (keyId: string) => JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(64, 7).toString("base64") });
    const runner = chooseLoadRunner();
    const [soft, hsm] = await compareLoads(
      [
        { port, request: await signedBytes(port, "Encrypt", body(softKey)) },
        { port, request: await signedBytes(port, "Encrypt", body(hsmKey)) },
      ],
      CONNECTIONS,
      SECONDS,
      4,
      runner.run,
    );
    const line = (name: string, r: typeof soft) =>
      `${name.padEnd(28)} ${r!.rps.toFixed(0).padStart(7)} req/s  p50 ${r!.p50ms.toFixed(2)} ms  p99 ${r!.p99ms.toFixed(2)} ms  errors ${r!.errors}`;
    process.stdout.write(`Encrypt 64 B, ${CONNECTIONS} connections, ${SECONDS} s in 4 alternating slices (${runner.name})\n`);
    process.stdout.write(line("software key", soft) + "\n");
    process.stdout.write(line("custom key store (SoftHSM2)", hsm) + "\n");
    process.stdout.write(`ratio custom key store / software: ${(hsm!.rps / soft!.rps).toFixed(2)} (goal >= 0.5)\n`);
  } finally {
    kms.destroy();
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
});
