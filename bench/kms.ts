/**
 * `npm run bench`: SigV4-signed KMS requests at fixed concurrency against a fresh keyhold server,
 * and in the same run the same requests against a bare node:http server doing only JSON parsing
 * and the one node:crypto operation of the request (AES-256-GCM, ECDSA/RSA signature, HMAC). Prints requests/s, p50 and p99 and the ratio keyhold/bare.
 *
 * keyhold is measured as one process and, when the machine has more than one core, with
 * `--workers <cores>` as well; the bare server is always one process.
 * BENCH_LAYOUT and BENCH_SCENARIO pick one layout and the scenarios whose name starts with it.
 * BENCH_SECONDS (default 5) sets each measurement's duration, BENCH_CONNECTIONS (default 32) the
 * concurrency. keyhold and the bare server are measured in alternating one-second slices, so a
 * drift in the machine's speed during the run touches both sides of the ratio alike.
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { chooseLoadRunner, compareLoads, type LoadResult } from "./load.js";
import { ACCESS_KEY_ID, SECRET, runBench, signedBytes, start, startKeyhold, type BenchCredentials } from "./servers.js";
import { measurePolicyEvaluation } from "./policy.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Only this layout (its label, such as "2w prd"), for measuring one change quickly. */
const LAYOUT = process.env.BENCH_LAYOUT;
/** Only the scenarios whose name starts with this (such as "Encrypt 64 B"). */
const SCENARIO = process.env.BENCH_SCENARIO;
function row(name: string, layout: string, k: LoadResult, b: LoadResult): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  return `| ${name.padEnd(23)} | ${layout.padEnd(7)} | ${f(k.rps).padStart(7)} | ${f(k.p50ms, 2).padStart(6)} | ${f(k.p99ms, 2).padStart(6)} | ${f(b.rps).padStart(10)} | ${f(b.p50ms, 2).padStart(6)} | ${f(b.p99ms, 2).padStart(6)} | ${f(k.rps / b.rps, 2).padStart(5)} |`;
}

/**
 * A realistic non-root caller: an IAM user with an identity policy limited by encryption context,
 * on a key whose console-style policy delegates to IAM and names key administrators and users.
 */
