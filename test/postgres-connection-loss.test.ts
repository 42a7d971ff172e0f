/**
 * PostgreSQL ending a connection that keyhold holds between two statements of a transaction (a
 * restart, an administrator's pg_terminate_backend) fails that transaction; it never ends the
 * process with an unheard 'error' event, and the broken connection is not handed out again.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { inTransaction } from "../src/store/postgres.js";
import { postgresMissing, skipWithoutPostgres, startPostgres, type TestPostgres } from "./postgres.js";

const missing = postgresMissing();

describe("a PostgreSQL connection lost inside a transaction", () => {
  let server: TestPostgres;
  before(async () => {
    if (!missing) server = await startPostgres();
  });
  after(() => {
    if (!missing) server.stop();
  });

  it("fails the transaction, not the process, and the pool goes on with a new connection", async (t: TestContext) => {
    if (skipWithoutPostgres(t, missing)) return;
    const pool = new pg.Pool({ connectionString: server.url, max: 1 });
    pool.on("error", () => undefined);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const uncaught: Error[] = [];
    const heard = (e: Error) => uncaught.push(e);
    process.on("uncaughtException", heard);
    try {
      let victim = 0;
      await assert.rejects(
        inTransaction(pool, async (q) => {
          victim = Number((await q("SELECT pg_backend_pid() AS pid"))[0]!.pid);
          await admin.query("SELECT pg_terminate_backend($1)", [victim]);
          // The termination arrives while no statement of this connection runs.
          await new Promise((res) => setTimeout(res, 300));
          await q("SELECT 1");
        }),
      );
      assert.deepEqual(uncaught, [], "no error went unheard");
      const next = Number((await pool.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
      assert.notEqual(next, victim, "the pool opened a new connection");
      assert.equal(await inTransaction(pool, async (q) => (await q("SELECT 41 + 1 AS n"))[0]!.n), 42);
    } finally {
      process.removeListener("uncaughtException", heard);
      await admin.end();
      await pool.end();
    }
  });
});
