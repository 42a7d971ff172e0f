/**
 * The data directory and what keyhold keeps in it are keyhold's alone: the directory 0700, every
 * file 0600, whatever existed before and whatever the process umask. The key database and the
 * audit databases hold access key ids, policies and object ETags; the master key file seals every
 * key. A mode given to open() is narrowed by the umask but never widened, so files keyhold writes
 * itself name 0600 and directories 0700; SQLite creates its database with 0644 (less the umask),
 * so keyhold creates the file first, and SQLite gives its -wal and -shm files the database's mode.
 * A file or directory that exists with a looser mode is tightened when keyhold opens it.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { ConfigError } from "./config.js";
import type { Logger } from "./log.js";

export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

/** Group and other permission bits: any of them set, someone else may read. */
const OPEN_TO_OTHERS = 0o077;

/** The directory (and missing parents) made 0700; an existing one keeps its mode (see prepareDataDir). */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR });
}

/** Creates `path` 0600 when absent, tightens it to 0600 when present and open to others. */
export function privateFile(path: string): void {
  closeSync(openSync(path, "a", PRIVATE_FILE));
  tighten(path, PRIVATE_FILE);
}

/** A SQLite database's file, made or tightened before SQLite opens it, and its journals if they exist. */
export function privateDatabase(path: string): void {
  privateFile(path);
  for (const suffix of ["-wal", "-shm", "-journal"]) tighten(path + suffix, PRIVATE_FILE);
}

/** Tightens an existing file's or directory's mode to `mode` when it lets others in; absent is fine. */
export function tighten(path: string, mode: number): void {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch {
    return;
  }
  if ((current & OPEN_TO_OTHERS) !== 0) chmodSync(path, mode);
}

/**
 * Files the process creates without naming a mode (a library's, a new code path's) are private
 * too. The umask belongs to the process, so only its main thread sets it (worker threads cannot).
 */
export function restrictUmask(): void {
  if (isMainThread) process.umask(OPEN_TO_OTHERS);
}

/**
 * Makes the data directory 0700, or tightens it to 0700 when it exists open to others (a
 * directory made by hand or by a container runtime is usually 0755), saying so in the log. With
 * `allowOpen` (--allow-open-data-dir true), an open directory is left as it is, with a warning:
 * for a directory others must list, such as a backup agent's group. When keyhold cannot tighten
 * it (another user owns it), it refuses to start rather than keep keys where others can read.
 */
export function prepareDataDir(dataDir: string, allowOpen: boolean, log: Logger): void {
  privateDir(dataDir);
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & OPEN_TO_OTHERS) === 0) return;
  const shown = mode.toString(8).padStart(4, "0");
  if (allowOpen) {
    log.error(
      `data directory ${dataDir} is open to other users (mode ${shown}), left so by --allow-open-data-dir; keyhold's files in it are 0600`,
    );
    return;
  }
  try {
    chmodSync(dataDir, PRIVATE_DIR);
  } catch (error) {
    throw new ConfigError(
      `data directory ${dataDir} is open to other users (mode ${shown}) and keyhold cannot make it 0700 (${(error as Error).message}): ` +
        `chmod 700 it, or start with --allow-open-data-dir true`,
    );
  }
  log.info(`data directory ${dataDir} was open to other users (mode ${shown}): made 0700 (--allow-open-data-dir true leaves it)`);
}
