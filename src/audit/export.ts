/**
 * `keyhold audit export`: the trail as CloudTrail-style files, for archiving and for offline
 * verification (docs/audit.md):
 *   events/chain-<c>/YYYY/MM/DD/keyhold_YYYYMMDDTHHZ.json.gz   {"Records": [...]}: per chain, one file per hour, in sequence order
 *   digests/chain-<c>/keyhold_digest_<n>.json                   {"digest": {...}, "digestSignature": "<hex>"}
 *   keyhold-audit-public-key.pem                                the key the digests are signed with
 */
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { dirname, join } from "node:path";
import { createGzip, type Gzip } from "node:zlib";
import type { AuditStore } from "./store.js";

export const PUBLIC_KEY_FILE = "keyhold-audit-public-key.pem";

/**
 * Records held at once: an hour's file is written as a gzip stream, this many records per write,
 * so memory stays flat whatever the size of the trail (an hour of a busy server is millions of
 * events; built as one string it passed V8's limit on a string's length near 485,000).
 */
export const EXPORT_BATCH_RECORDS = 100;

export interface ExportOptions {
  batchRecords?: number;
  /**
   * Called after each batch is handed to the gzip stream: events written so far, and an estimate
   * of the total from the signed digests (events after the newest digest are not in it).
   */
  onProgress?: (done: number, expected: number) => void;
}

function hourOf(time: number): string {
  return new Date(Math.floor(time / 3_600_000) * 3_600_000).toISOString().slice(0, 13).replace(/-/g, "");
}

/**
 * Export files are for their owner only, in directories of the owner's only: the trail names
 * who did what, from where, with which encryption context, as the data directory's copy does.
 * Whoever shares an export with an auditor copies it, or widens the modes, on purpose.
 */
function ownersDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}

function write(path: string, data: string | Buffer): void {
  ownersDir(path);
  writeFileSync(path, data, { mode: 0o600 });
}

/** One hour's file: `{"Records":[` … `]}` through gzip, each write waiting while the stream is full. */
class HourFile {
  private readonly gzip: Gzip;
  private readonly file: WriteStream;
  private first = true;
  private error: Error | undefined;

  constructor(path: string) {
    ownersDir(path);
    this.gzip = createGzip();
    this.file = createWriteStream(path, { mode: 0o600 });
    const fail = (e: Error) => {
      this.error ??= e;
    };
    this.gzip.on("error", fail);
    this.file.on("error", fail);
    this.gzip.pipe(this.file);
    this.gzip.write('{"Records":[');
  }

  async add(records: string[]): Promise<void> {
    if (records.length === 0) return;
    const text = (this.first ? "" : ",") + records.join(",");
    this.first = false;
    if (!this.error && !this.gzip.write(text)) {
      // A failed disk stops the draining: the error wakes the wait as well.
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.gzip.off("drain", wake).off("error", wake);
          this.file.off("error", wake);
          resolve();
        };
        this.gzip.once("drain", wake).once("error", wake);
        this.file.once("error", wake);
      });
    }
    if (this.error) throw this.error;
  }

  async close(): Promise<void> {
    if (!this.error) this.gzip.end("]}");
    if (!this.error) await finished(this.file).catch(() => undefined);
    if (this.error) {
      this.file.destroy();
      throw this.error;
    }
  }
}

export async function exportTrail(
  store: AuditStore,
  out: string,
  options: ExportOptions = {},
): Promise<{ files: number; events: number; digests: number }> {
  const total = { files: 0, events: 0, digests: 0 };
  const chains = await store.chains();
  // What the digests cover when the export begins: a digest signed while it runs covers events it
  // may not have, and stays out.
  const spans = new Map<string, { first: number; last: number } | undefined>();
  let expected = 0;
  for (const chain of chains) {
    const span = await store.digestSpan(chain);
    spans.set(chain, span);
    if (span) expected += span.last - span.first + 1;
  }
  for (const chain of chains) {
    const r = await exportChain(store, chain, join(out, "events", `chain-${chain}`), total.events, expected, options);
    const span = spans.get(chain);
    const digestsDir = join(out, "digests", `chain-${chain}`);
    let n = 0;
    if (span) {
      for await (const d of store.digests(chain, span.last)) {
        write(join(digestsDir, `keyhold_digest_${String(++n).padStart(8, "0")}.json`), JSON.stringify(d));
      }
    }
    total.files += r.files;
    total.events += r.events;
    total.digests += n;
  }
  const pem = await store.publicKeyPem();
  if (pem) write(join(out, PUBLIC_KEY_FILE), pem);
  return total;
}

async function exportChain(
  store: AuditStore,
  chain: string,
  eventsDir: string,
  before: number,
  expected: number,
  options: ExportOptions,
): Promise<{ files: number; events: number }> {
  const batchRecords = options.batchRecords ?? EXPORT_BATCH_RECORDS;
  let current: string | undefined;
  let file: HourFile | undefined;
  let batch: string[] = [];
  let files = 0;
  let events = 0;
  const flush = async () => {
    if (!file) return;
    await file.add(batch);
    events += batch.length;
    batch = [];
    options.onProgress?.(before + events, Math.max(expected, before + events));
  };
  try {
    for await (const row of store.records(chain)) {
      // Files follow sequence order: an event stamped in an earlier hour than its predecessor stays in the later file.
      const hour = hourOf(row.time);
      if (current === undefined || hour > current) {
        await flush();
        await file?.close();
        current = hour;
        const [y, m, d] = [current.slice(0, 4), current.slice(4, 6), current.slice(6, 8)];
        file = new HourFile(join(eventsDir, y, m, d, `keyhold_${current}Z.json.gz`));
        files++;
      }
      batch.push(row.record);
      if (batch.length >= batchRecords) await flush();
    }
    await flush();
  } finally {
    await file?.close();
  }
  return { files, events };
}
