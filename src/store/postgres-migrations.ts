/**
 * PostgreSQL schema: the same tables as SQLite's, in PostgreSQL types. Migrations run once each,
 * in a transaction, under an advisory lock, so several nodes starting together apply them once.
 */
export const POSTGRES_MIGRATIONS: readonly { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: "accounts, access keys and the sealed root key",
    sql: `
      CREATE TABLE keystore_seal (id INTEGER PRIMARY KEY CHECK (id = 1), sealed BYTEA NOT NULL);
      CREATE TABLE accounts (account_id TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
      CREATE TABLE access_keys (
        access_key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        wrapped_secret BYTEA NOT NULL,
        status TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );`,
  },
  {
    id: 2,
    name: "KMS keys, key versions, aliases and tags",
    sql: `
      CREATE TABLE kms_keys (
        key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        description TEXT NOT NULL,
        key_state TEXT NOT NULL,
        key_spec TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        origin TEXT NOT NULL,
        key_manager TEXT NOT NULL,
        policy TEXT NOT NULL,
        creation_date BIGINT NOT NULL,
        deletion_date BIGINT,
        pending_window_days INTEGER,
        rotation_enabled BOOLEAN NOT NULL,
        rotation_period_days INTEGER,
        next_rotation_date BIGINT,
        on_demand_rotations INTEGER NOT NULL,
        current_version INTEGER NOT NULL
      );
      CREATE INDEX kms_keys_by_owner ON kms_keys (account_id, region, key_id);
      CREATE INDEX kms_keys_by_deletion ON kms_keys (deletion_date) WHERE deletion_date IS NOT NULL;
      CREATE INDEX kms_keys_by_rotation ON kms_keys (next_rotation_date) WHERE next_rotation_date IS NOT NULL;
      CREATE TABLE kms_key_versions (
        key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        material_id TEXT NOT NULL,
        wrapped_material BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        rotation_type TEXT,
        PRIMARY KEY (key_id, version)
      );
      CREATE TABLE kms_aliases (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        alias_name TEXT NOT NULL,
        target_key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
        creation_date BIGINT NOT NULL,
        last_updated_date BIGINT NOT NULL,
        PRIMARY KEY (account_id, region, alias_name)
      );
      CREATE INDEX kms_aliases_by_key ON kms_aliases (target_key_id);
      CREATE TABLE kms_tags (
        key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (key_id, tag_key)
      );`,
  },
  {
    id: 3,
    name: "imported key material: expiry, fingerprint and import tokens",
    sql: `
      ALTER TABLE kms_keys ADD COLUMN expiration_model TEXT;
      ALTER TABLE kms_keys ADD COLUMN valid_to BIGINT;
      ALTER TABLE kms_keys ADD COLUMN material_fingerprint BYTEA;
      CREATE INDEX kms_keys_by_valid_to ON kms_keys (valid_to) WHERE valid_to IS NOT NULL;
      CREATE TABLE kms_import_tokens (
        token TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
        wrapping_algorithm TEXT NOT NULL,
        wrapping_key_spec TEXT NOT NULL,
        wrapped_private_key BYTEA NOT NULL,
        valid_to BIGINT NOT NULL
      );`,
  },
  {
    id: 4,
    name: "the audit trail: every node's chains, their digests, the signing key",
    sql: `
      CREATE TABLE audit_chains (chain TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
      CREATE TABLE audit_events (
        chain TEXT NOT NULL REFERENCES audit_chains(chain),
        seq BIGINT NOT NULL,
        event_id TEXT NOT NULL,
        event_time BIGINT NOT NULL,
        account_id TEXT,
        region TEXT,
        event_source TEXT NOT NULL,
        event_name TEXT NOT NULL,
        username TEXT,
        access_key_id TEXT,
        read_only BOOLEAN NOT NULL,
        error_code TEXT,
        request_id TEXT NOT NULL,
        resources TEXT NOT NULL,
        record TEXT NOT NULL,
        hash BYTEA NOT NULL,
        PRIMARY KEY (chain, seq)
      );
      CREATE INDEX audit_events_by_owner ON audit_events (account_id, region, event_time);
      CREATE TABLE audit_key_last_use (
        arn TEXT PRIMARY KEY,
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        event_id TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_time BIGINT NOT NULL,
        request_id TEXT NOT NULL
      );
      CREATE TABLE audit_digests (
        id BIGSERIAL PRIMARY KEY,
        chain TEXT NOT NULL REFERENCES audit_chains(chain),
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        start_time BIGINT NOT NULL,
        end_time BIGINT NOT NULL,
        body TEXT NOT NULL,
        signature TEXT NOT NULL
      );
      CREATE INDEX audit_digests_by_chain ON audit_digests (chain, id);
      CREATE TABLE audit_signing_keys (
        fingerprint TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        wrapped_private_key BYTEA NOT NULL,
        created_at BIGINT NOT NULL
      );`,
  },
  {
    id: 5,
    name: "IAM users, groups, roles, policies and KMS grants as documents; access keys of users and sessions",
    sql: `
      CREATE TABLE documents (
        kind TEXT NOT NULL,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        ref TEXT,
        body TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (kind, account_id, name)
      );
      CREATE INDEX documents_by_ref ON documents (kind, ref) WHERE ref IS NOT NULL;
      ALTER TABLE access_keys ADD COLUMN user_name TEXT;
      ALTER TABLE access_keys ADD COLUMN session TEXT;
      CREATE INDEX access_keys_by_user ON access_keys (account_id, user_name);`,
  },
  {
    id: 6,
    name: "document names compare byte by byte (S3 lists keys in UTF-8 binary order), whatever the database's locale",
    sql: `ALTER TABLE documents ALTER COLUMN name TYPE TEXT COLLATE "C";`,
  },
  {
    id: 7,
    name: "IAM names are unique whatever their case, as IAM has them (alice and ALICE cannot both be users)",
    sql: `CREATE UNIQUE INDEX documents_iam_names ON documents (kind, account_id, lower(name))
      WHERE kind IN ('iam-user', 'iam-group', 'iam-role', 'iam-policy');`,
  },
  {
    id: 8,
    name: "KMS keys in a custom key store (an HSM cluster) name it",
    sql: `ALTER TABLE kms_keys ADD COLUMN custom_key_store_id TEXT;`,
  },
  {
    id: 9,
    name: "LookupEvents from indexes: one per attribute, newest first within it; resources in a side table",
    // Each index ends with event_time so a lookup reads its page newest first and stops at the
    // limit instead of sorting every match. EventId and AccessKeyId lead with the value (rare
    // values; the access key index also serves GetAccessKeyLastUsed, which spans accounts). A
    // resource's type and ARN are both lookup values (ResourceName and ResourceType match either,
    // as the file trail does), one row per distinct value of an event; its key serves retention.
    sql: `
      CREATE INDEX audit_events_by_event_id ON audit_events (event_id);
      CREATE INDEX audit_events_by_access_key ON audit_events (access_key_id, event_time) WHERE access_key_id IS NOT NULL;
      CREATE INDEX audit_events_by_name ON audit_events (account_id, region, event_name, event_time);
      CREATE INDEX audit_events_by_username ON audit_events (account_id, region, username, event_time) WHERE username IS NOT NULL;
      CREATE INDEX audit_events_by_source ON audit_events (account_id, region, event_source, event_time);
      CREATE INDEX audit_events_by_read_only ON audit_events (account_id, region, read_only, event_time);
      CREATE TABLE audit_event_resources (
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        value TEXT NOT NULL,
        account_id TEXT,
        region TEXT,
        event_time BIGINT NOT NULL,
        PRIMARY KEY (chain, seq, value)
      );
      CREATE INDEX audit_event_resources_by_value ON audit_event_resources (account_id, region, value, event_time);
      INSERT INTO audit_event_resources (chain, seq, value, account_id, region, event_time)
        SELECT DISTINCT e.chain, e.seq, v.value, e.account_id, e.region, e.event_time
        FROM audit_events e, jsonb_array_elements(e.resources::jsonb) AS r(pair), LATERAL (VALUES (r.pair->>0), (r.pair->>1)) AS v(value)
        WHERE v.value IS NOT NULL;`,
  },
];
