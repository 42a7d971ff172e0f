/**
 * keyhold's symmetric ciphertext blob, format version 1 (docs/ciphertext-format.md):
 *
 *   offset  size  field
 *   0       1     format version, 0x01
 *   1       16    key id (the UUID's 16 bytes)
 *   17      4     key version (uint32, big-endian, from 1)
 *   21      12    AES-GCM IV
 *   33      n     AES-256-GCM ciphertext (n = plaintext length, 1..4096)
 *   33+n    16    GCM tag
 *
 * The additional authenticated data is the 21-byte header followed by the canonical encoding of
 * the encryption context, so neither the key reference nor the context can be changed.
 */
import { invalidCiphertext } from "../errors.js";
import { gcmDecrypt, gcmEncrypt, IV_LENGTH, TAG_LENGTH, ivRandom, type AesKey, type RandomSource } from "./aes-gcm.js";
import { Lru } from "../lru.js";

export const BLOB_VERSION = 1;
const HEADER_LENGTH = 1 + 16 + 4;
const MIN_LENGTH = HEADER_LENGTH + IV_LENGTH + 1 + TAG_LENGTH;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface BlobHeader {
  keyId: string;
  keyVersion: number;
}

export function uuidToBytes(keyId: string): Buffer {
  if (!UUID.test(keyId)) throw new Error(`not a key id: ${keyId}`);
  return Buffer.from(keyId.replace(/-/g, ""), "hex");
}

export function bytesToUuid(bytes: Buffer): string {
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const keyIdBytes = new Lru<string, Buffer>(10_000);

/** The 16 bytes of a key id, made once per key: every Encrypt writes them. */
function bytesOfKeyId(keyId: string): Buffer {
  let bytes = keyIdBytes.get(keyId);
  if (!bytes) {
    // A buffer of its own: a 16-byte slice of Node's shared 8 KB pool (what Buffer.from(hex) gives)
    // would keep its whole pool block alive for as long as it is cached, 8 KB a key.
    bytes = Buffer.alloc(16);
    uuidToBytes(keyId).copy(bytes);
    keyIdBytes.set(keyId, bytes);
  }
  return bytes;
}

function header(keyId: string, keyVersion: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH);
  out[0] = BLOB_VERSION;
  bytesOfKeyId(keyId).copy(out, 1);
  out.writeUInt32BE(keyVersion, 17);
  return out;
}

export function sealBlob(key: AesKey, ref: BlobHeader, plaintext: Buffer, context: Buffer, random: RandomSource = ivRandom): Buffer {
  const head = header(ref.keyId, ref.keyVersion);
  const iv = random(IV_LENGTH);
  const [ciphertext, tag] = gcmEncrypt(key, iv, plaintext, Buffer.concat([head, context]));
  return Buffer.concat([head, iv, ciphertext, tag]);
}

/** Reads the header so the caller can find the key; throws InvalidCiphertextException if malformed. */
export function parseBlobHeader(blob: Buffer): BlobHeader {
  if (blob.length < MIN_LENGTH || blob[0] !== BLOB_VERSION) throw invalidCiphertext();
  const keyVersion = blob.readUInt32BE(17);
  if (keyVersion === 0) throw invalidCiphertext();
  return { keyId: bytesToUuid(blob.subarray(1, 17)), keyVersion };
}

export function openBlob(key: AesKey, blob: Buffer, context: Buffer): Buffer {
  parseBlobHeader(blob);
  const aad = Buffer.concat([blob.subarray(0, HEADER_LENGTH), context]);
  const ivEnd = HEADER_LENGTH + IV_LENGTH;
  const plaintext = gcmDecrypt(
    key,
    blob.subarray(HEADER_LENGTH, ivEnd),
    blob.subarray(ivEnd, blob.length - TAG_LENGTH),
    blob.subarray(blob.length - TAG_LENGTH),
    aad,
  );
  if (!plaintext) throw invalidCiphertext();
  return plaintext;
}

/**
 * The same format sealed elsewhere (a key in an HSM token seals inside the token): the header
 * and the additional authenticated data the sealer must bind, header followed by the encoded
 * context, exactly as sealBlob binds them. The sealer's IV, ciphertext and tag follow the header.
 */
export function blobHeaderAndAad(ref: BlobHeader, context: Buffer): { head: Buffer; aad: Buffer } {
  const head = header(ref.keyId, ref.keyVersion);
  return { head, aad: Buffer.concat([head, context]) };
}

/** A blob's sealed part (IV, ciphertext, tag) and the AAD it was sealed under, for a sealer elsewhere. */
export function blobSealedPart(blob: Buffer, context: Buffer): { sealed: Buffer; aad: Buffer } {
  parseBlobHeader(blob);
  return { sealed: blob.subarray(HEADER_LENGTH), aad: Buffer.concat([blob.subarray(0, HEADER_LENGTH), context]) };
}