async function iamCaller(port: number, kms: KMSClient): Promise<{ keyId: string; credentials: BenchCredentials }> {
  const endpoint = `http://127.0.0.1:${port}`;
  const iam = new IAMClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET } });
  await iam.send(new CreateUserCommand({ UserName: "bench-app" }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "bench-app",
      PolicyName: "encrypt-orders",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            Resource: "*",
            Condition: { StringEquals: { "kms:EncryptionContext:app": "orders" } },
          },
        ],
      }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "bench-app" }))).AccessKey!;
  // The key policy names a key administrator, who must exist for KMS to take the policy.
  await iam.send(new CreateUserCommand({ UserName: "key-admin" }));
  iam.destroy();
  const account = "000000000000";
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "Key administrators",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:user/key-admin` },
        Action: [
          "kms:Create*",
          "kms:Describe*",
          "kms:Enable*",
          "kms:List*",
          "kms:Put*",
          "kms:Update*",
          "kms:Revoke*",
          "kms:Disable*",
          "kms:Get*",
          "kms:Delete*",
          "kms:ScheduleKeyDeletion",
          "kms:CancelKeyDeletion",
        ],
        Resource: "*",
      },
      {
        Sid: "Deny decrypt outside the VPN",
        Effect: "Deny",
        Principal: "*",
        Action: "kms:Decrypt",
        Resource: "*",
        Condition: { NotIpAddress: { "aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"] } },
      },
    ],
  });
  const keyId = (await kms.send(new CreateKeyCommand({ Description: "bench iam", Policy: policy }))).KeyMetadata!.KeyId!;
  return { keyId, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } };
}

async function scenarios(port: number): Promise<[string, string, string, BenchCredentials?][]> {
  const kms = new KMSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
  });
  const user = await iamCaller(port, kms);
  const keyId = (await kms.send(new CreateKeyCommand({ Description: "bench" }))).KeyMetadata!.KeyId!;
  const blob = Buffer.from((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(64, 7) }))).CiphertextBlob!).toString(
    "base64",
  );
  const ecc = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.KeyId!;
  const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.KeyId!;
  const hmac = (await kms.send(new CreateKeyCommand({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }))).KeyMetadata!.KeyId!;
  const message = Buffer.alloc(64, 7).toString("base64");
  kms.destroy();
  return [
    ["Encrypt 64 B", "Encrypt", JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(64, 7).toString("base64") })],
    [
      "Encrypt 64 B, IAM user",
      "Encrypt",
      JSON.stringify({ KeyId: user.keyId, Plaintext: Buffer.alloc(64, 7).toString("base64"), EncryptionContext: { app: "orders" } }),
      user.credentials,
    ],
    ["Encrypt 4 KiB", "Encrypt", JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(4096, 7).toString("base64") })],
    ["Decrypt 64 B", "Decrypt", JSON.stringify({ CiphertextBlob: blob })],
    ["GenerateDataKey AES_256", "GenerateDataKey", JSON.stringify({ KeyId: keyId, KeySpec: "AES_256" })],
    ["Sign ECDSA P-256", "Sign", JSON.stringify({ KeyId: ecc, Message: message, SigningAlgorithm: "ECDSA_SHA_256" })],
    ["Sign RSA-2048 PKCS#1", "Sign", JSON.stringify({ KeyId: rsa, Message: message, SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256" })],
    ["GenerateMac HMAC-256", "GenerateMac", JSON.stringify({ KeyId: hmac, Message: message, MacAlgorithm: "HMAC_SHA_256" })],
  ];
}

/** The scenario also measured against the floor (floor-server.ts): the root's Encrypt of 64 bytes. */
const FLOOR_SCENARIO = "Encrypt 64 B";

async function main(): Promise<void> {
  const cores = availableParallelism();
  // Each audit event fsynced before its response (--audit-sync commit), then the same with
  // --audit-sync periodic (in the OS before the response, fsynced within 100 ms) for the Encrypt
  // scenarios. Every flag is given, so the layouts stay what their labels say whatever the defaults.
  const layouts: { workers: number; extra: string[]; label: string; only?: RegExp }[] = [
    { workers: 1, extra: ["--audit-sync", "commit"], label: "1 proc" },
    ...(cores > 1 ? [{ workers: cores, extra: ["--audit-sync", "commit"], label: `${cores} wkrs` }] : []),
    { workers: cores, extra: ["--audit-sync", "periodic"], label: `${cores}w prd`, only: /^Encrypt 64 B/ },
  ].filter((l) => !LAYOUT || l.label === LAYOUT);
  if (layouts.length === 0) throw new Error(`BENCH_LAYOUT ${LAYOUT} names no layout`);
  const bare = fileURLToPath(new URL("./bare-server.js", import.meta.url));
  const floorServer = fileURLToPath(new URL("./floor-server.js", import.meta.url));
  const floorRows: string[] = [];
  const client = chooseLoadRunner();
  process.stdout.write(
    `keyhold vs bare node:http (one process), ${CONNECTIONS} connections, ${SECONDS} s each, ${cores} cores, node ${process.version}, load from ${client.name}\n\n`,
  );
  process.stdout.write("| scenario                | keyhold | req/s | p50 ms | p99 ms | bare req/s | p50 ms | p99 ms | ratio |\n");
  process.stdout.write("|-------------------------|---------|------:|-------:|-------:|-----------:|-------:|-------:|------:|\n");
  for (const layout of layouts) {
    const keyhold = await startKeyhold(["--workers", String(layout.workers), ...layout.extra]);
    const ceiling = await start(bare, [], {}, /bare listening on (\d+)/);
    const sync = layout.extra.includes("periodic") ? "periodic" : "commit";
    const floor = await start(floorServer, ["--workers", String(layout.workers), "--sync", sync], {}, /floor listening on (\d+)/);
    let firstScenario = true;
    try {
      for (const [name, target, body, credentials] of await scenarios(keyhold.port)) {
        if (layout.only && !layout.only.test(name)) continue;
        if (SCENARIO && !name.startsWith(SCENARIO)) continue;
        const targets = [
          { port: keyhold.port, request: await signedBytes(keyhold.port, target, body, credentials) },
          { port: ceiling.port, request: await signedBytes(ceiling.port, target, body) },
          ...(name === FLOOR_SCENARIO ? [{ port: floor.port, request: await signedBytes(floor.port, target, body) }] : []),
        ];
        // Warm-up; a keyhold just started (most of all with --workers) runs slower for its first seconds.
        const warmUp = Math.min(firstScenario ? 4 : 1, SECONDS);
        firstScenario = false;
        for (const t of targets) await client.run("127.0.0.1", t.port, t.request, CONNECTIONS, warmUp);
        const [k, b, f] = await compareLoads(targets, CONNECTIONS, SECONDS, Math.max(1, Math.round(SECONDS)), client.run);
        if (k!.errors > 0) throw new Error(`${name}: keyhold answered ${k!.errors} requests with an error`);
        if (f && f.errors > 0) throw new Error(`${name}: the floor server answered ${f.errors} requests with an error`);
        process.stdout.write(row(name, layout.label, k!, b!) + "\n");
        if (f) {
          const r = (x: LoadResult) => (x.rps / b!.rps).toFixed(2).padStart(5);
          floorRows.push(`| ${layout.label.padEnd(7)} | ${sync.padEnd(8)} | ${f.rps.toFixed(0).padStart(11)} | ${r(f)} | ${r(k!)} |`);
        }
      }
    } finally {
      ceiling.child.kill("SIGTERM");
      floor.child.kill("SIGTERM");
      await keyhold.stop();
    }
  }
  process.stdout.write(
    `\nThe floor (bench/floor-server.ts) on ${FLOOR_SCENARIO}, in the same slices: SigV4, AES-256-GCM, a CloudTrail-shaped record, ` +
      `its hash-chain link and a group-committed append before the response, and nothing else\n\n`,
  );
  process.stdout.write("| keyhold | audit    | floor req/s | floor/bare | keyhold/bare |\n");
  process.stdout.write("|---------|----------|------------:|------:|------:|\n");
  for (const r of floorRows) process.stdout.write(r + "\n");
}

async function all(): Promise<void> {
  await main();
  const evaluation = measurePolicyEvaluation();
  process.stdout.write(
    `\npolicy evaluation (in process, compiled policies cached): ${evaluation.microseconds.toFixed(2)} µs per decision ` +
      `for an IAM user's Encrypt against a console-style key policy and a conditional identity policy (${evaluation.decisions} decisions)\n`,
  );
}

runBench(all);
