/**
 * How S3 objects are encrypted at rest: AES-256-GCM in chunks of 64 KiB of plaintext, each
 * authenticated on its own, so memory stays flat whatever the object's size and a Range read
 * decrypts only the chunks it touches (docs/object-format.md).
 *
 * Each object has its own random data key, so the nonce can be the chunk's index. The additional
 * data binds every chunk to its object id, its index and whether it is the last: reordering,
 * dropping, truncating or extending the chunks, or moving them to another object, fails the tag.
 * An empty object is one empty final chunk (its tag), so even "emptied" is detected.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

export const CHUNK_BYTES = 64 * 1024;
export const TAG_BYTES = 16;
const LABEL = Buffer.from("keyhold-object-v1", "utf8");

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

function aad(objectId: Buffer, index: number, final: boolean): Buffer {
  const a = Buffer.alloc(LABEL.length + objectId.length + 9);
  LABEL.copy(a, 0);
  objectId.copy(a, LABEL.length);
  a.writeBigUInt64BE(BigInt(index), LABEL.length + objectId.length);
  a[a.length - 1] = final ? 1 : 0;
  return a;
}

export function sealChunk(key: Buffer, objectId: Buffer, index: number, final: boolean, plaintext: Buffer): Buffer {
  const [ciphertext, tag] = sealChunkParts(key, objectId, index, final, plaintext);
  return Buffer.concat([ciphertext, tag]);
}

/** The sealed chunk as its ciphertext and its tag, without copying them together. */
function sealChunkParts(key: Buffer, objectId: Buffer, index: number, final: boolean, plaintext: Buffer): [Buffer, Buffer] {
  const cipher = createCipheriv("aes-256-gcm", key, nonce(index));
  cipher.setAAD(aad(objectId, index, final));
  const ciphertext = cipher.update(plaintext);
  cipher.final(); // GCM returns nothing more here; it computes the tag.
  return [ciphertext, cipher.getAuthTag()];
}

/** Undefined when the chunk is not authentic. */
export function openChunk(key: Buffer, objectId: Buffer, index: number, final: boolean, sealed: Buffer): Buffer | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce(index));
    decipher.setAAD(aad(objectId, index, final));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    decipher.final(); // throws when the tag does not match; GCM returns no further bytes
    return plaintext;
  } catch {
    return undefined;
  }
}

/** The number of chunks an object of `size` bytes has (at least one). */
export function chunkCount(size: number): number {
  return Math.max(1, Math.ceil(size / CHUNK_BYTES));
}

/** Where chunk `index` lies in the stored file, and how many plaintext bytes it holds. */
export function chunkSpan(size: number, index: number): { offset: number; length: number; plain: number } {
  const plain = Math.min(CHUNK_BYTES, size - index * CHUNK_BYTES);
  return { offset: index * (CHUNK_BYTES + TAG_BYTES), length: Math.max(0, plain) + TAG_BYTES, plain: Math.max(0, plain) };
}

/** The stored size of an object of `size` plaintext bytes. */
export function sealedSize(size: number): number {
  return size + chunkCount(size) * TAG_BYTES;
}

/**
 * Encrypts a stream of plaintext into sealed chunks. One full chunk is held back until more data
 * (or the end) shows whether it is the last. `plaintextBytes` counts what went through.
 */
export class ChunkSealer extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private held: Buffer | undefined;
  private index = 0;
  plaintextBytes = 0;

  constructor(
    private readonly key: Buffer,
    private readonly objectId: Buffer,
  ) {
    super({ highWaterMark: 4 * CHUNK_BYTES });
  }

  private sealAndPush(chunk: Buffer, final: boolean): void {
    const [ciphertext, tag] = sealChunkParts(this.key, this.objectId, this.index++, final, chunk);
    this.push(ciphertext);
    this.push(tag);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.plaintextBytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= CHUNK_BYTES) {
      // One copy of what is pending, then whole chunks are cut from it.
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      let at = 0;
      while (all.length - at >= CHUNK_BYTES) {
        if (this.held) this.sealAndPush(this.held, false);
        this.held = all.subarray(at, at + CHUNK_BYTES);
        at += CHUNK_BYTES;
      }
      const rest = all.subarray(at);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = Buffer.concat(this.pending, this.pendingBytes);
    if (this.held && rest.length === 0) {
      this.sealAndPush(this.held, true);
    } else {
      if (this.held) this.sealAndPush(this.held, false);
      this.sealAndPush(rest, true);
    }
    this.held = undefined;
    done();
  }
}
