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

export const BLOB_VERSION = 1;
const HEADER_LENGTH = 1 + 16 + 4;
const MIN_LENGTH = HEADER_LENGTH + IV_LENGTH + 1 + TAG_LENGTH;

export interface BlobHeader {
  keyId: string;
  keyVersion: number;
}

/** A key id's 16 bytes written at `at`; throws (an internal error: key ids come from records) on anything but a lowercase UUID. */
function writeKeyId(out: Buffer, at: number, keyId: string): void {
  if (keyId.length !== 36) throw new Error(`not a key id: ${keyId}`);
  let high = -1;
  for (let i = 0; i < 36; i++) {
    const c = keyId.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) throw new Error(`not a key id: ${keyId}`);
      continue;
    }
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (v < 0) throw new Error(`not a key id: ${keyId}`);
    if (high < 0) high = v;
    else {
      out[at++] = (high << 4) | v;
      high = -1;
    }
  }
}

export function uuidToBytes(keyId: string): Buffer {
  const bytes = Buffer.alloc(16);
  writeKeyId(bytes, 0, keyId);
  return bytes;
}

export function bytesToUuid(bytes: Buffer): string {
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/*
 * Every Encrypt writes its key id's 16 bytes. They are parsed from the text each time (tens of
 * nanoseconds), not cached: a cache of them missed at every key past its size (100,000 keys in
 * use), and each cached Buffer cost more memory than the key's whole slot of material.
 */
function header(keyId: string, keyVersion: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH);
  out[0] = BLOB_VERSION;
  writeKeyId(out, 1, keyId);
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
