/**
 * `npm run bench:secrets` (and the third part of `npm run bench`): SigV4-signed GetSecretValue
 * requests at fixed concurrency against a fresh keyhold server, and in the same run the same
 * requests against a bare node:http server (bench/bare-secrets.ts) that parses the JSON, unwraps
 * the version's data key with AES-256-GCM, opens the value with it and answers the same JSON.
 * Prints requests/s, p50 and p99 and the ratio keyhold/bare.
 *
 * What keyhold does beyond the bare server is what makes it Secrets Manager: the signature, the
 * secret's lookup and Secrets Manager's authorization, KMS's Decrypt on the caller's behalf (the
 * key policy with kms:ViaService, the key's state), and two audit events (GetSecretValue and the
 * KMS Decrypt it made). The layouts and BENCH_SECONDS, BENCH_CONNECTIONS and BENCH_LAYOUT are
 * those of bench/kms.ts; keyhold and the bare server are measured in alternating slices.
 * BENCH_PROFILE=<dir> writes a CPU profile of each keyhold process there (`node --cpu-prof`).
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { chooseLoadRunner, compareLoads, type LoadResult } from "./load.js";
import {
  ACCESS_KEY_ID,
  SECRET,
  SECRETS_MANAGER,
  cpuSeconds,
  runBench,
  signedBytes,
  start,
  startKeyhold,
  type BenchCredentials,
} from "./servers.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const LAYOUT = process.env.BENCH_LAYOUT;
const PROFILE = process.env.BENCH_PROFILE;

/** A database secret in the shape AWS's RDS integration writes (about 150 bytes). */
const VALUE = JSON.stringify({
  engine: "postgres",
  host: "orders.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com",
  port: 5432,
  username: "orders_app",
  password: "Zq8#vN2!pW4$kL7@tR9^xB3&",
  dbname: "orders",
});

const FIRST = "root, aws/secretsmanager";

interface Scenario {
  name: string;
  secretId: string;
  credentials?: BenchCredentials;
}

/** The secrets and the caller of each scenario, made on the keyhold at `port`. */
async function scenarios(port: number): Promise<Scenario[]> {
  const endpoint = `http://127.0.0.1:${port}`;
  const root = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
  const sm = new SecretsManagerClient({ endpoint, region: "us-east-1", credentials: root });
  const kms = new KMSClient({ endpoint, region: "us-east-1", credentials: root });
  const iam = new IAMClient({ endpoint, region: "us-east-1", credentials: root });
  try {
    await sm.send(new CreateSecretCommand({ Name: "orders/db", SecretString: VALUE }));
    const key = (await kms.send(new CreateKeyCommand({ Description: "bench secrets" }))).KeyMetadata!;
    await sm.send(new CreateSecretCommand({ Name: "orders/db-cmk", SecretString: VALUE, KmsKeyId: key.Arn }));
    await sm.send(new CreateSecretCommand({ Name: "orders/db-app", SecretString: VALUE, Tags: [{ Key: "team", Value: "orders" }] }));
    // A realistic application identity: read only the secrets of its team, by tag.
    await iam.send(new CreateUserCommand({ UserName: "orders-app" }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "orders-app",
        PolicyName: "read-team-secrets",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
              Resource: "arn:aws:secretsmanager:us-east-1:000000000000:secret:orders/*",
              Condition: { StringEquals: { "secretsmanager:ResourceTag/team": "orders" } },
            },
          ],
        }),
      }),
    );
    const accessKey = (await iam.send(new CreateAccessKeyCommand({ UserName: "orders-app" }))).AccessKey!;
    const app = { accessKeyId: accessKey.AccessKeyId!, secretAccessKey: accessKey.SecretAccessKey! };
    // Each scenario answers before it is measured: a refusal would measure the refusal.
    for (const id of ["orders/db", "orders/db-cmk"]) {
      if ((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString !== VALUE) throw new Error(`${id} reads wrong`);
    }
    return [
      { name: FIRST, secretId: "orders/db" },
      { name: "root, customer key", secretId: "orders/db-cmk" },
      { name: "IAM user, by tag", secretId: "orders/db-app", credentials: app },
    ];
  } finally {
    sm.destroy();
    kms.destroy();
    iam.destroy();
  }
}

