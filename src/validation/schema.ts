/**
 * A small schema language for operation inputs, with the bounds, enums and patterns the AWS
 * service models state. `decode` turns the parsed JSON body into the SDK's input shape (blobs
 * become Buffers) and reports problems the way AWS does:
 *  - a value of the wrong JSON type, or a blob that is not base64 → SerializationException;
 *  - a missing required member, a length, range, enum or pattern violation → ValidationException,
 *    all violations in one message ("2 validation errors detected: ...").
 * Members the schema does not name are ignored, as AWS services ignore them.
 */
import { ServiceError } from "../errors.js";

export type Schema =
  | { kind: "string"; min?: number; max?: number; pattern?: RegExp; enum?: readonly string[] }
  | { kind: "integer"; min?: number; max?: number }
  | { kind: "boolean" }
  | { kind: "timestamp" }
  | { kind: "blob"; min?: number; max?: number }
  | { kind: "list"; member: Schema; min?: number; max?: number }
  | { kind: "map"; key: Schema; value: Schema; min?: number; max?: number }
  | { kind: "structure"; members: Record<string, Schema>; required?: readonly string[] };

export const str = (o: Omit<Extract<Schema, { kind: "string" }>, "kind"> = {}): Schema => ({ kind: "string", ...o });
export const int = (o: Omit<Extract<Schema, { kind: "integer" }>, "kind"> = {}): Schema => ({ kind: "integer", ...o });
export const bool = (): Schema => ({ kind: "boolean" });
/** AWS JSON 1.1 timestamps: epoch seconds as a number. Decoded to a Date. */
export const timestamp = (): Schema => ({ kind: "timestamp" });
export const blob = (o: Omit<Extract<Schema, { kind: "blob" }>, "kind"> = {}): Schema => ({ kind: "blob", ...o });
export const list = (member: Schema, o: { min?: number; max?: number } = {}): Schema => ({ kind: "list", member, ...o });
export const map = (key: Schema, value: Schema, o: { min?: number; max?: number } = {}): Schema => ({
  kind: "map",
  key,
  value,
  ...o,
});
export const struct = (members: Record<string, Schema>, required: readonly string[] = []): Schema => ({
  kind: "structure",
  members,
  required,
});
export const enumOf = (values: readonly string[]): Schema => ({ kind: "string", enum: values });

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const LOWER_NAMES = new Map<string, string>();

/**
 * A member's name as AWS writes it in validation messages and CloudTrail in requestParameters:
 * with a lower-case first letter ('keyId'). Member names are few, so each is made once.
 */
export function lowerMemberName(name: string): string {
  let lower = LOWER_NAMES.get(name);
  if (lower === undefined) {
    lower = name.charAt(0).toLowerCase() + name.slice(1);
    if (LOWER_NAMES.size < 10_000) LOWER_NAMES.set(name, lower);
  }
  return lower;
}

function memberPath(parent: string, name: string): string {
  const lower = lowerMemberName(name);
  return parent ? `${parent}.${lower}` : lower;
}

type StructureSchema = Extract<Schema, { kind: "structure" }>;
type Member = { name: string; schema: Schema; required: boolean };
const MEMBERS = new WeakMap<StructureSchema, readonly Member[]>();

/** A structure's members as a list, made once per schema: the walk runs on every request. */
function membersOf(schema: StructureSchema): readonly Member[] {
  let members = MEMBERS.get(schema);
  if (!members) {
    members = Object.entries(schema.members).map(([name, s]) => ({ name, schema: s, required: schema.required?.includes(name) ?? false }));
    MEMBERS.set(schema, members);
  }
  return members;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Buffer.isBuffer(value)) return "[binary]";
  if (typeof value === "object") return "[object]";
  const text = String(value);
  return `'${text.length > 64 ? text.slice(0, 64) + "..." : text}'`;
}

function serialization(path: string, expected: string): never {
  throw new ServiceError("SerializationException", `Expected ${expected} at '${path || "body"}'.`);
}

