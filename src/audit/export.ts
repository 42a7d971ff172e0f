/**
 * `keyhold audit export`: the trail as CloudTrail-style files, for archiving and for offline
 * verification (docs/audit.md):
 *   events/chain-<c>/YYYY/MM/DD/keyhold_YYYYMMDDTHHZ.json.gz   {"Records": [...]}: per chain, one file per hour, in sequence order
 *   digests/chain-<c>/keyhold_digest_<n>.json                   {"digest": {...}, "digestSignature": "<hex>"}
 *   keyhold-audit-public-key.pem                                the key the digests are signed with
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { AuditStore } from "./store.js";

export const PUBLIC_KEY_FILE = "keyhold-audit-public-key.pem";

function hourOf(time: number): string {
  return new Date(Math.floor(time / 3_600_000) * 3_600_000).toISOString().slice(0, 13).replace(/-/g, "");
}

/**
 * Writes an export file for its owner only, in directories of the owner's only: the trail names
 * who did what, from where, with which encryption context, as the data directory's copy does.
 * Whoever shares an export with an auditor copies it, or widens the modes, on purpose.
 */
function write(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, data, { mode: 0o600 });
}

export async function exportTrail(store: AuditStore, out: string): Promise<{ files: number; events: number; digests: number }> {
  const total = { files: 0, events: 0, digests: 0 };
  for (const chain of await store.chains()) {
    const r = await exportChain(store, chain, join(out, "events", `chain-${chain}`), join(out, "digests", `chain-${chain}`));
    total.files += r.files;
    total.events += r.events;
    total.digests += r.digests;
  }
  const pem = await store.publicKeyPem();
  if (pem) write(join(out, PUBLIC_KEY_FILE), pem);
  return total;
}

async function exportChain(
  store: AuditStore,
  chain: string,
  eventsDir: string,
  digestsDir: string,
): Promise<{ files: number; events: number; digests: number }> {
  let current: string | undefined;
  let records: string[] = [];
  let files = 0;
  let events = 0;
  const flush = () => {
    if (!current || records.length === 0) return;
    const [y, m, d] = [current.slice(0, 4), current.slice(4, 6), current.slice(6, 8)];
    write(join(eventsDir, y, m, d, `keyhold_${current}Z.json.gz`), gzipSync(`{"Records":[${records.join(",")}]}`));
    files++;
    records = [];
  };
  for await (const row of store.records(chain)) {
    // Files follow sequence order: an event stamped in an earlier hour than its predecessor stays in the later file.
    const hour = hourOf(row.time);
    if (current === undefined || hour > current) {
      flush();
      current = hour;
    }
    records.push(row.record);
    events++;
  }
  flush();
  const digests = await store.digests(chain);
  digests.forEach((d, i) => write(join(digestsDir, `keyhold_digest_${String(i + 1).padStart(8, "0")}.json`), JSON.stringify(d)));
  return { files, events, digests: digests.length };
}
