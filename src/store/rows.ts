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