export function decode<T>(schema: Schema, value: unknown): T {
  const problems: string[] = [];
  const result = walk(schema, value, "", problems);
  if (problems.length > 0) {
    const count = problems.length === 1 ? "1 validation error detected" : `${problems.length} validation errors detected`;
    throw new ServiceError("ValidationException", `${count}: ${problems.join("; ")}`);
  }
  return result as T;
}

function walk(schema: Schema, value: unknown, path: string, problems: string[]): unknown {
  switch (schema.kind) {
    case "structure": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) serialization(path, "a structure");
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const m of membersOf(schema)) {
        const raw = Object.prototype.hasOwnProperty.call(input, m.name) ? input[m.name] : undefined;
        if (raw === undefined || raw === null) {
          if (m.required)
            problems.push(`Value null at '${memberPath(path, m.name)}' failed to satisfy constraint: Member must not be null`);
          continue;
        }
        out[m.name] = walk(m.schema, raw, memberPath(path, m.name), problems);
      }
      return out;
    }
    case "string": {
      if (typeof value !== "string") serialization(path, "a string");
      lengthCheck(value.length, schema, value, path, problems);
      if (schema.enum && !schema.enum.includes(value)) {
        problems.push(
          `Value ${show(value)} at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${schema.enum.join(", ")}]`,
        );
      } else if (schema.pattern && !schema.pattern.test(value)) {
        problems.push(
          `Value ${show(value)} at '${path}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${schema.pattern.source}`,
        );
      }
      return value;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) serialization(path, "an integer");
      if (schema.min !== undefined && value < schema.min) {
        problems.push(
          `Value '${value}' at '${path}' failed to satisfy constraint: Member must have value greater than or equal to ${schema.min}`,
        );
      }
      if (schema.max !== undefined && value > schema.max) {
        problems.push(
          `Value '${value}' at '${path}' failed to satisfy constraint: Member must have value less than or equal to ${schema.max}`,
        );
      }
      return value;
    }
    case "boolean":
      if (typeof value !== "boolean") serialization(path, "a boolean");
      return value;
    case "timestamp": {
      // A Date holds ±8.64e15 ms; a number past that is no time at all.
      const date = typeof value === "number" ? new Date(value * 1000) : undefined;
      if (!date || Number.isNaN(date.getTime())) serialization(path, "a timestamp (epoch seconds)");
      return date;
    }
    case "blob": {
      if (typeof value !== "string" || !BASE64.test(value)) serialization(path, "a base64-encoded blob");
      const bytes = Buffer.from(value, "base64");
      lengthCheck(bytes.length, schema, bytes, path, problems);
      return bytes;
    }
    case "list": {
      if (!Array.isArray(value)) serialization(path, "a list");
      lengthCheck(value.length, schema, value, path, problems);
      return value.map((item, i) => walk(schema.member, item, `${path}.${i + 1}.member`, problems));
    }
    case "map": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) serialization(path, "a map");
      const entries = Object.entries(value as Record<string, unknown>);
      lengthCheck(entries.length, schema, value, path, problems);
      // A null-prototype object: a map key such as "__proto__" stays plain data.
      const out: Record<string, unknown> = Object.create(null);
      for (const [k, v] of entries) {
        walk(schema.key, k, `${path}.key`, problems);
        if (v === null) serialization(`${path}.${k}`, "a value");
        out[k] = walk(schema.value, v, `${path}.${k}`, problems);
      }
      return out;
    }
  }
}

function lengthCheck(length: number, schema: { min?: number; max?: number }, value: unknown, path: string, problems: string[]): void {
  if (schema.min !== undefined && length < schema.min) {
    problems.push(
      `Value ${show(value)} at '${path}' failed to satisfy constraint: Member must have length greater than or equal to ${schema.min}`,
    );
  }
  if (schema.max !== undefined && length > schema.max) {
    problems.push(
      `Value ${show(value)} at '${path}' failed to satisfy constraint: Member must have length less than or equal to ${schema.max}`,
    );
  }
}
