/**
 * The AWS JSON 1.1 value mapping for responses: blobs are base64 strings, timestamps are epoch
 * seconds, absent members are left out.
 */
import { setOwn } from "../validation/own-key.js";

export function toWire(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      const w = toWire(record[k]);
      // Maps (encryption contexts) may have any key.
      if (w !== undefined) setOwn(out, k, w);
    }
    return out;
  }
  return value;
}
