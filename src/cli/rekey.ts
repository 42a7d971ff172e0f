/**
 * `keyhold rekey`: reseals the root key under a new root of trust (master key file, passphrase or
 * HSM token, any to any). The root key itself does not change, so no key material, secret or
 * ciphertext is rewritten: only the one seal row, swapped in one statement. It works while
 * keyhold runs: a running server holds the unsealed root key and reads the seal only at start, so
 * it keeps serving, and its next start needs the new settings.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { systemRandom } from "../crypto/aes-gcm.js";
import { openRootOfTrust, type RootOfTrust, type RootOfTrustSettings } from "../keystore/root-of-trust.js";
import { rekeySeal } from "../keystore/seal.js";
import { PostgresRepository } from "../store/postgres.js";
import { SqliteRepository } from "../store/sqlite.js";
import type { Repository } from "../store/repository.js";

export const REKEY_USAGE = `  keyhold rekey --data-dir <dir> [current root of trust] <new root of trust>
                                                          reseal the root key under a new master key file, passphrase or HSM key
      current: as the server is started (--master-key-file, --master-passphrase-file, --hsm-module …, or their variables)
      new:     --new-master-key-file <file> (created 0600 if absent) | --new-master-passphrase-file <file>
               | --new-hsm-module <.so> (--new-hsm-token-label <label> | --new-hsm-slot <id>) --new-hsm-pin-file <file>
               (KEYHOLD_NEW_HSM_PIN / KEYHOLD_NEW_MASTER_PASSPHRASE instead of the files)`;

const NEW_FLAGS = {
  "--new-master-key-file": "masterKeyFile",
  "--new-master-passphrase-file": "masterPassphraseFile",
  "--new-hsm-module": "hsmModule",
  "--new-hsm-token-label": "hsmTokenLabel",
  "--new-hsm-slot": "hsmSlot",
  "--new-hsm-pin-file": "hsmPinFile",
} as const;

type NewSettings = Omit<RootOfTrustSettings, "dataDir">;

/** Splits the --new-* flags from the server options, which name the data and the current root of trust. */
export function parseRekeyArgs(env: NodeJS.ProcessEnv, argv: readonly string[]): { config: Config; next: NewSettings } {
  const rest: string[] = [];
  const next: Record<string, string | number> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === "--new-hsm-pin" || flag === "--new-master-passphrase") {
      throw new ConfigError(`${flag} is not taken on the command line, where ps shows it to every user: use ${flag}-file`);
    }
    if (!(flag in NEW_FLAGS)) {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "") throw new ConfigError(`option ${flag} needs a value`);
    const key = NEW_FLAGS[flag as keyof typeof NEW_FLAGS];
    if (key === "hsmSlot") {
      const slot = Number(value);
      if (!Number.isInteger(slot) || slot < 0 || slot > 2 ** 32 - 1) throw new ConfigError(`${flag} must be a slot id, got '${value}'`);
      next[key] = slot;
    } else {
      next[key] = key === "hsmTokenLabel" ? value : resolve(value);
    }
  }
  if (env.KEYHOLD_NEW_HSM_PIN !== undefined && env.KEYHOLD_NEW_HSM_PIN !== "") next.hsmPin = env.KEYHOLD_NEW_HSM_PIN;
  if (env.KEYHOLD_NEW_MASTER_PASSPHRASE !== undefined && env.KEYHOLD_NEW_MASTER_PASSPHRASE !== "")
    next.masterPassphrase = env.KEYHOLD_NEW_MASTER_PASSPHRASE;
  const config = loadConfig(env, rest);
  const n = next as NewSettings;
  const kinds = [n.masterKeyFile, n.masterPassphraseFile ?? n.masterPassphrase, n.hsmModule].filter((v) => v !== undefined).length;
  if (kinds !== 1) {
    throw new ConfigError(
      `name one new root of trust: --new-master-key-file, --new-master-passphrase-file or --new-hsm-module\n${REKEY_USAGE}`,
    );
  }
  if (n.masterPassphraseFile !== undefined && n.masterPassphrase !== undefined) {
    throw new ConfigError("give the new passphrase in --new-master-passphrase-file or KEYHOLD_NEW_MASTER_PASSPHRASE, not both");
  }
  if (n.hsmModule !== undefined) {
    if ((n.hsmTokenLabel === undefined) === (n.hsmSlot === undefined))
      throw new ConfigError("name the new token by --new-hsm-token-label or --new-hsm-slot");
    if ((n.hsmPinFile === undefined) === (n.hsmPin === undefined)) {
      throw new ConfigError("give the new token's user PIN in --new-hsm-pin-file or KEYHOLD_NEW_HSM_PIN, one of the two");
    }
  } else if (n.hsmTokenLabel !== undefined || n.hsmSlot !== undefined || n.hsmPinFile !== undefined) {
    throw new ConfigError("--new-hsm-token-label, --new-hsm-slot and --new-hsm-pin-file go with --new-hsm-module");
  }
  const currentFile =
    config.hsmModule === undefined && config.masterPassphrase === undefined && config.masterPassphraseFile === undefined
      ? (config.masterKeyFile ?? join(config.dataDir, "master.key"))
      : undefined;
  if (n.masterKeyFile !== undefined && n.masterKeyFile === currentFile) {
    throw new ConfigError(`${n.masterKeyFile} is the current master key file; name a new one`);
  }
  return { config, next: n };
}

export async function runRekey(argv: string[]): Promise<number> {
  const { config, next } = parseRekeyArgs(process.env, argv);
  if (!config.databaseUrl && !existsSync(join(config.dataDir, "keyhold.db"))) {
    throw new ConfigError(`${config.dataDir} holds no keyhold database: nothing to rekey (check --data-dir)`);
  }
  // Both roots of trust are opened before the database: a wrong PIN, a missing token or an
  // unreadable file stops here with nothing changed.
  const current = await openRootOfTrust(config);
  let fresh: RootOfTrust | undefined;
  let repo: Repository | undefined;
  try {
    fresh = await openRootOfTrust({ dataDir: config.dataDir, ...next });
    repo = config.databaseUrl
      ? await PostgresRepository.open(config.databaseUrl)
      : new SqliteRepository(join(config.dataDir, "keyhold.db"));
    const now = await rekeySeal(repo, current.source, fresh.source, systemRandom);
    process.stdout.write(
      `The root key of ${config.databaseUrl ? "the shared database" : config.dataDir} is now sealed with ${now}; the old sealing key no longer opens it.\n` +
        `A running keyhold keeps serving (it holds the unsealed root key); start it from now on with the new settings.\n` +
        (current.source.kind === "file"
          ? `The old master key file ${current.source.path} no longer opens this installation; keep it only as long as you keep backups made before this rekey.\n`
          : ""),
    );
    return 0;
  } finally {
    await repo?.close();
    await fresh?.close();
    await current.close();
  }
}