function row(name: string, layout: string, k: LoadResult, b: LoadResult): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  return `| ${name.padEnd(26)} | ${layout.padEnd(7)} | ${f(k.rps).padStart(7)} | ${f(k.p50ms, 2).padStart(6)} | ${f(k.p99ms, 2).padStart(6)} | ${f(b.rps).padStart(10)} | ${f(b.p50ms, 2).padStart(6)} | ${f(b.p99ms, 2).padStart(6)} | ${f(k.rps / b.rps, 2).padStart(5)} |`;
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  // Every scenario in the layout the goal is set for (as for Encrypt: workers on every core, the
  // audit fsynced within 100 ms); the first scenario alone in the others, to keep the run short.
  const layouts: { workers: number; extra: string[]; label: string; only?: string }[] = [
    { workers: 1, extra: [], label: "1 proc", only: FIRST },
    ...(cores > 1 ? [{ workers: cores, extra: [], label: `${cores} wkrs`, only: FIRST }] : []),
    { workers: cores, extra: ["--audit-sync", "periodic"], label: `${cores}w prd` },
  ].filter((l) => !LAYOUT || l.label === LAYOUT);
  if (layouts.length === 0) throw new Error(`BENCH_LAYOUT ${LAYOUT} names no layout`);
  const bare = fileURLToPath(new URL("./bare-secrets.js", import.meta.url));
  const client = chooseLoadRunner();
  process.stdout.write(
    `GetSecretValue (${Buffer.byteLength(VALUE)}-byte value): keyhold vs bare node:http (one process, JSON + AES-256-GCM unwrap + AES-256-GCM open), ` +
      `${CONNECTIONS} connections, ${SECONDS} s each, ${cores} cores, node ${process.version}, load from ${client.name}\n\n`,
  );
  process.stdout.write("| GetSecretValue             | keyhold | req/s | p50 ms | p99 ms | bare req/s | p50 ms | p99 ms | ratio |\n");
  process.stdout.write("|----------------------------|---------|------:|-------:|-------:|-----------:|-------:|-------:|------:|\n");
  // CPU per request (every keyhold process, the bare server's one) depends less on what else the
  // machine runs than requests per second do; printed under the table.
  const cpuNotes: string[] = [];
  for (const layout of layouts) {
    const keyhold = await startKeyhold(
      ["--workers", String(layout.workers), ...layout.extra],
      PROFILE ? ["--cpu-prof", "--cpu-prof-dir", PROFILE] : [],
    );
    let ceiling: Awaited<ReturnType<typeof start>> | undefined;
    try {
      const list = await scenarios(keyhold.port);
      ceiling = await start(
        bare,
        list.flatMap((s) => ["--secret", `${s.secretId}=${VALUE}`]),
        {},
        /bare secrets listening on (\d+)/,
      );
      let first = true;
      for (const s of list) {
        if (layout.only !== undefined && s.name !== layout.only) continue;
        const body = JSON.stringify({ SecretId: s.secretId });
        const targets = [
          { port: keyhold.port, request: await signedBytes(keyhold.port, "GetSecretValue", body, s.credentials, SECRETS_MANAGER) },
          { port: ceiling.port, request: await signedBytes(ceiling.port, "GetSecretValue", body, undefined, SECRETS_MANAGER) },
        ];
        // Warm-up; a keyhold just started (most of all with --workers) runs slower for its first seconds.
        const warmUp = Math.min(first ? 4 : 1, SECONDS);
        first = false;
        for (const t of targets) await client.run("127.0.0.1", t.port, t.request, CONNECTIONS, warmUp);
        const pids = [keyhold.child.pid!, ceiling.child.pid!];
        const cpuBefore = pids.map(cpuSeconds);
        const [k, b] = await compareLoads(targets, CONNECTIONS, SECONDS, Math.max(1, Math.round(SECONDS)), client.run);
        const cpu = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!);
        if (k!.errors > 0) throw new Error(`${s.name}: keyhold answered ${k!.errors} requests with an error`);
        if (b!.errors > 0) throw new Error(`${s.name}: the bare server answered ${b!.errors} requests with an error`);
        process.stdout.write(row(s.name, layout.label, k!, b!) + "\n");
        cpuNotes.push(
          `${s.name}, ${layout.label}: server CPU per request keyhold ${((cpu[0]! / k!.requests) * 1e6).toFixed(0)} µs, ` +
            `bare ${((cpu[1]! / b!.requests) * 1e6).toFixed(0)} µs`,
        );
      }
    } finally {
      ceiling?.child.kill("SIGTERM");
      await keyhold.stop();
    }
  }
  process.stdout.write(`\n${cpuNotes.join("\n")}\n`);
}

runBench(main);
