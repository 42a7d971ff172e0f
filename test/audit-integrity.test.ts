/** Tamper evidence: export a real trail, change it four ways, and see `verify` name each change. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { CreateKeyCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { SqliteAuditStore } from "../src/audit/sqlite-store.js";
import { exportTrail, PUBLIC_KEY_FILE } from "../src/audit/export.js";
import { verifyExport } from "../src/audit/verify.js";
import { startTestServer, tempDir, type TestServer } from "./helpers.js";

async function exportNow(dataDir: string, out: string) {
  const store = new SqliteAuditStore(dataDir);
  try {
    return await exportTrail(store, out);
  } finally {
    await store.close();
  }
}

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function eventFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? eventFiles(p) : p.endsWith(".json.gz") ? [p] : [];
    });
}

type Rec = Record<string, unknown> & { eventID: string; additionalEventData: { keyholdSequence: number } };
const read = (file: string): Rec[] => (JSON.parse(gunzipSync(readFileSync(file)).toString()) as { Records: Rec[] }).Records;
const writeRecords = (file: string, records: Rec[]) => writeFileSync(file, gzipSync(JSON.stringify({ Records: records })));

describe("audit trail integrity: export, verify, tamper", () => {
  let server: TestServer;
  let kms: KMSClient;
  let clock: ManualClock;
  let exported: string;
  let pem: string;
  const work: string[] = [];
  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    kms = server.client();
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 6; i++) await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`first ${i}`) }));
    assert.ok(await server.keyhold.audit.digest());
    for (let i = 0; i < 6; i++) await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`second ${i}`) }));
    assert.ok(await server.keyhold.audit.digest());
    assert.equal(await server.keyhold.audit.digest(), 0, "no digest without new events");
    exported = tempDir("keyhold-export-");
    work.push(exported);
    const result = await exportNow(server.dataDir, exported);
    assert.equal(result.events, 13);
    assert.equal(result.digests, 2);
    pem = readFileSync(join(exported, PUBLIC_KEY_FILE), "utf8");
  });
  after(async () => {
    await server.stop();
    for (const d of work) rmSync(d, { recursive: true, force: true });
  });

  it("an export is its owner's only: files 0600, the directories it makes 0700", () => {
    const files = [...eventFiles(join(exported, "events")), join(exported, PUBLIC_KEY_FILE)];
    const digests = join(exported, "digests");
    for (const chain of readdirSync(digests)) for (const f of readdirSync(join(digests, chain))) files.push(join(digests, chain, f));
    assert.ok(files.length >= 3);
    for (const f of files) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    for (const d of [join(exported, "events"), digests]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
  });

  /** A copy of the export to change. */
  function copy(): { dir: string; file: string; records: Rec[] } {
    const dir = tempDir("keyhold-tamper-");
    work.push(dir);
    cpSync(exported, dir, { recursive: true });
    const file = eventFiles(join(dir, "events"))[0]!;
    return { dir, file, records: read(file) };
  }

  it("an untouched export verifies, with the CLI too", async () => {
    const report = await verifyExport(exported, pem);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.events, 13);
    assert.equal(report.unsignedTail, 0);
    const cli = spawnSync(process.execPath, [MAIN, "audit", "verify", exported, "--public-key", join(exported, PUBLIC_KEY_FILE)], {
      encoding: "utf8",
    });
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^OK: 13 events, 2 digests/m);
    // A directory with nothing exported in it is no proof, and a missing key is said in words.
    const empty = tempDir("keyhold-empty-export-");
    const nothing = spawnSync(process.execPath, [MAIN, "audit", "verify", empty, "--public-key", join(exported, PUBLIC_KEY_FILE)], {
      encoding: "utf8",
    });
    assert.equal(nothing.status, 1);
    assert.match(nothing.stdout, /FAIL no exported events or digests were found/);
    const noKey = spawnSync(process.execPath, [MAIN, "audit", "verify", empty], { encoding: "utf8" });
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /keyhold: cannot read the public key .*ENOENT/);
    assert.doesNotMatch(noKey.stderr, /at readFileSync/);
    rmSync(empty, { recursive: true, force: true });
  });

  it("names an altered event", async () => {
    const { dir, file, records } = copy();
    const victim = records[4]!;
    victim.sourceIPAddress = "10.9.9.9";
    writeRecords(file, records);
    const report = await verifyExport(dir, pem);
    assert.equal(report.ok, false);
    assert.match(
      report.problems[0]!,
      new RegExp(`event ${victim.eventID} \\(sequence ${victim.additionalEventData.keyholdSequence}\\) was altered`),
    );
    const cli = spawnSync(process.execPath, [MAIN, "audit", "verify", dir, "--public-key", join(exported, PUBLIC_KEY_FILE)], {
      encoding: "utf8",
    });
    assert.equal(cli.status, 1);
    assert.match(cli.stdout, /FAIL .*was altered/);
  });

  it("names a removed event", async () => {
    const { dir, file, records } = copy();
    const removed = records.splice(3, 1)[0]!;
    writeRecords(file, records);
    const report = await verifyExport(dir, pem);
    assert.equal(report.ok, false);
    assert.match(
      report.problems[0]!,
      new RegExp(`sequence ${removed.additionalEventData.keyholdSequence} is missing before event ${records[3]!.eventID}.*removed`),
    );
  });

  it("names an inserted event", async () => {
    const { dir, file, records } = copy();
    const forged = { ...records[2]!, eventID: "forged-event", eventName: "Decrypt" } as Rec;
    records.splice(5, 0, forged);
    writeRecords(file, records);
    const report = await verifyExport(dir, pem);
    assert.equal(report.ok, false);
    assert.match(report.problems[0]!, /event forged-event \(sequence \d+\) .* inserted or reordered/);
  });

  it("names reordered events", async () => {
    const { dir, file, records } = copy();
    [records[6], records[7]] = [records[7]!, records[6]!];
    writeRecords(file, records);
    const report = await verifyExport(dir, pem);
    assert.equal(report.ok, false);
    assert.match(
      report.problems.join("\n"),
      new RegExp(`event ${records[7]!.eventID} \\(sequence ${records[7]!.additionalEventData.keyholdSequence}\\) .* inserted or reordered`),
    );
  });

  it("names an altered or removed digest, and refuses another signing key", async () => {
    const altered = copy();
    const digests = readdirSync(join(altered.dir, "digests", "chain-1")).sort();
    const first = join(altered.dir, "digests", "chain-1", digests[0]!);
    const d = JSON.parse(readFileSync(first, "utf8"));
    d.digest.eventCount += 1;
    writeFileSync(first, JSON.stringify(d));
    assert.match((await verifyExport(altered.dir, pem)).problems[0]!, /digest .*keyhold_digest_00000001\.json was altered/);

    const removed = copy();
    rmSync(join(removed.dir, "digests", "chain-1", digests[0]!));
    assert.match(
      (await verifyExport(removed.dir, pem)).problems[0]!,
      /comes before the first digest, which starts at sequence \d+: a digest was removed/,
    );
    // Without the newest digest, its events are no longer covered by a signature, and verify says so.
    const newest = copy();
    rmSync(join(newest.dir, "digests", "chain-1", digests[1]!));
    const tail = await verifyExport(newest.dir, pem);
    assert.equal(tail.unsignedTail, 6);

    const other = copy();
    const otherPem = readFileSync(join(exported, PUBLIC_KEY_FILE), "utf8").replace(/A/g, "B");
    assert.equal((await verifyExport(other.dir, otherPem)).ok, false);
  });

  it("retention deletes whole digest ranges; what remains still verifies", async () => {
    clock.advance(400 * DAY_MS);
    const removed = await server.keyhold.audit.prune();
    assert.equal(removed, 13);
    const client = server.client("us-east-1", { systemClockOffset: clock.now() - Date.now() });
    const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("after retention") }));
    await server.keyhold.audit.digest();
    const dir = tempDir("keyhold-retained-");
    work.push(dir);
    const result = await exportNow(server.dataDir, dir);
    assert.equal(result.events, 2);
    const report = await verifyExport(dir, pem);
    assert.deepEqual(report.problems, []);
  });
});
