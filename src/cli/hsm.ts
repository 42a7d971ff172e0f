/**
 * `keyhold hsm cluster create | list` and `keyhold hsm zeroize`: the operator's side of HSM
 * clusters, which custom key stores (CreateCustomKeyStore's CloudHsmClusterId) are made on.
 * The PIN is read from a file (never a flag: flags show in `ps`).
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { openStorage } from "../app.js";
import { systemClock } from "../clock.js";
import { consoleLogger } from "../log.js";
import { Audit } from "../audit/audit.js";
import { auditChainId, openAuditStore } from "../audit/open.js";
import { CLUSTER_ID, getCluster, listClusters, tokenName, type ClusterToken } from "../hsm/clusters.js";
import { ClusterSetupError, createCluster, zeroizeCluster } from "../hsm/cluster-setup.js";
import { TokenError } from "../hsm/token.js";

export const HSM_USAGE = `  keyhold hsm cluster create --module <pkcs11.so> --token-label <label> [--token-label <label> | --slot <n>]...
                           --pin-file <file> --trust-anchor <customerCA.crt> [--account-id <12 digits>] [server options]
                                                          register a cluster of PKCS#11 tokens; prints its cluster- id
  keyhold hsm cluster list [--account-id <12 digits>] [server options]
  keyhold hsm zeroize <cluster-id> --pin-file <file> [--confirm <cluster-id>] [--account-id <12 digits>] [server options]
                                                          destroy every keyhold key in the cluster's tokens (irreversible)`;

/** Takes `--name value` pairs this command knows out of argv, leaving the server options. */
function take(args: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = args.indexOf(name); i >= 0; i = args.indexOf(name)) {
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) throw new ConfigError(`${name} needs a value`);
    values.push(value);
    args.splice(i, 2);
  }
  return values;
}

function one(args: string[], name: string, required: true): string;
function one(args: string[], name: string, required: false): string | undefined;
function one(args: string[], name: string, required: boolean): string | undefined {
  const values = take(args, name);
  if (values.length > 1) throw new ConfigError(`${name} is given more than once`);
  if (required && values.length === 0) throw new ConfigError(`${name} is required\n${HSM_USAGE}`);
  return values[0];
}

function readPin(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the PIN file ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  const pin = text.replace(/\r?\n$/, "");
  if (pin.length === 0 || pin.includes("\n")) throw new ConfigError(`the PIN file ${path} must hold the PIN on one line`);
  return pin;
}

function accountOf(args: string[], config: () => Config): { accountId: string; config: Config } {
  const requested = one(args, "--account-id", false);
  if (requested !== undefined && !/^\d{12}$/.test(requested)) throw new ConfigError("--account-id needs 12 digits");
  const c = config();
  return { accountId: requested ?? c.accountId, config: c };
}

export async function runHsm(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (group === "cluster") {
    const [command, ...args] = rest;
    if (command === "create") return clusterCreate(args);
    if (command === "list") return clusterList(args);
  }
  if (group === "zeroize") return zeroize(rest);
  throw new ConfigError(`unknown hsm command '${[group, rest[0]].filter(Boolean).join(" ")}'\n${HSM_USAGE}`);
}

