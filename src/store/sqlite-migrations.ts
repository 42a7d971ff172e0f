/**
 * SQLite schema, as an append-only list of migrations. Each runs once, in order, inside a
 * transaction, and is recorded in schema_migrations. Never edit a shipped migration: add one.
 */
export const SQLITE_MIGRATIONS: readonly { id: number; name: string; sql: string }[] = [
  {
    id: 1,
    name: "accounts, access keys and the sealed root key",
    sql: `
      CREATE TABLE keystore_seal (id INTEGER PRIMARY KEY CHECK (id = 1), sealed BLOB NOT NULL);
      CREATE TABLE accounts (account_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
      CREATE TABLE access_keys (
        access_key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        wrapped_secret BLOB NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL
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
        creation_date INTEGER NOT NULL,
        deletion_date INTEGER,
        pending_window_days INTEGER,
        rotation_enabled INTEGER NOT NULL,
        rotation_period_days INTEGER,
        next_rotation_date INTEGER,
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
        wrapped_material BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        rotation_type TEXT,
        PRIMARY KEY (key_id, version)
      );
      CREATE TABLE kms_aliases (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        alias_name TEXT NOT NULL,
        target_key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
        creation_date INTEGER NOT NULL,
        last_updated_date INTEGER NOT NULL,
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
      ALTER TABLE kms_keys ADD COLUMN valid_to INTEGER;
      ALTER TABLE kms_keys ADD COLUMN material_fingerprint BLOB;
      CREATE INDEX kms_keys_by_valid_to ON kms_keys (valid_to) WHERE valid_to IS NOT NULL;
      CREATE TABLE kms_import_tokens (
        token TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
        wrapping_algorithm TEXT NOT NULL,
        wrapping_key_spec TEXT NOT NULL,
        wrapped_private_key BLOB NOT NULL,
        valid_to INTEGER NOT NULL
      );`,
  },
  {
    id: 4,
    name: "IAM users, groups, roles, policies and KMS grants as documents; access keys of users and sessions",
    sql: `
      CREATE TABLE documents (
        kind TEXT NOT NULL,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        ref TEXT,
        body TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (kind, account_id, name)
      );
      CREATE INDEX documents_by_ref ON documents (kind, ref) WHERE ref IS NOT NULL;
      ALTER TABLE access_keys ADD COLUMN user_name TEXT;
      ALTER TABLE access_keys ADD COLUMN session TEXT;
      CREATE INDEX access_keys_by_user ON access_keys (account_id, user_name);`,
  },
  {
    id: 5,
    name: "IAM names are unique whatever their case, as IAM has them (alice and ALICE cannot both be users)",
    sql: `CREATE UNIQUE INDEX documents_iam_names ON documents (kind, account_id, lower(name))
      WHERE kind IN ('iam-user', 'iam-group', 'iam-role', 'iam-policy');`,
  },
  {
    id: 6,
    name: "KMS keys in a custom key store (an HSM cluster) name it",
    sql: `ALTER TABLE kms_keys ADD COLUMN custom_key_store_id TEXT;`,
  },
];
