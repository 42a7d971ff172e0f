/** `keyhold audit export | verify | public-key`. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ChainSet, keysPath } from "../audit/chains.js";
import { openAuditDatabase } from "../audit/database.js";
import { exportTrail, PUBLIC_KEY_FILE } from "../audit/export.js";
import { publicKeyPem } from "../audit/signing-key.js";
import { verifyExport } from "../audit/verify.js";
import { ConfigError } from "../config.js";

export const AUDIT_USAGE = `  keyhold audit export --out <dir> [--data-dir <dir>]    write the trail as CloudTrail-style files with signed digests
  keyhold audit verify <dir> [--public-key <pem>]         check an exported trail offline; exit 1 naming what was changed
  keyhold audit public-key [--data-dir <dir>]             print the public key the digests are signed with`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined) throw new ConfigError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function dataDirOf(args: string[]): string {
  const dataDir = resolve(option(args, "--data-dir") ?? process.env.KEYHOLD_DATA_DIR ?? "./keyhold-data");
  if (!existsSync(keysPath(dataDir))) throw new ConfigError(`no audit trail in ${dataDir}`);
  return dataDir;
}

export function runAudit(argv: string[]): number {
  const [command, ...args] = argv;
  switch (command) {
    case "export": {
      const out = option(args, "--out");
      if (!out) throw new ConfigError("keyhold audit export needs --out <dir>");
      const dataDir = dataDirOf(args);
      const chains = new ChainSet(dataDir);
      const keys = openAuditDatabase(keysPath(dataDir));
      try {
        const r = exportTrail(chains, keys, resolve(out));
        process.stdout.write(`exported ${r.events} events in ${r.files} files and ${r.digests} digests to ${resolve(out)}\n`);
      } finally {
        chains.close();
        keys.close();
      }
      return 0;
    }
    case "public-key": {
      const db = openAuditDatabase(keysPath(dataDirOf(args)));
      try {
        process.stdout.write(publicKeyPem(db) ?? "");
      } finally {
        db.close();
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
      const report = verifyExport(resolve(dir), readFileSync(pemPath, "utf8"));
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
