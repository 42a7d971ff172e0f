/**
 * Known-answer vectors for the stored object format (docs/object-format.md), computed
 * independently (Python's cryptography AESGCM) from the format's definition.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { CHUNK_BYTES, ChunkSealer, chunkSpan, openChunk, sealChunk, sealedSize } from "../src/crypto/object-cipher.js";

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const OBJECT_ID = Buffer.from("00000000-1111-4222-8333-444444444444", "utf8");
const TWO_CHUNKS = Buffer.from(Array.from({ length: CHUNK_BYTES + 10 }, (_, i) => (i * 7 + 3) & 0xff));

async function sealAll(plaintext: Buffer, pieces: number[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  let at = 0;
  for (const n of pieces) {
    parts.push(plaintext.subarray(at, at + n));
    at += n;
  }
  if (at < plaintext.length) parts.push(plaintext.subarray(at));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(new ChunkSealer(KEY, OBJECT_ID))) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe("stored object format v1", () => {
  it("seals the empty object as one empty final chunk (its tag alone)", async () => {
    assert.equal((await sealAll(Buffer.alloc(0), [])).toString("hex"), "820b691f9cb9bfb62be706a50bc100f3");
    assert.equal(sealedSize(0), 16);
  });

  it("seals a short object as one final chunk", async () => {
    const sealed = await sealAll(Buffer.from("keyhold object"), []);
    assert.equal(sealed.toString("hex"), "65d9ccb6da40e79d67cac3507b58d893798c69480e391f1d4858da60b63c");
    assert.equal(openChunk(KEY, OBJECT_ID, 0, true, sealed)?.toString(), "keyhold object");
  });

  it("seals 64 KiB + 10 bytes as a full chunk and a final one, however the stream is cut", async () => {
    for (const pieces of [[], [1], [CHUNK_BYTES], [CHUNK_BYTES - 1, 2], [100, 200, 70_000]]) {
      const sealed = await sealAll(TWO_CHUNKS, pieces);
      assert.equal(sealed.length, 65578);
      assert.equal(sealed.length, sealedSize(TWO_CHUNKS.length));
      assert.equal(
        createHash("sha256").update(sealed).digest("hex"),
        "28535cbd0080a63b408d4697ab614b2b2a9b60184cf3ce4b0310abdfac760b1c",
        `pieces ${pieces}`,
      );
      assert.equal(sealed.subarray(-26).toString("hex"), "16dcaee45bd21d2a356c87414b52d921f0fe8ab41a9975c67157");
    }
  });

  it("binds each chunk to its index, its finality and its object: any change fails to open", async () => {
    const sealed = await sealAll(TWO_CHUNKS, []);
    const first = chunkSpan(TWO_CHUNKS.length, 0);
    const second = chunkSpan(TWO_CHUNKS.length, 1);
    const c0 = sealed.subarray(first.offset, first.offset + first.length);
    const c1 = sealed.subarray(second.offset, second.offset + second.length);
    assert.ok(openChunk(KEY, OBJECT_ID, 0, false, c0)?.equals(TWO_CHUNKS.subarray(0, CHUNK_BYTES)));
    assert.ok(openChunk(KEY, OBJECT_ID, 1, true, c1)?.equals(TWO_CHUNKS.subarray(CHUNK_BYTES)));
    assert.equal(openChunk(KEY, OBJECT_ID, 0, true, c0), undefined, "truncation: the first chunk is not final");
    assert.equal(openChunk(KEY, OBJECT_ID, 1, false, c1), undefined, "extension: the last chunk is final");
    assert.equal(openChunk(KEY, OBJECT_ID, 1, true, c0), undefined, "reordering");
    assert.equal(openChunk(KEY, Buffer.from("00000000-1111-4222-8333-444444444445"), 0, false, c0), undefined, "another object");
    const flipped = Buffer.from(c1);
    flipped[0]! ^= 1;
    assert.equal(openChunk(KEY, OBJECT_ID, 1, true, flipped), undefined, "altered bytes");
    assert.ok(sealChunk(KEY, OBJECT_ID, 1, true, TWO_CHUNKS.subarray(CHUNK_BYTES)).equals(c1));
  });
});
