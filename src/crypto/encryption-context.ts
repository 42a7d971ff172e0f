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

export function encodeEncryptionContext(context: EncryptionContext | undefined): Buffer {
  const pairs = Object.entries(context ?? {}).map(([k, v]) => [Buffer.from(k, "utf8"), Buffer.from(v, "utf8")] as const);
  if (pairs.length > MAX_FIELD) throw new ServiceError("ValidationException", "The encryption context has too many pairs.");
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  // One buffer, written in place: the usual context is a pair or two, where a Buffer per length
  // field and a concat cost more than the encoding.
  let size = 2;
  for (const [k, v] of pairs) {
    if (k.length > MAX_FIELD || v.length > MAX_FIELD) {
      throw new ServiceError("ValidationException", "An encryption context key or value is longer than 65535 bytes.");
    }
    size += 4 + k.length + v.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt16BE(pairs.length, 0);
  for (const [k, v] of pairs) {
    at = out.writeUInt16BE(k.length, at);
    at += k.copy(out, at);
    at = out.writeUInt16BE(v.length, at);
    at += v.copy(out, at);
  }
  return out;
}
