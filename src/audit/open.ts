/** Which audit store a process uses, and which chain is its own. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { SqliteAuditStore } from "./sqlite-store.js";
import type { AuditStore } from "./store.js";

export async function openAuditStore(
  config: Pick<Config, "dataDir" | "databaseUrl" | "auditSync">,
  ownChain?: string,
  log?: Logger,
): Promise<AuditStore> {
  if (config.databaseUrl) {
    const { PostgresAuditStore } = await import("./postgres-store.js");
    return PostgresAuditStore.open(config.databaseUrl, ownChain);
  }
  return new SqliteAuditStore(config.dataDir, ownChain, config.auditSync ?? "commit", log);
}

/**
 * A process's chain: its worker number with SQLite (the files are the node's own); with a shared
 * database, the node's id (made once, kept in its data directory) and the worker number.
 */
export function auditChainId(config: Pick<Config, "dataDir" | "databaseUrl">, worker: number): string {
  if (!config.databaseUrl) return String(worker);
  const file = join(config.dataDir, "node-id");
  if (!existsSync(file)) writeFileSync(file, randomBytes(6).toString("hex") + "\n", { flag: "wx", mode: 0o600 });
  return `${readFileSync(file, "utf8").trim()}.${worker}`;
}
