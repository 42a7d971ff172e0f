/** `keyhold audit export | verify | public-key`. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { keysPath } from "../audit/chains.js";
import { exportTrail, PUBLIC_KEY_FILE } from "../audit/export.js";
import { openAuditStore } from "../audit/open.js";
import type { AuditStore } from "../audit/store.js";
import { verifyExport } from "../audit/verify.js";
import { ConfigError } from "../config.js";
import { progressLine } from "./progress.js";

export const AUDIT_USAGE = `  keyhold audit export --out <dir> [--data-dir <dir> | --database-url <url>]
                                                          write the trail as CloudTrail-style files with signed digests
  keyhold audit verify <dir> [--public-key <pem>]         check an exported trail offline; exit 1 naming what was changed
  keyhold audit public-key [--data-dir <dir> | --database-url <url>]
                                                          print the public key the digests are signed with`;

/** Array buffers no longer used that `audit export` lets wait for the collector, at most. */
export const EXPORT_GARBAGE_BYTES = 8 * 1024 * 1024;

/**
 * Keeps the garbage of `audit export` bounded. Its reads (a 1 MB buffer per 64 MB segment) and
 * zlib's output buffers are array buffers that live across a few young-generation collections
 * and so reach the old generation, where V8 frees them only at a full collection; with a small
 * heap, the only trigger is 64 MB more of external memory than at the last one. So RSS grew by
 * up to ~64 MB with the trail's size (110 MB at 1M events, 154-158 MB at 10M). This process does
 * nothing else: every 10,000 events, when more than EXPORT_GARBAGE_BYTES of array buffers are
 * held, one full collection (a few ms on its ~20 MB heap) frees them.
 */
export function garbageBound(limit = EXPORT_GARBAGE_BYTES, collector?: () => void): (events: number) => void {
  let collect = collector ?? (globalThis as { gc?: () => void }).gc;
  if (!collect) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  let checked = 0;
  return (events) => {
    if (events - checked < 10_000) return;
    checked = events;
    if (process.memoryUsage().arrayBuffers > limit) collect();
  };
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined) throw new ConfigError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

/** The trail of a data directory (SQLite) or of a shared database (--database-url, KEYHOLD_DATABASE_URL). */
async function storeOf(args: string[]): Promise<AuditStore> {
  const databaseUrl = option(args, "--database-url") ?? process.env.KEYHOLD_DATABASE_URL;
  const dataDir = resolve(option(args, "--data-dir") ?? process.env.KEYHOLD_DATA_DIR ?? "./keyhold-data");
  if (!databaseUrl && !existsSync(keysPath(dataDir))) throw new ConfigError(`no audit trail in ${dataDir}`);
  return openAuditStore({ dataDir, databaseUrl });
}

export async function runAudit(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "export": {
      const out = option(args, "--out");
      if (!out) throw new ConfigError("keyhold audit export needs --out <dir>");
      const store = await storeOf(args);
      try {
        const progress = progressLine("exporting");
        const bound = garbageBound();
        const r = await exportTrail(store, resolve(out), {
          onProgress: (done, expected) => {
            bound(done);
            progress.update(done, done, expected);
          },
        });
        progress.finish();
        process.stdout.write(`exported ${r.events} events in ${r.files} files and ${r.digests} digests to ${resolve(out)}\n`);
      } finally {
        await store.close();
      }
      return 0;
    }
    case "public-key": {
      const store = await storeOf(args);
      try {
        process.stdout.write((await store.publicKeyPem()) ?? "");
      } finally {
        await store.close();
      }
      return 0;
    }
    case "verify": {
      const keyFile = option(args, "--public-key");
      const dir = args[0];
      if (!dir) throw new ConfigError("keyhold audit verify needs the export directory");
      const pemPath = keyFile ?? join(dir, PUBLIC_KEY_FILE);
      if (!keyFile)
        process.stderr.write(
          `note: using the public key inside the export (${pemPath}); pass --public-key with a copy kept elsewhere to rule out a replaced key\n`,
        );
      let pem: string;
      try {
        pem = readFileSync(pemPath, "utf8");
      } catch (error) {
        throw new ConfigError(
          `cannot read the public key ${pemPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      const progress = progressLine("verifying");
      const report = await verifyExport(resolve(dir), pem, {
        onProgress: (events, bytesRead, bytesTotal) => progress.update(events, bytesRead, bytesTotal),
      });
      progress.finish();
      for (const p of report.problems) process.stdout.write(`FAIL ${p}\n`);
      process.stdout.write(
        `${report.ok ? "OK" : "FAILED"}: ${report.events} events, ${report.digests} digests` +
          (report.unsignedTail > 0 ? `; the last ${report.unsignedTail} events are linked but not yet covered by a signed digest` : "") +
          "\n",
      );
      return report.ok ? 0 : 1;
    }
    default:
      throw new ConfigError(`unknown audit command '${command ?? ""}'\n${AUDIT_USAGE}`);
  }
}
