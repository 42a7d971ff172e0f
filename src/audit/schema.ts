/** An audit chain file (audit/chain-N.db, and audit/keys.db for the signing key): apart from keyhold.db, so audit writes never wait on key writes. */
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
];
