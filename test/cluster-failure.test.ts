/** Three keyhold node processes on one PostgreSQL: kill -9 one under load; nothing acknowledged is lost and the scheduler moves. */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { CreateKeyCommand, DescribeKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import pg from "pg";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer, type ServerProcess } from "./process.js";
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";

const missing = postgresMissing();

describe("node failure in a three-node cluster", () => {
  let pgServer: TestPostgres;
  const nodes: ServerProcess[] = [];
  const dir = tempDir("keyhold-failure-");
  before(async () => {
    if (missing) return;
    pgServer = await startPostgres();
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await spawnServer(join(dir, `node-${i}`), {
          KEYHOLD_DATABASE_URL: pgServer.url,
          KEYHOLD_MASTER_KEY_FILE: join(dir, "master.key"),
          KEYHOLD_SCHEDULER_INTERVAL_MS: "100",
        }),
      );
    }
  });
  after(async () => {
    for (const n of nodes) await n.kill("SIGKILL");
    if (!missing) pgServer.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps serving, keeps every acknowledged key, and hands the scheduler to a live node", async (t: TestContext) => {
    if (skipWithoutPostgres(t, missing)) return;
    const leaderOf = () => nodes.findIndex((n) => /now runs the scheduler/.test(n.output()));
    const waitFor = async (check: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return check();
    };
    assert.ok(await waitFor(() => leaderOf() >= 0, 5000), "one node took the scheduler lease");
    const leader = leaderOf();
    assert.equal(nodes.filter((n) => /now runs the scheduler/.test(n.output())).length, 1, "exactly one node runs the scheduler");

    const clients: KMSClient[] = nodes.map((n) => kmsClient(n.url));
    const acknowledged: string[] = [];
    const requestIds: string[] = [];
    let stop = false;
    const writers = clients.map(async (client, i) => {
      while (!stop) {
        try {
          const out = await client.send(new CreateKeyCommand({ Description: `from node ${i}` }));
          acknowledged.push(out.KeyMetadata!.KeyId!);
          requestIds.push(out.$metadata.requestId!);
        } catch {
          if (i !== leader) throw new Error(`node ${i} failed while another node died`);
          return; // the killed node's own calls fail, as they should
        }
      }
    });
    // Counted in acknowledged calls, not in time, so a loaded machine does not fail the test.
    assert.ok(await waitFor(() => acknowledged.length >= 20, 15000), `load ran: ${acknowledged.length} keys`);
    await nodes[leader]!.kill("SIGKILL");
    const atKill = acknowledged.length;
    assert.ok(
      await waitFor(() => acknowledged.length >= atKill + 20, 15000),
      `the survivors kept serving: ${acknowledged.length - atKill} keys after the kill`,
    );
    stop = true;
    await Promise.all(writers);

    const survivors = nodes.filter((_, i) => i !== leader);
    assert.ok(
      await waitFor(() => survivors.some((n) => /now runs the scheduler/.test(n.output())), 5000),
      "a surviving node took the scheduler over",
    );

    const check = clients.find((_, i) => i !== leader)!;
    for (const keyId of acknowledged) {
      assert.equal((await check.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyId, keyId);
    }
    for (const c of clients) c.destroy();

    // Every acknowledged call has its audit event in the shared database.
    const pool = new pg.Pool({ connectionString: pgServer.url });
    const recorded = new Set(
      (await pool.query("SELECT request_id FROM audit_events")).rows.map((r: { request_id: string }) => r.request_id),
    );
    await pool.end();
    assert.deepEqual(
      requestIds.filter((id) => !recorded.has(id)),
      [],
    );
  });
});
