/**
 * `keyhold backup`: an online, consistent copy of a SQLite installation's data directory, taken
 * by a separate process while the server runs (docs/backup.md says why not through the server).
 *
 * What is copied, and how each part stays consistent with the others:
 *
 * - SQLite databases (keyhold.db, audit/keys.db, audit/chain-<c>.db) through SQLite's online
 *   backup API: a snapshot of committed transactions, never a torn file. The server keeps writing
 *   (WAL lets a reader and a writer work at once); a write during the copy makes SQLite restart
 *   it, so the copy is taken in one step.
 * - S3 object files are immutable (a file per object version, written under a fresh UUID before
 *   the row that refers to it is committed, removed only after that row is gone). Every file
 *   present is copied first; then keyhold.db is snapshotted; then the files that snapshot refers
 *   to and that were not yet copied (written meanwhile). A file the snapshot refers to that is
 *   gone by then (its object was overwritten or deleted in between) makes the snapshot stale:
 *   a newer one is taken, until one finds all its files. Files no row of the final snapshot
 *   refers to are left out.
 * - Audit segments are append-only: after a chain's database is snapshotted (its digests), each
 *   segment is copied up to its last whole record at that moment. A digest covers records already
 *   in the segments when it was written, so every digest in the copy covers records in the copy;
 *   records appended during the backup are simply past its end.
 *
 * Never copied: the master key file (the backup is useless without it, which is the point), the
 * root-credentials file (the root secret in plain text), SQLite's -wal/-shm files and the chain
 * claim locks (a snapshot needs neither), temporary files of writes under way.
 */
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { listChains } from "../audit/chains.js";
import { fsyncDirectory, listSegments, segmentDir } from "../audit/segments.js";
import { ConfigError } from "../config.js";
import { PRIVATE_DIR, PRIVATE_FILE, restrictUmask } from "../data-dir.js";
import { hashFile, writeManifest, type ManifestEntry } from "./manifest.js";

/** Files keyhold keeps that are never part of a backup, with the reason the command prints. */
export const LEFT_OUT: Record<string, string> = {
  "master.key": "the master key: keep it apart from the backup, or the backup opens every key to whoever holds it",
  "root-credentials": "the root secret access key in plain text: keep it with the master key",
};

const OBJECT_ID = /^[0-9a-f-]{36}$/;
/** How many snapshots of keyhold.db are tried before giving up on a store whose objects keep changing. */
const SNAPSHOT_ATTEMPTS = 10;
const COPY_CHUNK = 1 << 20;

export interface BackupResult {
  entries: ManifestEntry[];
  databases: number;
  segments: number;
  objects: number;
  /** keyhold.db snapshots taken (more than one when objects changed under the backup). */
  snapshots: number;
}

/** The backup of `dataDir` into `out` (which must not exist or be empty). */
export async function backupDataDir(dataDir: string, out: string): Promise<BackupResult> {
  if (!existsSync(join(dataDir, "keyhold.db")))
    throw new ConfigError(`${dataDir} holds no keyhold database (keyhold.db): nothing to back up`);
  // Opening a database of a stopped server makes its -wal and -shm files: 0600, as keyhold's own.
  restrictUmask();
  prepareTarget(out, "backup directory");
  const entries: ManifestEntry[] = [];
  const add = (entry: ManifestEntry) => entries.push(entry);

  // 1. Every object file present now (immutable: copying it early is copying it as it will be).
  const objectsDir = join(dataDir, "s3", "objects");
  const copied = new Map<string, ManifestEntry>();
  for (const id of objectIds(objectsDir)) {
    const entry = copyFile(join(objectsDir, id), out, `s3/objects/${id}`, "object");
    if (entry) copied.set(id, entry);
  }

  // 2. keyhold.db, until a snapshot finds every file it refers to.
  let snapshots = 0;
  let repository: ManifestEntry | undefined;
  for (; snapshots < SNAPSHOT_ATTEMPTS && repository === undefined;) {
    snapshots++;
    const snapshot = await snapshotDatabase(join(dataDir, "keyhold.db"), out, "keyhold.db");
    const referenced = referencedObjects(join(out, "keyhold.db"));
    let complete = true;
    for (const id of referenced) {
      if (copied.has(id)) continue;
      const entry = copyFile(join(objectsDir, id), out, `s3/objects/${id}`, "object");
      if (entry) copied.set(id, entry);
      else complete = false;
    }
    if (!complete) continue;
    // Files of objects written after the first listing and gone again, or never committed.
    for (const [id, entry] of copied) {
      if (referenced.has(id)) continue;
      rmSync(join(out, entry.path));
      copied.delete(id);
    }
    repository = snapshot;
  }
  if (!repository) {
    throw new ConfigError(
      `S3 objects kept changing under ${SNAPSHOT_ATTEMPTS} snapshots of the database; run the backup again at a quieter time`,
    );
  }
  add(repository);
  for (const entry of copied.values()) add(entry);

  // 3. The audit trail: the signing key, then each chain's database (digests) before its segments.
  let databases = 1;
  let segments = 0;
  const auditDir = join(dataDir, "audit");
  if (existsSync(join(auditDir, "keys.db"))) {
    add(await snapshotDatabase(join(auditDir, "keys.db"), out, "audit/keys.db"));
    databases++;
  }
  for (const { chain, path } of listChains(dataDir)) {
    const copy = await backupChain(dataDir, chain, path, out);
    entries.push(...copy);
    databases++;
    segments += copy.length - 1;
  }

  // 4. keyhold's own HTTPS certificate and key, when it made them (so clients' trust still holds).
  const tls = join(dataDir, "tls");
  if (existsSync(tls)) {
    for (const name of readdirSync(tls).sort()) {
      if (!statSync(join(tls, name)).isFile()) continue;
      const entry = copyFile(join(tls, name), out, `tls/${name}`, "file");
      if (entry) add(entry);
    }
  }

  writeManifest(out, entries);
  syncTree(out);
  return { entries, databases, segments, objects: copied.size, snapshots };
}

