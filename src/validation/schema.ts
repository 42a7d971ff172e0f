/**
 * A small schema language for operation inputs, with the bounds, enums and patterns the AWS
 * service models state. `decode` turns the parsed JSON body into the SDK's input shape (blobs
 * become Buffers) and reports problems the way AWS does:
 *  - a value of the wrong JSON type, or a blob that is not base64 → SerializationException;
 *  - a missing required member, a length, range, enum or pattern violation → ValidationException,
 *    all violations in one message, in AWS's words ("2 validation errors detected: Value 'X' at
 *    'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [...]; ...").
 * Members the schema does not name are ignored, as AWS services ignore them.
 *
 * Every list and map is bounded: by the model's max where it states one, else by
 * DEFAULT_MAX_ITEMS (docs/limits.md). Decoding runs before authorization, so an oversized
 * collection is refused before a policy is evaluated or an audit record is written for it, and
 * its members are not walked at all.
 */
import { ServiceError } from "../errors.js";

export type Schema =
  | {
      kind: "string";
      min?: number;
      max?: number;
      pattern?: RegExp;
      enum?: readonly string[];
      /** The model's `sensitive` (a password): a message names the member and never repeats the value, as AWS. */
      sensitive?: boolean;
    }
  | { kind: "integer"; min?: number; max?: number }
  | { kind: "boolean" }
  | { kind: "timestamp" }
  | { kind: "blob"; min?: number; max?: number }
  | { kind: "list"; member: Schema; min?: number; max: number }
  | {
      kind: "map";
      key: Schema;
      value: Schema;
      min?: number;
      max: number;
      /** At most this many characters in all keys and values together (an encryption context's size). */
      maxTotal?: number;
    }
  | { kind: "structure"; members: Record<string, Schema>; required?: readonly string[] };

export const str = (o: Omit<Extract<Schema, { kind: "string" }>, "kind"> = {}): Schema => ({ kind: "string", ...o });
export const int = (o: Omit<Extract<Schema, { kind: "integer" }>, "kind"> = {}): Schema => ({ kind: "integer", ...o });
export const bool = (): Schema => ({ kind: "boolean" });
/** AWS JSON 1.1 timestamps: epoch seconds as a number. Decoded to a Date. */
export const timestamp = (): Schema => ({ kind: "timestamp" });
export const blob = (o: Omit<Extract<Schema, { kind: "blob" }>, "kind"> = {}): Schema => ({ kind: "blob", ...o });
/**
 * The most items a list or map may hold where the service model states no bound: a request is a
 * few KB of intent, and a thousand items is more than any AWS API documents for one call
 * (S3's DeleteObjects, the largest, takes 1,000 keys).
 */
export const DEFAULT_MAX_ITEMS = 1000;

