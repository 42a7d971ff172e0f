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
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const w = toWire(v);
      if (w !== undefined) out[k] = w;
    }
    return out;
  }
  return value;
}
