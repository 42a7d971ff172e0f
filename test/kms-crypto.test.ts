import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { createDecipheriv } from "node:crypto";
import { rejects, startTestServer, type TestServer } from "./helpers.js";

describe("symmetric cryptography through @aws-sdk/client-kms", () => {
  let server: TestServer;
  let kms: KMSClient;
  let keyId: string;
  let keyArn: string;
  let otherKeyId: string;
  before(async () => {
    server = await startTestServer();
    kms = server.client();
    const k = (await kms.send(new CreateKeyCommand({ Description: "crypto" }))).KeyMetadata!;
    keyId = k.KeyId!;
    keyArn = k.Arn!;
    otherKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: "alias/crypto", TargetKeyId: keyId }));
  });
  after(() => server.stop());

  it("Encrypt then Decrypt returns the plaintext, the key ARN and the algorithm, for 1 and 4096 bytes", async () => {
    for (const size of [1, 64, 4096]) {
      const plaintext = Buffer.alloc(size, size % 251);
      const enc = await kms.send(new EncryptCommand({ KeyId: "alias/crypto", Plaintext: plaintext, EncryptionContext: { app: "orders" } }));
      assert.equal(enc.KeyId, keyArn);
      assert.equal(enc.EncryptionAlgorithm, "SYMMETRIC_DEFAULT");
      if (size >= 64) assert.ok(!Buffer.from(enc.CiphertextBlob!).includes(plaintext), "ciphertext must not contain the plaintext");
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: "orders" } }));
      assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext);
      assert.equal(dec.KeyId, keyArn);
      assert.equal(dec.EncryptionAlgorithm, "SYMMETRIC_DEFAULT");
      assert.match(dec.KeyMaterialId!, /^[0-9a-f]{64}$/);
    }
  });

  it("two encryptions of the same plaintext differ", async () => {
    const a = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("same") }));
    const b = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("same") }));
    assert.notDeepEqual(Buffer.from(a.CiphertextBlob!), Buffer.from(b.CiphertextBlob!));
  });

  it("binds the encryption context: another context, a missing one or an extra pair is InvalidCiphertextException", async () => {
    const enc = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("bound"), EncryptionContext: { a: "1", b: "2" } }),
    );
    // The same pairs in another order decrypt.
    const ok = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { b: "2", a: "1" } }));
    assert.equal(Buffer.from(ok.Plaintext!).toString(), "bound");
    const contexts: (Record<string, string> | undefined)[] = [
      undefined,
      {},
      { a: "1" },
      { a: "1", b: "3" },
      { a: "1", b: "2", c: "3" },
      { A: "1", b: "2" },
    ];
    for (const context of contexts) {
      const e = await rejects(
        () => kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context })),
        "InvalidCiphertextException",
      );
      assert.equal(e.$metadata?.httpStatusCode, 400);
    }
    // A ciphertext made without context needs none.
    const plain = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("free") }));
    await rejects(
      () => kms.send(new DecryptCommand({ CiphertextBlob: plain.CiphertextBlob, EncryptionContext: { a: "1" } })),
      "InvalidCiphertextException",
    );
  });

  it("any flipped bit, any truncation, any extension of the blob is the one InvalidCiphertextException", async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("tamper me"), EncryptionContext: { k: "v" } }));
    const blob = Buffer.from(enc.CiphertextBlob!);
    const messages = new Set<string>();
    for (let i = 0; i < blob.length; i++) {
      const bad = Buffer.from(blob);
      bad[i] = bad[i]! ^ (1 << (i % 8));
      const e = await rejects(
        () => kms.send(new DecryptCommand({ CiphertextBlob: bad, EncryptionContext: { k: "v" } })),
        "InvalidCiphertextException",
      );
      messages.add(e.message);
    }
    for (let n = 1; n < blob.length; n++) {
      const e = await rejects(
        () => kms.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, n), EncryptionContext: { k: "v" } })),
        "InvalidCiphertextException",
      );
      messages.add(e.message);
    }
    const longer = Buffer.concat([blob, Buffer.from([0])]);
    messages.add(
      (
        await rejects(
          () => kms.send(new DecryptCommand({ CiphertextBlob: longer, EncryptionContext: { k: "v" } })),
          "InvalidCiphertextException",
        )
      ).message,
    );
    assert.equal(messages.size, 1, `decrypt failures must look alike, saw: ${[...messages].join(" | ")}`);
  });

  it("Decrypt with a KeyId other than the ciphertext's is IncorrectKeyException; the right one in any form works", async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("whose") }));
    await rejects(() => kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: otherKeyId })), "IncorrectKeyException");
    for (const id of [keyId, keyArn, "alias/crypto"]) {
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: id }));
      assert.equal(Buffer.from(dec.Plaintext!).toString(), "whose");
    }
  });

  it("enforces Plaintext 1–4096 bytes, CiphertextBlob ≤ 6144, at most 10 grant tokens and the algorithm", async () => {
    await rejects(() => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4097) })), "ValidationException");
    await rejects(() => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(0) })), "ValidationException");
    await rejects(() => kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(6145, 1) })), "ValidationException");
    await rejects(
      () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), GrantTokens: Array.from({ length: 11 }, () => "t") })),
      "ValidationException",
    );
    await rejects(
      () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), EncryptionAlgorithm: "RSAES_OAEP_SHA_256" })),
      "InvalidKeyUsageException",
    );
    await rejects(() => kms.send(new EncryptCommand({ KeyId: "alias/missing", Plaintext: Buffer.from("x") })), "NotFoundException");
  });

  it("DryRun answers DryRunOperationException (412) and does nothing", async () => {
    const e = await rejects(
      () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), DryRun: true })),
      "DryRunOperationException",
    );
    assert.equal(e.$metadata?.httpStatusCode, 412);
    await rejects(
      () => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", DryRun: true })),
      "DryRunOperationException",
    );
  });

  it("ReEncrypt moves a ciphertext to another key and context; the source context and key are checked", async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("moving"), EncryptionContext: { from: "a" } }));
    const re = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        SourceEncryptionContext: { from: "a" },
        DestinationKeyId: otherKeyId,
        DestinationEncryptionContext: { to: "b" },
      }),
    );
    assert.equal(re.SourceKeyId, keyArn);
    assert.match(re.KeyId!, new RegExp(`${otherKeyId}$`));
    assert.equal(re.SourceEncryptionAlgorithm, "SYMMETRIC_DEFAULT");
    assert.equal(re.DestinationEncryptionAlgorithm, "SYMMETRIC_DEFAULT");
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { to: "b" } }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), "moving");
    assert.equal(dec.KeyId, re.KeyId);
    await rejects(
      () =>
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: enc.CiphertextBlob,
            SourceEncryptionContext: { from: "x" },
            DestinationKeyId: otherKeyId,
          }),
        ),
      "InvalidCiphertextException",
    );
    await rejects(
      () =>
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: enc.CiphertextBlob,
            SourceEncryptionContext: { from: "a" },
            SourceKeyId: otherKeyId,
            DestinationKeyId: otherKeyId,
          }),
        ),
      "IncorrectKeyException",
    );
  });

  it("GenerateDataKey returns a usable AES key and its ciphertext; the ciphertext decrypts to the same key", async () => {
    for (const [spec, length] of [
      ["AES_256", 32],
      ["AES_128", 16],
    ] as const) {
      const dk = await kms.send(
        new GenerateDataKeyCommand({ KeyId: "alias/crypto", KeySpec: spec, EncryptionContext: { purpose: "envelope" } }),
      );
      assert.equal(dk.Plaintext!.length, length);
      assert.equal(dk.KeyId, keyArn);
      assert.match(dk.KeyMaterialId!, /^[0-9a-f]{64}$/);
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { purpose: "envelope" } }));
      assert.deepEqual(Buffer.from(dec.Plaintext!), Buffer.from(dk.Plaintext!));
    }
    const bytes = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 1024 }));
    assert.equal(bytes.Plaintext!.length, 1024);
    // Envelope encryption: the data key really is an AES key the caller can use.
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    const { createCipheriv } = await import("node:crypto");
    const iv = Buffer.alloc(12, 7);
    const cipher = createCipheriv("aes-256-gcm", dk.Plaintext!, iv);
    const sealed = Buffer.concat([cipher.update("large object"), cipher.final()]);
    const tag = cipher.getAuthTag();
    const again = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    const decipher = createDecipheriv("aes-256-gcm", again.Plaintext!, iv);
    decipher.setAuthTag(tag);
    assert.equal(Buffer.concat([decipher.update(sealed), decipher.final()]).toString(), "large object");

    await rejects(() => kms.send(new GenerateDataKeyCommand({ KeyId: keyId })), "ValidationException");
    await rejects(
      () => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", NumberOfBytes: 32 })),
      "ValidationException",
    );
    await rejects(() => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 1025 })), "ValidationException");
    await rejects(() => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 0 })), "ValidationException");
  });

  it("GenerateDataKeyWithoutPlaintext returns only the ciphertext, which decrypts to a key of the asked size", async () => {
    const dk = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: "AES_128", EncryptionContext: { x: "y" } }),
    );
    assert.equal((dk as { Plaintext?: unknown }).Plaintext, undefined);
    assert.equal(dk.KeyId, keyArn);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { x: "y" } }));
    assert.equal(dec.Plaintext!.length, 16);
  });

  it("GenerateRandom returns 1–1024 fresh bytes and refuses other sizes", async () => {
    const a = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    const b = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    assert.equal(a.Plaintext!.length, 32);
    assert.notDeepEqual(Buffer.from(a.Plaintext!), Buffer.from(b.Plaintext!));
    assert.equal((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext!.length, 1024);
    await rejects(() => kms.send(new GenerateRandomCommand({ NumberOfBytes: 1025 })), "ValidationException");
    await rejects(() => kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 })), "ValidationException");
    await rejects(() => kms.send(new GenerateRandomCommand({})), "ValidationException");
  });
});
