/**
 * A backup's manifest: manifest.json lists every file of the backup with its size and SHA-256;
 * manifest.sha256 holds the SHA-256 of manifest.json itself, so a changed byte anywhere in the
 * backup, the manifest included, is found. These hashes find corruption (a disk, a copy, a
 * transfer), not a forger, who could rewrite them: the audit trail inside is what is signed
 * (`keyhold audit verify` on the restored trail), and key material inside is sealed under the
 * master key, which no backup holds.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ConfigError } from "../config.js";
import { PRIVATE_FILE } from "../data-dir.js";

export const MANIFEST = "manifest.json";
export const MANIFEST_HASH = "manifest.sha256";
export const FORMAT = "keyhold-backup/1";
const CHUNK = 1 << 20;

export interface ManifestEntry {
  /** Relative to the backup (and to the data directory it restores), with "/" separators. */
  path: string;
  kind: "sqlite" | "audit-segment" | "object" | "file";
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: string;
  createdAt: string;
  /** Always false: said in the manifest so a reader need not wonder. */
  containsMasterKey: false;
  files: ManifestEntry[];
}

export function writeManifest(dir: string, files: ManifestEntry[]): void {
  const manifest: Manifest = { format: FORMAT, createdAt: new Date().toISOString(), containsMasterKey: false, files };
  const text = JSON.stringify(manifest, null, 1) + "\n";
  writeFileSync(join(dir, MANIFEST), text, { mode: PRIVATE_FILE, flag: "wx" });
  writeFileSync(join(dir, MANIFEST_HASH), hashLine(text), { mode: PRIVATE_FILE, flag: "wx" });
}

/** manifest.sha256: the manifest's hash in sha256sum's format (`sha256sum -c manifest.sha256` checks it too). */
function hashLine(manifest: string | Buffer): string {
  return `${createHash("sha256").update(manifest).digest("hex")}  ${MANIFEST}\n`;
}

/** A relative path a manifest may name: no absolute path, no "..", nothing but plain names. */
const SAFE_PATH = /^(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_.-]+$/;

export interface VerifyReport {
  ok: boolean;
  problems: string[];
  manifest?: Manifest;
}

/** Checks a backup against its manifest: every file listed there with its size and hash, and no other file. */
export function verifyBackup(dir: string): VerifyReport {
  const problems: string[] = [];
  if (!existsSync(join(dir, MANIFEST))) throw new ConfigError(`${dir} is not a keyhold backup (no ${MANIFEST})`);
  const text = readFileSync(join(dir, MANIFEST));
  // The hash file is checked whole, as written: a change anywhere in it is a change.
  let written: string | undefined;
  try {
    written = readFileSync(join(dir, MANIFEST_HASH), "latin1");
  } catch {
    problems.push(`${MANIFEST_HASH} is missing`);
  }
  if (written !== undefined && written !== hashLine(text))
    problems.push(`${MANIFEST} does not match ${MANIFEST_HASH}: one of them was changed`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text.toString("utf8")) as Manifest;
    if (manifest.format !== FORMAT || !Array.isArray(manifest.files)) throw new Error("unknown format");
  } catch {
    problems.push(`${MANIFEST} is not a ${FORMAT} manifest`);
    return { ok: false, problems };
  }
  const listed = new Set<string>();
  for (const f of manifest.files) {
    if (typeof f?.path !== "string" || !SAFE_PATH.test(f.path) || f.path.split("/").includes("..")) {
      problems.push(`the manifest names a path outside the backup: ${JSON.stringify(f?.path)}`);
      continue;
    }
    listed.add(f.path);
    const path = join(dir, ...f.path.split("/"));
    if (!existsSync(path)) {
      problems.push(`${f.path} is missing`);
      continue;
    }
    const actual = hashFile(path, f.path, f.kind);
    if (actual.bytes !== f.bytes) problems.push(`${f.path} has ${actual.bytes} bytes, the manifest says ${f.bytes}`);
    else if (actual.sha256 !== f.sha256) problems.push(`${f.path} does not match its SHA-256 in the manifest`);
  }
  for (const file of filesUnder(dir)) {
    if (file === MANIFEST || file === MANIFEST_HASH || listed.has(file)) continue;
    problems.push(`${file} is not in the manifest`);
  }
  return { ok: problems.length === 0, problems, manifest };
}

/** Every file under a directory, relative, with "/" separators. */
function filesUnder(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(root, path));
    else files.push(relative(root, path).split(sep).join("/"));
  }
  return files;
}

/** A file's size and SHA-256, as a manifest entry. */
export function hashFile(path: string, relative: string, kind: ManifestEntry["kind"]): ManifestEntry {
  const fd = openSync(path, "r");
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(CHUNK);
    let bytes = 0;
    for (let n = readSync(fd, buffer, 0, CHUNK, null); n > 0; n = readSync(fd, buffer, 0, CHUNK, null)) {
      hash.update(buffer.subarray(0, n));
      bytes += n;
    }
    return { path: relative, kind, bytes, sha256: hash.digest("hex") };
  } finally {
    closeSync(fd);
  }
}