export const list = (member: Schema, o: { min?: number; max?: number } = {}): Schema => ({
  kind: "list",
  member,
  min: o.min,
  max: o.max ?? DEFAULT_MAX_ITEMS,
});
export const map = (key: Schema, value: Schema, o: { min?: number; max?: number; maxTotal?: number } = {}): Schema => ({
  kind: "map",
  key,
  value,
  min: o.min,
  max: o.max ?? DEFAULT_MAX_ITEMS,
  maxTotal: o.maxTotal,
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

/** How many of a request's validation errors its message spells out. */
const MAX_PROBLEMS_SHOWN = 10;

/** How much of a value a message repeats: enough to recognise it, never the whole of a large one. */
const SHOWN = 64;

/**
 * The start of AWS's sentence for a value: "Value 'X'", "Value null", or just "Value" for a blob
 * (AWS never repeats binary, which may be plaintext: "Value at 'plaintext' failed to satisfy
 * constraint: ..."). Lists and maps read as AWS's Java services print them, "[a, b]" and
 * "{k=v}"; a long value is cut after SHOWN characters with "...".
 */
function valueAt(value: unknown, path: string, keys?: readonly string[]): string {
  if (value === null || value === undefined) return `Value null at '${path}'`;
  if (Buffer.isBuffer(value) || value === SENSITIVE) return `Value at '${path}'`;
  const out = { text: "" };
  render(value, out, keys);
  return `Value '${out.text.length > SHOWN ? out.text.slice(0, SHOWN) + "..." : out.text}' at '${path}'`;
}

/**
 * Appends a value's text to out.text, stopping once past SHOWN characters (a value may be huge).
 * An object's keys are enumerated whole by any means JavaScript has, so a map whose keys are at
 * hand passes them.
 */
function render(value: unknown, out: { text: string }, keys?: readonly string[]): void {
  if (out.text.length > SHOWN) return;
  if (Array.isArray(value)) {
    out.text += "[";
    for (let i = 0; i < value.length && out.text.length <= SHOWN; i++) {
      if (i > 0) out.text += ", ";
      render(value[i], out);
    }
    out.text += "]";
  } else if (Buffer.isBuffer(value)) {
    out.text += "[binary]";
  } else if (typeof value === "object" && value !== null) {
    out.text += "{";
    const names = keys ?? Object.keys(value);
    for (let i = 0; i < names.length && out.text.length <= SHOWN; i++) {
      if (i > 0) out.text += ", ";
      out.text += `${names[i]!.slice(0, SHOWN)}=`;
      render((value as Record<string, unknown>)[names[i]!], out);
    }
    out.text += "}";
  } else {
    out.text += String(value).slice(0, SHOWN + 1);
  }
}

/** Stands for a sensitive value in a message: "Value at 'password'", never the value. */
const SENSITIVE = Symbol("sensitive");

function serialization(path: string, expected: string): never {
  throw new ServiceError("SerializationException", `Expected ${expected} at '${path || "body"}'.`);
}

export function decode<T>(schema: Schema, value: unknown): T {
  const problems: string[] = [];
  const result = walk(schema, value, "", problems);
  if (problems.length > 0) {
    const count = problems.length === 1 ? "1 validation error detected" : `${problems.length} validation errors detected`;
    // All are counted; the first MAX_PROBLEMS_SHOWN are said, so a thousand bad list members make no 150 KB answer.
    const shown = problems.length > MAX_PROBLEMS_SHOWN ? [...problems.slice(0, MAX_PROBLEMS_SHOWN), "..."] : problems;
    throw new ServiceError("ValidationException", `${count}: ${shown.join("; ")}`);
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
          if (m.required) problems.push(`${valueAt(null, memberPath(path, m.name))} failed to satisfy constraint: Member must not be null`);
          continue;
        }
        out[m.name] = walk(m.schema, raw, memberPath(path, m.name), problems);
      }
      return out;
    }
    case "string": {
      if (typeof value !== "string") serialization(path, "a string");
      const shown = schema.sensitive === true ? SENSITIVE : value;
      lengthCheck(value.length, schema, shown, path, problems);
      if (schema.enum && !schema.enum.includes(value)) {
        problems.push(
          `${valueAt(shown, path)} failed to satisfy constraint: Member must satisfy enum value set: [${schema.enum.join(", ")}]`,
        );
      } else if (schema.pattern && !schema.pattern.test(value)) {
        problems.push(
          `${valueAt(shown, path)} failed to satisfy constraint: Member must satisfy regular expression pattern: ${schema.pattern.source}`,
        );
      }
      return value;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) serialization(path, "an integer");
      if (schema.min !== undefined && value < schema.min) {
        problems.push(
          `${valueAt(value, path)} failed to satisfy constraint: Member must have value greater than or equal to ${schema.min}`,
        );
      }
      if (schema.max !== undefined && value > schema.max) {
        problems.push(`${valueAt(value, path)} failed to satisfy constraint: Member must have value less than or equal to ${schema.max}`);
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
      // Past its bound a list is refused as a whole: its members are not worth a look.
      if (!lengthCheck(value.length, schema, value, path, problems)) return undefined;
      return value.map((item, i) => walk(schema.member, item, `${path}.${i + 1}.member`, problems));
    }
    case "map": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) serialization(path, "a map");
      const map = value as Record<string, unknown>;
      // The keys once: enumerating a map of many keys is the costly part of refusing it.
      const keys = Object.keys(map);
      if (!lengthCheck(keys.length, schema, map, path, problems, keys)) return undefined;
      if (schema.maxTotal !== undefined && totalLength(map, keys) > schema.maxTotal) {
        problems.push(
          `${valueAt(map, path, keys)} failed to satisfy constraint: Member must have keys and values of total length less than or equal to ${schema.maxTotal}`,
        );
        return undefined;
      }
      // A null-prototype object: a map key such as "__proto__" stays plain data.
      const out: Record<string, unknown> = Object.create(null);
      for (const k of keys) {
        const v = map[k];
        walk(schema.key, k, `${path}.key`, problems);
        if (v === null) serialization(`${path}.${k}`, "a value");
        out[k] = walk(schema.value, v, `${path}.${k}`, problems);
      }
      return out;
    }
  }
}

/** Checks a length against min and max; false when it breaks either. */
function lengthCheck(
  length: number,
  schema: { min?: number; max?: number },
  value: unknown,
  path: string,
  problems: string[],
  keys?: readonly string[],
): boolean {
  if (schema.min !== undefined && length < schema.min) {
    problems.push(
      `${valueAt(value, path, keys)} failed to satisfy constraint: Member must have length greater than or equal to ${schema.min}`,
    );
    return false;
  }
  if (schema.max !== undefined && length > schema.max) {
    problems.push(
      `${valueAt(value, path, keys)} failed to satisfy constraint: Member must have length less than or equal to ${schema.max}`,
    );
    return false;
  }
  return true;
}

/** The characters of a map's keys and string values together (values of another type count 0: they are refused anyway). */
function totalLength(map: Record<string, unknown>, keys: readonly string[]): number {
  let total = 0;
  for (const k of keys) {
    const v = map[k];
    total += k.length + (typeof v === "string" ? v.length : 0);
  }
  return total;
}
