/**
 * `keyhold restore <backup> --data-dir <new>`: checks the backup against its manifest first (a
 * corrupted backup restores nothing), then copies it into a new or empty data directory, the
 * directories 0700 and the files 0600 as keyhold makes them (src/data-dir.ts), each file fsynced.
 * A data directory is never restored over: a mix of two states would be neither.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../config.js";
import { PRIVATE_DIR, PRIVATE_FILE } from "../data-dir.js";
import { prepareTarget, syncTree } from "./backup.js";
import { verifyBackup, type ManifestEntry } from "./manifest.js";

export function restoreBackup(backup: string, dataDir: string): ManifestEntry[] {
  const report = verifyBackup(backup);
  if (!report.ok) throw new ConfigError(`the backup ${backup} does not verify; nothing was restored:\n  ${report.problems.join("\n  ")}`);
  prepareTarget(dataDir, "data directory");
  const files = report.manifest!.files;
  for (const f of files) {
    const target = join(dataDir, ...f.path.split("/"));
    mkdirSync(dirname(target), { recursive: true, mode: PRIVATE_DIR });
    copy(join(backup, ...f.path.split("/")), target);
  }
  syncTree(dataDir);
  return files;
}

function copy(source: string, target: string): void {
  const input = openSync(source, "r");
  const output = openSync(target, "wx", PRIVATE_FILE);
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(input, buffer, 0, buffer.length, null); n > 0; n = readSync(input, buffer, 0, buffer.length, null)) {
      for (let done = 0; done < n;) done += writeSync(output, buffer, done, n - done);
    }
    fsyncSync(output);
  } finally {
    closeSync(output);
    closeSync(input);
  }
}
