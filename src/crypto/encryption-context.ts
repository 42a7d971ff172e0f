/**
 * The canonical byte encoding of a KMS encryption context, used as GCM additional data so the
 * context is bound to the ciphertext: the same pairs in any order give the same bytes, any other
 * pairs (or none) give other bytes.
 *
 *   uint16 count, then per pair in ascending UTF-8 byte order of the key:
 *   uint16 keyLength, key (UTF-8), uint16 valueLength, value (UTF-8)        (big-endian)
 */
import { ServiceError } from "../errors.js";

export type EncryptionContext = Record<string, string>;

const MAX_FIELD = 0xffff;

/**
 * The encoding of frozen contexts, kept: a context that cannot change (Secrets Manager's of a
 * stored version, made once per version and read by every GetSecretValue) is encoded once. The
 * callers only read the bytes (they are copied into the AAD).
 */
const frozenEncodings = new WeakMap<EncryptionContext, Buffer>();

export function encodeEncryptionContext(context: EncryptionContext | undefined): Buffer {
  if (context === undefined || !Object.isFrozen(context)) return encode(context);
  let known = frozenEncodings.get(context);
  if (known === undefined) {
    known = encode(context);
    frozenEncodings.set(context, known);
  }
  return known;
}

function encode(context: EncryptionContext | undefined): Buffer {
  const keys = context ? Object.keys(context) : [];
  if (keys.length > MAX_FIELD) throw new ServiceError("ValidationException", "The encryption context has too many pairs.");
  if (keys.length > 1) keys.sort(inUtf8Order);
  // Lengths first, then one buffer written in place: the usual context is a pair or two, where a
  // Buffer per string, per length field and a concat cost more than the encoding.
  let size = 2;
  for (const k of keys) {
    const keyLength = Buffer.byteLength(k, "utf8");
    const valueLength = Buffer.byteLength(context![k]!, "utf8");
    if (keyLength > MAX_FIELD || valueLength > MAX_FIELD) {
      throw new ServiceError("ValidationException", "An encryption context key or value is longer than 65535 bytes.");
    }
    size += 4 + keyLength + valueLength;
  }
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt16BE(keys.length, 0);
  for (const k of keys) {
    at = writeField(out, k, at);
    at = writeField(out, context![k]!, at);
  }
  return out;
}

/** A uint16 length and the UTF-8 bytes of `text`, at `at`; returns where the next field starts. */
function writeField(out: Buffer, text: string, at: number): number {
  const length = out.write(text, at + 2, "utf8");
  out.writeUInt16BE(length, at);
  return at + 2 + length;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Ascending UTF-8 byte order. Without surrogates, JavaScript's UTF-16 comparison gives the same
 * order; with them (astral characters, or lone surrogates, which UTF-8 writes as U+FFFD) the bytes
 * are compared.
 */
function inUtf8Order(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  return a < b ? -1 : a > b ? 1 : 0;
}
