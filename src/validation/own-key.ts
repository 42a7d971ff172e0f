/**
 * Sets a key on a plain object as data, whatever the key: `out[key] = value` with the key
 * "__proto__" would replace the object's prototype instead. Maps from callers (encryption
 * contexts, policy names) may hold any key.
 */
export function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
