/**
 * JSON from bytes, refusing what is not Unicode. Bytes that are not UTF-8 would be read as U+FFFD,
 * and an escaped unpaired surrogate (`"\uD83D"`) has no UTF-8 form (it too becomes U+FFFD when
 * encoded): either way two different inputs could come to mean the same bytes — two encryption
 * contexts binding one ciphertext — so both are refused rather than repaired.
 */
import { isUtf8 } from "node:buffer";

/** An escaped half of a surrogate pair (\uD800–\uDFFF) somewhere in JSON text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** A surrogate without its other half. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return !UNPAIRED_SURROGATE.test(value);
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) return value.every(wellFormed);
  return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
}

/** The parsed value, or what is wrong with the bytes ("is not valid UTF-8", …), to finish a sentence. */
export function parseUnicodeJson(bytes: Buffer): { value: unknown } | { problem: string } {
  if (!isUtf8(bytes)) return { problem: "is not valid UTF-8" };
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "is not valid JSON" };
  }
  if (SURROGATE_ESCAPE.test(text) && !wellFormed(value)) return { problem: "holds a string with an unpaired UTF-16 surrogate" };
  return { value };
}