/** A chain's database, then its segments up to their whole records; again if retention removed a segment meanwhile. */
async function backupChain(dataDir: string, chain: string, path: string, out: string): Promise<ManifestEntry[]> {
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const entries = [await snapshotDatabase(path, out, `audit/chain-${chain}.db`)];
    let complete = true;
    for (const segment of listSegments(segmentDir(dataDir, chain))) {
      const name = segment.path.slice(segment.path.lastIndexOf("/") + 1);
      const entry = copyFile(segment.path, out, `audit/chain-${chain}/${name}`, "audit-segment", true);
      if (!entry) {
        complete = false;
        break;
      }
      entries.push(entry);
    }
    if (complete) return entries;
    rmSync(join(out, "audit", `chain-${chain}`), { recursive: true, force: true });
  }
  throw new ConfigError(`audit chain ${chain} kept changing under the backup (retention removing segments); run it again`);
}

/** The object file ids present in a directory (temporary files of writes under way are not objects yet). */
function objectIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => OBJECT_ID.test(n))
    .sort();
}

/** The object files the documents of a keyhold.db snapshot refer to (objects and multipart parts), as sweepOrphans counts them. */
export function referencedObjects(dbPath: string): Set<string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const ids = new Set<string>();
    const rows = db.prepare("SELECT body FROM documents WHERE kind IN ('s3-object', 's3-upload')").iterate() as Iterable<{ body: string }>;
    for (const { body } of rows) {
      const doc = JSON.parse(body) as { parts?: { id: string }[]; id?: string };
      for (const p of doc.parts ?? []) ids.add(p.id);
      if (doc.id) ids.add(doc.id);
    }
    return ids;
  } finally {
    db.close();
  }
}

/**
 * A snapshot of a live SQLite database through the online backup API. After the first step,
 * the rest is copied in one step: a step holds a read transaction, which in WAL mode never blocks
 * the server's writers, and a copy in small steps would start over at every write.
 */
async function snapshotDatabase(source: string, out: string, relative: string): Promise<ManifestEntry> {
  const target = join(out, relative);
  mkdirSync(dirname(target), { recursive: true, mode: PRIVATE_DIR });
  rmSync(target, { force: true });
  closeSync(openSync(target, "wx", PRIVATE_FILE));
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 10000");
    await db.backup(target, { progress: () => 1 << 30 });
  } finally {
    db.close();
  }
  // The copy is a database on its own: one file, no journal beside it.
  const copy = new Database(target);
  try {
    copy.pragma("journal_mode = DELETE");
  } finally {
    copy.close();
  }
  return hashFile(target, relative, "sqlite");
}

/**
 * Copies a file into the backup, hashing it; undefined when it no longer exists. `wholeLines`
 * (audit segments): only up to the last newline, so a record being appended is not half-copied.
 */
function copyFile(
  source: string,
  out: string,
  relative: string,
  kind: ManifestEntry["kind"],
  wholeLines = false,
): ManifestEntry | undefined {
  let input: number;
  try {
    input = openSync(source, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const target = join(out, relative);
  mkdirSync(dirname(target), { recursive: true, mode: PRIVATE_DIR });
  const output = openSync(target, "wx", PRIVATE_FILE);
  try {
    let size = fstatSync(input).size;
    if (wholeLines) size = lastNewlineEnd(input, size);
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    for (let position = 0; position < size;) {
      const n = readSync(input, buffer, 0, Math.min(COPY_CHUNK, size - position), position);
      if (n === 0) throw new Error(`${source} shrank while it was copied`);
      hash.update(buffer.subarray(0, n));
      for (let done = 0; done < n;) done += writeSync(output, buffer, done, n - done);
      position += n;
    }
    fsyncSync(output);
    return { path: relative, kind, bytes: size, sha256: hash.digest("hex") };
  } finally {
    closeSync(output);
    closeSync(input);
  }
}

/** The length of a segment's whole records: up to and including its last newline. */
function lastNewlineEnd(fd: number, size: number): number {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - buffer.length);
    const n = readSync(fd, buffer, 0, end - start, start);
    const at = buffer.subarray(0, n).lastIndexOf(10);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/**
 * The backup or restore target: absent (made 0700) or an empty directory. A non-empty one is
 * refused: mixing a backup into other files, or a restore into a data directory, would leave a
 * state that is neither.
 */
export function prepareTarget(dir: string, what: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new ConfigError(`${what} ${dir} exists and is not a directory`);
    if (readdirSync(dir).length > 0) throw new ConfigError(`${what} ${dir} is not empty; give a new or empty directory`);
  }
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
}

/** fsyncs every directory of a tree, so the files' names are as durable as their contents. */
export function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) syncTree(join(dir, entry.name));
  }
  fsyncDirectory(dir);
}