async function clusterCreate(args: string[]): Promise<number> {
  const module = one(args, "--module", true);
  const tokens: ClusterToken[] = [
    ...take(args, "--token-label").map((tokenLabel) => ({ tokenLabel })),
    ...take(args, "--slot").map((s) => {
      if (!/^\d+$/.test(s)) throw new ConfigError("--slot needs a number");
      return { slot: Number(s) };
    }),
  ];
  if (tokens.length === 0) throw new ConfigError("name the cluster's tokens with --token-label (or --slot)");
  const pin = readPin(one(args, "--pin-file", true));
  const anchorFile = one(args, "--trust-anchor", true);
  let trustAnchor: string;
  try {
    trustAnchor = readFileSync(anchorFile, "utf8");
  } catch {
    throw new ConfigError(`cannot read the trust anchor certificate ${anchorFile}`);
  }
  const { accountId, config } = accountOf(args, () => loadConfig(process.env, args));
  const { repo, keystore } = await openStorage(config);
  try {
    const cluster = await createCluster(repo, systemClock, { accountId, region: config.region, module, tokens, trustAnchor, pin });
    process.stdout.write(`${cluster.clusterId}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ClusterSetupError || error instanceof TokenError) throw new ConfigError(error.message);
    throw error;
  } finally {
    await repo.close();
    keystore.close();
  }
}

async function clusterList(args: string[]): Promise<number> {
  const { accountId, config } = accountOf(args, () => loadConfig(process.env, args));
  const { repo, keystore } = await openStorage(config);
  try {
    for (const c of await listClusters(repo, accountId)) {
      process.stdout.write(
        `${c.clusterId}  ${c.module}  ${c.tokens.map(tokenName).join(", ")}  created ${new Date(c.createdAt).toISOString()}\n`,
      );
    }
    return 0;
  } finally {
    await repo.close();
    keystore.close();
  }
}

async function zeroize(args: string[]): Promise<number> {
  const clusterId = args.shift();
  if (clusterId === undefined || !CLUSTER_ID.test(clusterId)) throw new ConfigError(`name the cluster to zeroize\n${HSM_USAGE}`);
  const confirm = one(args, "--confirm", false);
  const pin = readPin(one(args, "--pin-file", true));
  const { accountId, config } = accountOf(args, () => loadConfig(process.env, args));
  // Typed confirmation: the cluster id again, on the command line or at the prompt.
  let typed = confirm;
  if (typed === undefined) {
    if (!process.stdin.isTTY) throw new ConfigError(`zeroizing is irreversible: confirm with --confirm ${clusterId}`);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    typed = (await rl.question(`Every key in ${clusterId} will be destroyed for good. Type the cluster id to confirm: `)).trim();
    rl.close();
  }
  if (typed !== clusterId) throw new ConfigError("the confirmation does not match the cluster id: nothing was destroyed");
  const { repo, keystore } = await openStorage(config);
  const log = consoleLogger();
  try {
    const cluster = await getCluster(repo, accountId, clusterId);
    if (!cluster) throw new ConfigError(`cluster ${clusterId} is not registered in account ${accountId}`);
    const results = await zeroizeCluster(cluster, pin);
    // Recorded in the audit trail, on the operator's own chain (a server may be running on its own).
    const store = await openAuditStore(config, auditChainId(config, 0), log);
    let audit: Audit | undefined;
    try {
      await store.start(systemClock.now());
      audit = await Audit.open({
        store,
        chain: auditChainId(config, 0),
        keystore,
        clock: systemClock,
        log,
        digestIntervalMs: config.auditDigestIntervalMs,
        retentionDays: config.auditRetentionDays,
      });
      await audit.serviceEvent({
        time: systemClock.now(),
        eventSource: "cloudhsm.amazonaws.com",
        eventName: "ZeroizeCluster",
        accountId,
        region: cluster.region,
        resource: { arn: `arn:aws:cloudhsm:${cluster.region}:${accountId}:cluster/${clusterId}`, type: "AWS::CloudHSMv2::Cluster" },
        details: {
          clusterId,
          tokens: results.map((r) => ({ token: tokenName(r.token), destroyed: r.destroyed ?? null, error: r.error ?? null })),
        },
      });
    } finally {
      // Closing the audit writes the chain's digest and closes its store.
      if (audit) await audit.close();
      else await store.close();
    }
    let failed = 0;
    for (const r of results) {
      if (r.error !== undefined) {
        failed++;
        process.stderr.write(`keyhold: ${tokenName(r.token)}: NOT zeroized: ${r.error}\n`);
      } else {
        process.stdout.write(`${tokenName(r.token)}: ${r.destroyed} keyhold objects destroyed\n`);
      }
    }
    if (failed === 0) process.stdout.write(`${clusterId} zeroized: its keys can no longer decrypt anything.\n`);
    if (results.some((r) => r.rootOfTrust)) {
      process.stdout.write(
        "keyhold's root of trust was in this cluster and is destroyed: every key of this installation is cryptographically shredded; it will not start again.\n",
      );
    }
    return failed === 0 ? 0 : 1;
  } finally {
    await repo.close();
    keystore.close();
  }
}
