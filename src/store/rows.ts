/** Rows as both SQL backends return them, mapped to records; and the key columns a patch may set. */
import type { KeyPatch } from "./repository.js";
import type { AccessKeyRecord, AliasRecord, DocumentRecord, ImportTokenRecord, KeyRecord, KeyVersionRecord, Page } from "./records.js";

export type Row = Record<string, unknown>;

export const KEY_COLUMNS: Record<keyof KeyPatch, string> = {
  description: "description",
  keyState: "key_state",
  keySpec: "key_spec",
  keyUsage: "key_usage",
  origin: "origin",
  keyManager: "key_manager",
  policy: "policy",
  deletionDate: "deletion_date",
  pendingWindowInDays: "pending_window_days",
  rotationEnabled: "rotation_enabled",
  rotationPeriodInDays: "rotation_period_days",
  nextRotationDate: "next_rotation_date",
  onDemandRotations: "on_demand_rotations",
  currentVersion: "current_version",
  expirationModel: "expiration_model",
  validTo: "valid_to",
  materialFingerprint: "material_fingerprint",
  customKeyStoreId: "custom_key_store_id",
};

function optional(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

export function toKey(r: Row): KeyRecord {
  return {
    keyId: r.key_id as string,
    accountId: r.account_id as string,
    region: r.region as string,
    description: r.description as string,
    keyState: r.key_state as string,
    keySpec: r.key_spec as string,
    keyUsage: r.key_usage as string,
    origin: r.origin as string,
    keyManager: r.key_manager as string,
    policy: r.policy as string,
    creationDate: Number(r.creation_date),
    deletionDate: optional(r.deletion_date),
    pendingWindowInDays: optional(r.pending_window_days),
    rotationEnabled: r.rotation_enabled === 1 || r.rotation_enabled === true,
    rotationPeriodInDays: optional(r.rotation_period_days),
    nextRotationDate: optional(r.next_rotation_date),
    onDemandRotations: Number(r.on_demand_rotations),
    currentVersion: Number(r.current_version),
    expirationModel: (r.expiration_model as string | null) ?? undefined,
    validTo: optional(r.valid_to),
    materialFingerprint: (r.material_fingerprint as Buffer | null) ?? undefined,
    customKeyStoreId: (r.custom_key_store_id as string | null) ?? undefined,
  };
}

/**
 * One copy of each text many records repeat (account, region, state, spec, usage, origin,
 * manager, and the key policy, the same document on most keys): a cache of 100,000 key records
 * would otherwise hold 100,000 copies of each. Bounded: past SHARED_TEXTS distinct texts it starts
 * over (texts already shared stay shared).
 */
const SHARED_TEXTS = 4096;
let shared = new Map<string, string>();

export function sharedText(text: string): string {
  const known = shared.get(text);
  if (known !== undefined) return known;
  if (shared.size >= SHARED_TEXTS) shared = new Map();
  shared.set(text, text);
  return text;
}

/**
 * The columns of a key, in the order toKeyFromValues reads them: a key read by its id (every
 * request past the record cache) asks for exactly these as an array, not an object per row.
 */
export const KEY_SELECT =
  "key_id, account_id, region, description, key_state, key_spec, key_usage, origin, key_manager, policy, creation_date, " +
  "deletion_date, pending_window_days, rotation_enabled, rotation_period_days, next_rotation_date, on_demand_rotations, " +
  "current_version, expiration_model, valid_to, material_fingerprint, custom_key_store_id";

export function toKeyFromValues(v: unknown[]): KeyRecord {
  return {
    keyId: v[0] as string,
    accountId: sharedText(v[1] as string),
    region: sharedText(v[2] as string),
    description: v[3] as string,
    keyState: sharedText(v[4] as string),
    keySpec: sharedText(v[5] as string),
    keyUsage: sharedText(v[6] as string),
    origin: sharedText(v[7] as string),
    keyManager: sharedText(v[8] as string),
    policy: sharedText(v[9] as string),
    creationDate: Number(v[10]),
    deletionDate: optional(v[11]),
    pendingWindowInDays: optional(v[12]),
    rotationEnabled: v[13] === 1 || v[13] === true,
    rotationPeriodInDays: optional(v[14]),
    nextRotationDate: optional(v[15]),
    onDemandRotations: Number(v[16]),
    currentVersion: Number(v[17]),
    expirationModel: (v[18] as string | null) ?? undefined,
    validTo: optional(v[19]),
    materialFingerprint: (v[20] as Buffer | null) ?? undefined,
    customKeyStoreId: (v[21] as string | null) ?? undefined,
  };
}

/** The columns of a key version, in the order toVersionFromValues reads them. */
export const VERSION_SELECT = "key_id, version, material_id, wrapped_material, created_at, rotation_type";

export function toVersionFromValues(v: unknown[]): KeyVersionRecord {
  return {
    keyId: v[0] as string,
    version: Number(v[1]),
    materialId: v[2] as string,
    wrappedMaterial: v[3] as Buffer,
    createdAt: Number(v[4]),
    rotationType: (v[5] as KeyVersionRecord["rotationType"] | null) ?? undefined,
  };
}

export function toVersion(r: Row): KeyVersionRecord {
  return {
    keyId: r.key_id as string,
    version: Number(r.version),
    materialId: r.material_id as string,
    wrappedMaterial: r.wrapped_material as Buffer,
    createdAt: Number(r.created_at),
    rotationType: (r.rotation_type as KeyVersionRecord["rotationType"]) ?? undefined,
  };
}

export function toAlias(r: Row): AliasRecord {
  return {
    accountId: r.account_id as string,
    region: r.region as string,
    aliasName: r.alias_name as string,
    targetKeyId: r.target_key_id as string,
    creationDate: Number(r.creation_date),
    lastUpdatedDate: Number(r.last_updated_date),
  };
}

export function page<T>(rows: T[], limit: number, cursor: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursor(items[items.length - 1]!) };
}

