/**
 * The AWS JSON 1.1 value mapping for responses: blobs are base64 strings, timestamps are epoch
 * seconds, absent members are left out.
 */
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
      // Maps (encryption contexts) may have any key: "__proto__" stays a key, not a prototype.
      if (w === undefined) continue;
      if (k === "__proto__") Object.defineProperty(out, k, { value: w, enumerable: true, writable: true, configurable: true });
      else out[k] = w;
    }
    return out;
  }
  return value;
}
