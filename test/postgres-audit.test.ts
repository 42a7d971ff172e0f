/**
 * The PostgreSQL audit store on its own: appends are group-committed (one transaction for the
 * appends that wait together), a failed commit fails its whole batch and leaves the chain whole,
 * and LookupEvents reads indexes for every attribute and the time range with the answers a scan
 * gives.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { hash } from "node:crypto";
import pg from "pg";
import { PostgresAuditStore, WRITER_NAME } from "../src/audit/postgres-store.js";
import type { AuditEvent } from "../src/audit/record.js";
import type { LookupKey, LookupQuery, StoredEvent } from "../src/audit/store.js";
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";

const missing = postgresMissing();
const T0 = Date.UTC(2026, 5, 1);

/** An event whose attributes follow from n, so a test knows which events each lookup must find. */
function event(n: number, time = T0 + n * 1000): AuditEvent {
  const key = `arn:aws:kms:us-east-1:000000000000:key/k-${n % 50}`;
  return {
    eventId: `ev-${n}`,
    eventTime: time,
    accountId: n % 7 === 0 ? "111111111111" : "000000000000",
    region: n % 11 === 0 ? "eu-west-1" : "us-east-1",
    eventSource: n % 13 === 0 ? "iam.amazonaws.com" : "kms.amazonaws.com",
    eventName: ["Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey"][n % 4]!,
    username: n % 3 === 0 ? undefined : `user-${n % 20}`,
    accessKeyId: n % 3 === 0 ? undefined : `AKIA${String(n % 20).padStart(16, "0")}`,
    readOnly: n % 4 === 3,
    requestId: `req-${n}`,
    resources: n % 9 === 0 ? [] : [{ arn: key, type: "AWS::KMS::Key" }],
    usesKeys: n % 4 !== 3,
    recordPrefix: `{"eventID":"ev-${n}","additionalEventData":{`,
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The chain as stored: sequence numbers 1..n without a gap, each record linked to its predecessor's hash. */
async function assertChainWhole(url: string, chain: string): Promise<number> {
  const rows = await withClient(
    url,
    async (c) => (await c.query("SELECT seq, record, hash FROM audit_events WHERE chain = $1 ORDER BY seq", [chain])).rows,
  );
  let previous: Buffer = Buffer.alloc(32);
  rows.forEach((r: { seq: string; record: string; hash: Buffer }, i: number) => {
    assert.equal(Number(r.seq), i + 1, "no gap in the sequence");
    const fields = (JSON.parse(r.record) as { additionalEventData: Record<string, unknown> }).additionalEventData;
    assert.equal(fields.keyholdSequence, i + 1);
    assert.equal(fields.keyholdPreviousHash, previous.toString("hex"), `record ${i + 1} links to its predecessor`);
    const own = hash("sha256", r.record, "buffer") as unknown as Buffer;
    assert.deepEqual(r.hash, own);
    previous = own;
  });
  return rows.length;
}

describe("the PostgreSQL audit store", () => {
  let server: TestPostgres;
  before(async () => {
    if (!missing) server = await startPostgres();
  });
  after(() => {
    if (!missing) server.stop();
  });

  it("commits the appends that wait together in one transaction, each resolved once durable", async (t: TestContext) => {
    if (skipWithoutPostgres(t, missing)) return;
    const store = await PostgresAuditStore.open(server.url, "group");
    await store.start(T0);
    try {
      // 200 calls at once: the first commit starts with the first, the rest wait for it and go together.
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.append([event(i + 1)])));
      assert.equal(await assertChainWhole(server.url, "group"), 200);
      // Every row a transaction writes carries its id (xmin): two commits, not two hundred.
      const commits = await withClient(server.url, async (c) =>
        Number((await c.query("SELECT count(DISTINCT xmin::text) AS n FROM audit_events WHERE chain = 'group'")).rows[0].n),
      );
      assert.ok(commits <= 3, `${commits} commits for 200 appends`);
      // The last use of each key is the newest successful use among them.
      const last = await store.lastUse("arn:aws:kms:us-east-1:000000000000:key/k-1");
      const newest = Array.from({ length: 200 }, (_, i) => event(i + 1))
        .filter((e) => e.usesKeys && e.resources.some((r) => r.arn.endsWith("/k-1")))
        .pop()!;
      assert.equal(last?.eventId, newest.eventId);
    } finally {
      await store.close();
    }
  });

  it("a commit that fails fails every call of its batch and leaves the chain whole", async (t: TestContext) => {
    if (skipWithoutPostgres(t, missing)) return;
    const store = await PostgresAuditStore.open(server.url, "failing");
    await store.start(T0);
    try {
      for (let n = 1; n <= 5; n++) await store.append([event(n)]);
      await withClient(server.url, async (c) => {
        await c.query(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$`);
        await c.query("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()");
      });
      const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.append([event(100 + i)])));
      assert.ok(
        outcomes.every((o) => o.status === "rejected" && /disk full/.test(String(o.reason))),
        "every call of the failed batches fails",
      );
      await withClient(server.url, (c) => c.query("DROP TRIGGER refuse_audit ON audit_events"));
      for (let n = 6; n <= 10; n++) await store.append([event(n)]);
      assert.equal(await assertChainWhole(server.url, "failing"), 10, "nothing of the failed batches was kept");
      // Nothing of them reached the side tables either.
      const orphans = await withClient(server.url, async (c) =>
        Number((await c.query("SELECT count(*) AS n FROM audit_event_resources WHERE chain = 'failing' AND seq > 10")).rows[0].n),
      );
      assert.equal(orphans, 0);
    } finally {
      await store.close();
    }
  });

  it("a connection killed under load fails at most the batch it carried; later appends commit on a new one and the chain stays whole", async (t: TestContext) => {
    if (skipWithoutPostgres(t, missing)) return;
    const store = await PostgresAuditStore.open(server.url, "killed");
    await store.start(T0);
    try {
      await store.append([event(1)]);
      let n = 1;
      const outcomes: PromiseSettledResult<void>[] = [];
      const load = (async () => {
        for (let round = 0; round < 30; round++) {
          outcomes.push(...(await Promise.allSettled(Array.from({ length: 20 }, () => store.append([event(++n)])))));
        }
      })();
      const killed = await withClient(server.url, async (c) => {
        for (let tries = 0; tries < 200; tries++) {
          const r = await c.query("SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1", [
            WRITER_NAME,
          ]);
          if (r.rows.some((x: { done: boolean }) => x.done)) return true;
          await new Promise((res) => setTimeout(res, 5));
        }
        return false;
      });
      await load;
      assert.ok(killed, "the writer's connection was terminated");
      const failed = outcomes.filter((o) => o.status === "rejected").length;
      assert.ok(failed <= 20 * 2, `${failed} failed appends`);
      // After the kill, the store opened a new connection and went on.
      assert.equal(outcomes.slice(-20).filter((o) => o.status === "fulfilled").length, 20);
      const kept = await assertChainWhole(server.url, "killed");
      assert.ok(kept >= 1 + 600 - failed, `${kept} events kept, ${failed} failed`);
    } finally {
      await store.close();
    }
  });

  it("LookupEvents reads an index for every attribute and the time range, and pages as a scan would", async (t: TestContext) => {
    if (skipWithoutPostgres(t, missing)) return;
    const store = await PostgresAuditStore.open(server.url, "lookup");
    await store.start(T0);
    const all: AuditEvent[] = [];
    try {
      for (let from = 1; from <= 20_000; from += 4000) {
        const batch = Array.from({ length: 4000 }, (_, i) => event(from + i));
        all.push(...batch);
        await store.append(batch);
      }
      await withClient(server.url, (c) => c.query("ANALYZE"));
      const account = "000000000000";
      const region = "us-east-1";
      const cases: [LookupKey, string, RegExp, (e: AuditEvent) => boolean][] = [
        ["EventId", "ev-12345", /audit_events_by_event_id/, (e) => e.eventId === "ev-12345"],
        ["EventName", "Decrypt", /audit_events_by_name/, (e) => e.eventName === "Decrypt"],
        ["ReadOnly", "true", /audit_events_by_read_only/, (e) => e.readOnly],
        ["Username", "user-5", /audit_events_by_username/, (e) => e.username === "user-5"],
        ["AccessKeyId", "AKIA0000000000000007", /audit_events_by_access_key/, (e) => e.accessKeyId === "AKIA0000000000000007"],
        ["EventSource", "iam.amazonaws.com", /audit_events_by_source/, (e) => e.eventSource === "iam.amazonaws.com"],
        [
          "ResourceName",
          "arn:aws:kms:us-east-1:000000000000:key/k-17",
          /audit_event_resources_by_value/,
          (e) => e.resources.some((r) => r.arn === "arn:aws:kms:us-east-1:000000000000:key/k-17"),
        ],
        ["ResourceType", "AWS::KMS::Key", /audit_event_resources_by_value/, (e) => e.resources.some((r) => r.type === "AWS::KMS::Key")],
      ];
      const window = { startTime: T0 + 5_000_000, endTime: T0 + 5_600_000 };
      for (const [key, value, index, wanted] of cases) {
        for (const range of [{}, window]) {
          const q: LookupQuery = { accountId: account, region, attribute: { key, value }, limit: 50, ...range };
          const plan = await store.explainLookup(q);
          assert.match(plan, index, `${key} ${JSON.stringify(range)}:\n${plan}`);
          assert.doesNotMatch(plan, /Seq Scan/, `${key}:\n${plan}`);
        }
        // The answers and pages are those of a filter over every event, newest first.
        const expected = all
          .filter((e) => e.accountId === account && e.region === region && wanted(e))
          .filter((e) => e.eventTime >= window.startTime && e.eventTime <= window.endTime)
          .sort((a, b) => b.eventTime - a.eventTime)
          .map((e) => e.eventId);
        const got: string[] = [];
        let before: Record<string, number> | undefined;
        let pages = 0;
        do {
          const page: { events: StoredEvent[]; cursor?: Record<string, number> } = await store.lookup({
            accountId: account,
            region,
            attribute: { key, value },
            ...window,
            limit: 50,
            before,
          });
          got.push(...page.events.map((e) => e.eventId));
          before = page.cursor;
          pages++;
        } while (before && pages < 100);
        assert.deepEqual(got, expected, key);
      }
      const byTime = await store.explainLookup({ accountId: account, region, ...window, limit: 50 });
      assert.match(byTime, /audit_events_by_owner/, byTime);
      assert.doesNotMatch(byTime, /Seq Scan/, byTime);
    } finally {
      await store.close();
    }
  });
});