export function toImportToken(r: Row): ImportTokenRecord {
  return {
    token: r.token as string,
    keyId: r.key_id as string,
    wrappingAlgorithm: r.wrapping_algorithm as string,
    wrappingKeySpec: r.wrapping_key_spec as string,
    wrappedPrivateKey: r.wrapped_private_key as Buffer,
    validTo: Number(r.valid_to),
  };
}

export function toAccessKey(r: Row): AccessKeyRecord {
  return {
    accessKeyId: r.access_key_id as string,
    accountId: r.account_id as string,
    wrappedSecret: r.wrapped_secret as Buffer,
    status: r.status as AccessKeyRecord["status"],
    createdAt: Number(r.created_at),
    userName: (r.user_name as string | null) ?? undefined,
    session: r.session ? (JSON.parse(r.session as string) as AccessKeyRecord["session"]) : undefined,
  };
}

/** The access key's columns, in the order of ACCESS_KEY_INSERT's placeholders. */
export function accessKeyValues(k: AccessKeyRecord): unknown[] {
  return [
    k.accessKeyId,
    k.accountId,
    k.wrappedSecret,
    k.status,
    k.createdAt,
    k.userName ?? null,
    k.session ? JSON.stringify(k.session) : null,
  ];
}

export function toDocument(r: Row): DocumentRecord {
  return {
    kind: r.kind as DocumentRecord["kind"],
    accountId: r.account_id as string,
    name: r.name as string,
    ref: (r.ref as string | null) ?? undefined,
    body: r.body as string,
    revision: Number(r.revision),
    createdAt: Number(r.created_at),
  };
}

/** The document's columns, in the order of the INSERT's placeholders. */
export function documentValues(d: DocumentRecord): unknown[] {
  return [d.kind, d.accountId, d.name, d.ref ?? null, d.body, d.revision, d.createdAt];
}

/** Escapes LIKE's wildcards, for prefix searches (ESCAPE '\\'). */
export function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => "\\" + c) + "%";
}
