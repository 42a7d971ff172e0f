/**
 * `keyhold audit verify`: checks an exported trail offline with nothing but the files and the
 * public key. Every record names its sequence number and its predecessor's hash; digests sign
 * sequence ranges and chain through their signatures. The verifier walks both and names the
 * first event or digest that was altered, removed, inserted or reordered.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { hash } from "node:crypto";
import { join } from "node:path";
import { recordsOfFile } from "./records-reader.js";
import { verifyDigest, type SignedDigest } from "./digest.js";
import { GENESIS_HASH } from "./database.js";

export interface VerifyReport {
  ok: boolean;
  events: number;
  digests: number;
  /** Events after the last digest: linked, but not yet covered by a signature. */
  unsignedTail: number;
  problems: string[];
}

function filesUnder(dir: string, suffix: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(filesUnder(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

interface Chained {
  additionalEventData?: { keyholdChain?: string; keyholdSequence?: number; keyholdPreviousHash?: string };
  eventID?: string;
}

/** Problems named per chain; past them, only counted. */
export const MAX_PROBLEMS = 1000;

export interface VerifyOptions {
  /** Called as the event files are read: events checked, compressed bytes read, and the bytes of every event file. */
  onProgress?: (events: number, bytesRead: number, bytesTotal: number) => void;
}

/**
 * Verifies every chain of an export (events/chain-<c>, digests/chain-<c>). Event files are read
 * as streams, a record at a time (records-reader.ts): memory stays flat whatever their size.
 */
export async function verifyExport(dir: string, publicKeyPem: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const names = new Set<string>();
  for (const sub of ["events", "digests"]) {
    try {
      for (const n of readdirSync(join(dir, sub))) if (/^chain-[\w.-]+$/.test(n)) names.add(n);
    } catch {
      // no such folder: nothing of that kind was exported
    }
  }
  const total: VerifyReport = { ok: true, events: 0, digests: 0, unsignedTail: 0, problems: [] };
  const eventFiles = new Map([...names].map((name) => [name, filesUnder(join(dir, "events", name), ".json.gz")]));
  const progress = { events: 0, bytesRead: 0, bytesTotal: 0 };
  for (const files of eventFiles.values()) for (const f of files) progress.bytesTotal += statSync(f).size;
  for (const name of [...names].sort()) {
    const r = await verifyChain(
      eventFiles.get(name)!,
      join(dir, "digests", name),
      name.slice("chain-".length),
      publicKeyPem,
      progress,
      options,
    );
    total.events += r.events;
    total.digests += r.digests;
    total.unsignedTail += r.unsignedTail;
    total.problems.push(...r.problems.map((p) => `${name}: ${p}`));
  }
  // Nothing to check is no proof: a mistyped directory must not verify as OK.
  if (names.size === 0) total.problems.push(`no exported events or digests were found in ${dir}`);
  total.ok = total.problems.length === 0;
  return total;
}

async function verifyChain(
  eventFiles: string[],
  digestsDir: string,
  chain: string,
  publicKeyPem: string,
  progress: { events: number; bytesRead: number; bytesTotal: number },
  options: VerifyOptions,
): Promise<VerifyReport> {
  const problems: string[] = [];
  // A file altered throughout must not fill memory with the news: the first problems say it.
  let unsaid = 0;
  const problem = (text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
    else unsaid++;
  };
  // Digests are read one at a time as the events reach them, each checked against the one before
  // (a server writes one a minute: a year's trail has half a million, never all held at once).
  const digestFiles = filesUnder(digestsDir, ".json");
  let nextDigest = 0;
  let previous: SignedDigest | undefined;
  let digestCount = 0;
  const readDigest = (): { file: string; signed: SignedDigest } | undefined => {
    while (nextDigest < digestFiles.length) {
      const file = digestFiles[nextDigest++]!;
      let signed: SignedDigest;
      try {
        signed = JSON.parse(readFileSync(file, "utf8")) as SignedDigest;
      } catch {
        problem(`digest file ${file} is not readable JSON`);
        continue;
      }
      digestCount++;
      if (!verifyDigest(signed, publicKeyPem)) problem(`digest ${file} was altered: its signature does not verify`);
      if (previous) {
        if (signed.digest.previousDigestSignature !== previous.digestSignature) {
          problem(`digest ${file} does not follow the digest before it: a digest was removed, inserted or reordered`);
        } else if (signed.digest.firstSequence !== previous.digest.lastSequence + 1) {
          problem(`digest ${file} does not start where the digest before it ended`);
        }
      }
      previous = signed;
      return { file, signed };
    }
    return undefined;
  };
  /** The digest the next events are checked against: the first whose range ends at or after them. */
  let current = readDigest();
  const firstDigest = current?.signed.digest;

  let expected: number | undefined = firstDigest?.firstSequence;
  let link: string | undefined = firstDigest?.previousEventHash ?? (expected === undefined ? undefined : GENESIS_HASH.toString("hex"));
  let lastId = "(start)";
  let events = 0;
  let lastSigned = 0;
  let lastSeq = 0;
  const check = (record: Chained, file: string) => {
    events++;
    const seq = record.additionalEventData?.keyholdSequence;
    const id = record.eventID ?? "(no eventID)";
    if (typeof seq !== "number" || record.additionalEventData?.keyholdChain !== chain) {
      problem(`event ${id} in ${file} does not belong to chain ${chain}: inserted`);
      return;
    }
    if (events === 1 && expected !== undefined && seq < expected) {
      problem(
        `event ${id} (sequence ${seq}) comes before the first digest, which starts at sequence ${expected}: a digest was removed, or events inserted`,
      );
    } else if (expected !== undefined && seq > expected) {
      problem(`sequence ${expected}${seq - 1 > expected ? `–${seq - 1}` : ""} is missing before event ${id} (${file}): removed`);
    } else if (expected !== undefined && seq < expected) {
      problem(`event ${id} (sequence ${seq}) in ${file} comes after sequence ${expected - 1}: inserted or reordered`);
    } else if (link !== undefined && record.additionalEventData?.keyholdPreviousHash !== link) {
      problem(`event ${lastId} (sequence ${seq - 1}) was altered: its hash no longer matches the link in event ${id} (sequence ${seq})`);
    }
    const text = JSON.stringify(record);
    link = hash("sha256", text, "hex");
    // Digests whose range ended before this event (their last event is missing: said above) are passed.
    while (current && current.signed.digest.lastSequence < seq) current = readDigest();
    if (current && current.signed.digest.lastSequence === seq) {
      if (current.signed.digest.lastEventHash !== link) {
        problem(`event ${id} (sequence ${seq}) does not match the signed digest ${current.file}: altered`);
      }
      lastSigned = seq;
      current = readDigest();
    }
    expected = seq + 1;
    lastId = id;
    lastSeq = seq;
  };
  for (const file of eventFiles) {
    try {
      let sinceReport = 0;
      for await (const text of recordsOfFile(file, (bytes) => (progress.bytesRead += bytes))) {
        // Parsed, then hashed as JSON.stringify writes it: the text keyhold wrote and hashed.
        check(JSON.parse(text) as Chained, file);
        progress.events++;
        if (++sinceReport === 1000) {
          sinceReport = 0;
          options.onProgress?.(progress.events, progress.bytesRead, progress.bytesTotal);
        }
      }
      options.onProgress?.(progress.events, progress.bytesRead, progress.bytesTotal);
    } catch {
      problem(`event file ${file} is not a readable gzip of {"Records": [...]}`);
    }
  }
  // Digests past the last event: checked all the same (signature, chain), then the last one's range.
  while (current) current = readDigest();
  const lastDigest = previous?.digest;
  if (lastDigest && lastSeq < lastDigest.lastSequence) {
    problem(`the events up to sequence ${lastDigest.lastSequence} that the last digest signs end at ${lastSeq}: removed`);
  }
  if (unsaid > 0) problems.push(`and ${unsaid} more problems`);
  return {
    ok: problems.length === 0,
    events,
    digests: digestCount,
    unsignedTail: lastSigned > 0 || digestCount > 0 ? Math.max(0, lastSeq - lastSigned) : events,
    problems,
  };
}
