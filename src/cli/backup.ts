/** `keyhold backup --out <dir>`, `keyhold backup verify <dir>`, `keyhold restore <dir> --data-dir <new>`. */
import { resolve } from "node:path";
import { backupDataDir, LEFT_OUT } from "../backup/backup.js";
import { verifyBackup } from "../backup/manifest.js";
import { restoreBackup } from "../backup/restore.js";
import { ConfigError } from "../config.js";

export const BACKUP_USAGE = `  keyhold backup --out <dir> [--data-dir <dir>]          an online, consistent backup of a running SQLite installation
                                                          (databases, audit trail, S3 objects), without the master key
  keyhold backup verify <dir>                             check a backup against its manifest of SHA-256 hashes
  keyhold restore <dir> --data-dir <new>                  verify a backup, then restore it into a new, empty data directory`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new ConfigError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function noMore(args: string[], command: string): void {
  if (args.length > 0) throw new ConfigError(`keyhold ${command}: unexpected ${args.join(" ")}\n${BACKUP_USAGE}`);
}

const leftOut = () =>
  Object.entries(LEFT_OUT)
    .map(([name, why]) => `  not in the backup: ${name} (${why})\n`)
    .join("");

export async function runBackup(argv: string[]): Promise<number> {
  const args = [...argv];
  if (args[0] === "verify") {
    args.shift();
    const dir = args.shift();
    if (!dir) throw new ConfigError("keyhold backup verify needs the backup directory");
    noMore(args, "backup verify");
    const report = verifyBackup(resolve(dir));
    for (const p of report.problems) process.stdout.write(`FAIL ${p}\n`);
    process.stdout.write(report.ok ? `OK: ${report.manifest!.files.length} files match the manifest\n` : "FAILED\n");
    return report.ok ? 0 : 1;
  }
  const out = option(args, "--out");
  if (!out) throw new ConfigError(`keyhold backup needs --out <dir>\n${BACKUP_USAGE}`);
  // PostgreSQL has its own consistent online dump; keyhold does not wrap it (README, "Backup and restore").
  if (option(args, "--database-url") !== undefined || process.env.KEYHOLD_DATABASE_URL) {
    throw new ConfigError("with PostgreSQL, back up with pg_dump and copy the S3 objects as the README says (Backup and restore)");
  }
  const dataDir = resolve(option(args, "--data-dir") ?? process.env.KEYHOLD_DATA_DIR ?? "./keyhold-data");
  noMore(args, "backup");
  const r = await backupDataDir(dataDir, resolve(out));
  process.stdout.write(
    `backed up ${dataDir} to ${resolve(out)}: ${r.databases} databases, ${r.segments} audit segments, ${r.objects} S3 objects, ${r.entries.length} files\n` +
      leftOut() +
      `  restore: keyhold restore ${resolve(out)} --data-dir <new>, then start it with the same master key\n`,
  );
  return 0;
}

export async function runRestore(argv: string[]): Promise<number> {
  const args = [...argv];
  const dataDir = option(args, "--data-dir");
  const dir = args.shift();
  if (!dir || !dataDir) throw new ConfigError(`keyhold restore needs the backup directory and --data-dir <new>\n${BACKUP_USAGE}`);
  noMore(args, "restore");
  const files = restoreBackup(resolve(dir), resolve(dataDir));
  process.stdout.write(
    `restored ${files.length} files into ${resolve(dataDir)}\n` +
      `the master key is not part of a backup: start keyhold server --data-dir ${resolve(dataDir)} with the master key the backup was taken under ` +
      `(--master-key-file, or KEYHOLD_MASTER_PASSPHRASE)\n`,
  );
  return 0;
}
