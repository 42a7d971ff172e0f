/**
 * An audit chain's SQLite file (audit/chain-N.db, and audit/keys.db for the signing key): apart
 * from keyhold.db, so audit writes never wait on key writes. Since migration 2 the records live in
 * segment files (segments.ts) and audit_events stays empty (a trail written before is moved out
 * of it when its writer starts); the file keeps the chain's meta, digests and last uses, and since
 * migration 3 the trail index (trail-index.ts), keyed within an account and region since migration 4.
 */
/** The trail index's tables, as migration 3 made them and migration 4 makes them again. */
const INDEX_TABLES = `
      CREATE TABLE audit_blocks (
        first_seq INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        segment INTEGER NOT NULL,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        min_time INTEGER NOT NULL,
        max_time INTEGER NOT NULL,
        run_max INTEGER NOT NULL
      );
      CREATE INDEX audit_blocks_run_max ON audit_blocks (run_max, first_seq);
      CREATE TABLE audit_postings (
        segment INTEGER NOT NULL,
        key INTEGER NOT NULL,
        block INTEGER NOT NULL,
        PRIMARY KEY (segment, key, block)
      ) WITHOUT ROWID;`;

export const AUDIT_MIGRATIONS: readonly { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: "events, last use of each key, digests and the signing key",
    sql: `
      CREATE TABLE audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        account_id TEXT,
        region TEXT,
        event_source TEXT NOT NULL,
        event_name TEXT NOT NULL,
        username TEXT,
        access_key_id TEXT,
        read_only INTEGER NOT NULL,
        error_code TEXT,
        request_id TEXT NOT NULL,
        resources TEXT NOT NULL,
        record TEXT NOT NULL,
        hash BLOB NOT NULL
      );
      CREATE TABLE audit_key_last_use (
        arn TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        request_id TEXT NOT NULL
      );
      CREATE TABLE audit_digests (
        id INTEGER PRIMARY KEY,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        start_time INTEGER NOT NULL,
        end_time INTEGER NOT NULL,
        body TEXT NOT NULL,
        signature TEXT NOT NULL
      );
      CREATE TABLE audit_signing_keys (
        fingerprint TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        wrapped_private_key BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );`,
  },
  {
    id: 2,
    name: "records in segment files: the last use of each access key, where each digest ends",
    sql: `
      CREATE TABLE audit_access_key_last_use (
        access_key_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        event_time INTEGER NOT NULL,
        event_source TEXT NOT NULL,
        region TEXT
      );
      ALTER TABLE audit_digests ADD COLUMN end_segment INTEGER;
      ALTER TABLE audit_digests ADD COLUMN end_offset INTEGER;`,
  },
  {
    id: 3,
    name: "the trail index: blocks of records with their time bounds, and which blocks hold each attribute value",
    sql: INDEX_TABLES,
  },
  {
    id: 4,
    name: "the trail index's keys within an account and region: the index is emptied, and its writer rebuilds it from the segments",
    // The blocks go too: rebuilt from the first record, a block's run_max must not start from the
    // last block's. The writer's catch-up (trail-index.ts IndexWriter.catchUp) rebuilds both when
    // it starts; until then lookups scan the records the index does not cover, as before it.
    sql: `
      DROP TABLE audit_postings;
      DROP TABLE audit_blocks;
      DELETE FROM audit_meta WHERE key = 'indexed_seq';
      ${INDEX_TABLES}`,
  },
];
