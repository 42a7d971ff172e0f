/** Known-answer vectors for the ciphertext blob and encryption-context encoding (docs/ciphertext-format.md). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import { bytesToUuid, openBlob, parseBlobHeader, sealBlob, uuidToBytes } from "../src/crypto/ciphertext-blob.js";
import { encodeEncryptionContext } from "../src/crypto/encryption-context.js";
import { ServiceError } from "../src/errors.js";

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const IV = Buffer.from(Array.from({ length: 12 }, (_, i) => 0xa0 + i));
const KEY_ID = "11111111-2222-4333-8444-555555555555";

const VECTORS: { name: string; context: Record<string, string>; contextHex: string; blobHex: string }[] = [
  {
    name: "empty context",
    context: {},
    contextHex: "0000",
    blobHex: "011111111122224333844455555555555500000003a0a1a2a3a4a5a6a7a8a9aaab8d7d05452aa766ba259b4b1b122a7efdce16b89fa3f6ec",
  },
  {
    name: "two pairs, one non-ASCII value",
    context: { b: "é", app: "orders" },
    contextHex: "0002000361707000066f72646572730001620002c3a9",
    blobHex: "011111111122224333844455555555555500000003a0a1a2a3a4a5a6a7a8a9aaab8d7d05452aa766fbdf172c32100fcf76dd706979affd02",
  },
];

function isInvalidCiphertext(error: unknown): boolean {
  return error instanceof ServiceError && error.code === "InvalidCiphertextException";
}

describe("ciphertext blob format v1", () => {
  for (const v of VECTORS) {
    it(`decodes the fixed vector (${v.name})`, () => {
      const blob = Buffer.from(v.blobHex, "hex");
      assert.equal(encodeEncryptionContext(v.context).toString("hex"), v.contextHex);
      assert.deepEqual(parseBlobHeader(blob), { keyId: KEY_ID, keyVersion: 3 });
      assert.equal(openBlob(KEY, blob, Buffer.from(v.contextHex, "hex")).toString(), "keyhold");
      // Re-encrypting with the same IV reproduces the vector byte for byte.
      const again = sealBlob(KEY, { keyId: KEY_ID, keyVersion: 3 }, Buffer.from("keyhold"), encodeEncryptionContext(v.context), () =>
        Buffer.from(IV),
      );
      assert.equal(again.toString("hex"), v.blobHex);
    });

    it(`the documented layout opens with plain node:crypto (${v.name})`, () => {
      const blob = Buffer.from(v.blobHex, "hex");
      assert.equal(blob[0], 1);
      const decipher = createDecipheriv("aes-256-gcm", KEY, blob.subarray(21, 33));
      decipher.setAAD(Buffer.concat([blob.subarray(0, 21), Buffer.from(v.contextHex, "hex")]));
      decipher.setAuthTag(blob.subarray(blob.length - 16));
      const plain = Buffer.concat([decipher.update(blob.subarray(33, blob.length - 16)), decipher.final()]);
      assert.equal(plain.toString(), "keyhold");
    });
  }

  it("writes a key id's 16 bytes, and refuses anything but a lowercase UUID", () => {
    const keyId = "0123abcd-4567-89ef-fedc-ba9876543210";
    assert.deepEqual(uuidToBytes(keyId), Buffer.from(keyId.replace(/-/g, ""), "hex"));
    assert.equal(bytesToUuid(uuidToBytes(keyId)), keyId);
    for (const bad of [
      "0123ABCD-4567-89ef-fedc-ba9876543210",
      "0123abcd-4567-89ef-fedc-ba987654321",
      "0123abcd-4567-89ef-fedc-ba98765432100",
      "0123abcd+4567-89ef-fedc-ba9876543210",
      "0123abcd-4567-89ef-fedc-ba987654321g",
      "0123abcd4-567-89ef-fedc-ba9876543210",
    ]) {
      assert.throws(() => uuidToBytes(bad), /not a key id/, bad);
    }
  });

  it("rejects every prefix of a valid blob, and a wrong version byte, with InvalidCiphertextException", () => {
    const blob = Buffer.from(VECTORS[1]!.blobHex, "hex");
    const context = Buffer.from(VECTORS[1]!.contextHex, "hex");
    for (let n = 0; n < blob.length; n++) {
      assert.throws(() => openBlob(KEY, blob.subarray(0, n), context), isInvalidCiphertext, `prefix of ${n} bytes`);
    }
    const wrongVersion = Buffer.from(blob);
    wrongVersion[0] = 2;
    assert.throws(() => openBlob(KEY, wrongVersion, context), isInvalidCiphertext);
    const zeroVersion = Buffer.from(blob);
    zeroVersion.writeUInt32BE(0, 17);
    assert.throws(() => parseBlobHeader(zeroVersion), isInvalidCiphertext);
  });

  it("a changed key reference, context or key is InvalidCiphertextException", () => {
    const blob = Buffer.from(VECTORS[0]!.blobHex, "hex");
    const otherVersion = Buffer.from(blob);
    otherVersion.writeUInt32BE(4, 17);
    assert.throws(() => openBlob(KEY, otherVersion, encodeEncryptionContext({})), isInvalidCiphertext);
    assert.throws(() => openBlob(KEY, blob, encodeEncryptionContext({ a: "b" })), isInvalidCiphertext);
    assert.throws(() => openBlob(Buffer.alloc(32, 9), blob, encodeEncryptionContext({})), isInvalidCiphertext);
  });

  it("encodes the context independent of member order, and distinguishes shifted boundaries", () => {
    assert.deepEqual(encodeEncryptionContext({ a: "1", b: "2" }), encodeEncryptionContext({ b: "2", a: "1" }));
    assert.notDeepEqual(encodeEncryptionContext({ ab: "c" }), encodeEncryptionContext({ a: "bc" }));
    assert.deepEqual(encodeEncryptionContext(undefined), encodeEncryptionContext({}));
  });

  it("orders pairs by the UTF-8 bytes of their keys, astral characters and lone surrogates included", () => {
    // U+FF5E comes before U+1F600 in UTF-8 but after its surrogate pair in UTF-16; a lone
    // surrogate is written as U+FFFD (EF BF BD).
    const context = { "\u{1F600}": "a", "\uFF5E": "b", "\uD800": "c", z: "d", é: "e", "\uFFFF": "f" };
    const pairs = Object.entries(context).map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const);
    pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
    const expected = Buffer.concat([
      Buffer.from([0, pairs.length]),
      ...pairs.flatMap(([k, v]) => [Buffer.from([0, k.length]), k, Buffer.from([0, v.length]), v]),
    ]);
    assert.equal(encodeEncryptionContext(context).toString("hex"), expected.toString("hex"));
    assert.equal(expected.subarray(2, 4).toString("hex"), "0001"); // "z" first
  });
});
