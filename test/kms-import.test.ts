/** Imported key material (BYOK): wrapped with the OpenSSL command line as AWS documents it. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, verify as nodeVerify } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  SignCommand,
  ImportKeyMaterialCommand,
  type AlgorithmSpec,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { DAY_MS, ManualClock } from "../src/clock.js";
import { openBlob, sealBlob } from "../src/crypto/ciphertext-blob.js";
import { encodeEncryptionContext } from "../src/crypto/encryption-context.js";
import { rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { requireTool } from "./process.js";

describe("imported key material, wrapped by OpenSSL", () => {
  let server: TestServer;
  let clock: ManualClock;
  let dir: string;
  const kms = (): KMSClient => server.client("us-east-1", { systemClockOffset: clock.now() - Date.now() });
  before(async () => {
    clock = new ManualClock(Date.now());
    server = await startTestServer({ clock });
    dir = tempDir("keyhold-byok-");
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function openssl(...args: string[]): void {
    const r = spawnSync("openssl", args, { encoding: "utf8" });
    assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  }

  /** Wraps `material` for keyhold the way AWS's import guide does it, with the openssl command. */
  async function wrap(keyId: string, material: Buffer, algorithm: AlgorithmSpec): Promise<{ token: Uint8Array; wrapped: Buffer }> {
    const params = await kms().send(
      new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: "RSA_2048" }),
    );
    assert.ok(params.ParametersValidTo!.getTime() - clock.now() > 23 * 3600_000);
    const pem = join(dir, "wrapping.pem");
    writeFileSync(
      pem,
      createPublicKey({ key: Buffer.from(params.PublicKey!), format: "der", type: "spki" }).export({ type: "spki", format: "pem" }),
    );
    const md = algorithm.endsWith("SHA_1") ? "sha1" : "sha256";
    const oaep = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", `rsa_oaep_md:${md}`, "-pkeyopt", `rsa_mgf1_md:${md}`];
    writeFileSync(join(dir, "material.bin"), material);
    if (algorithm.startsWith("RSAES_OAEP")) {
      openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pem, ...oaep, "-in", join(dir, "material.bin"), "-out", join(dir, "wrapped.bin"));
      return { token: params.ImportToken!, wrapped: readFileSync(join(dir, "wrapped.bin")) };
    }
    // RSA_AES_KEY_WRAP: an ephemeral AES-256 key wraps the material (RFC 5649), RSA-OAEP wraps that key.
    const aes = randomBytes(32);
    writeFileSync(join(dir, "aes.bin"), aes);
    openssl(
      "enc",
      "-id-aes256-wrap-pad",
      "-K",
      aes.toString("hex"),
      "-iv",
      "A65959A6",
      "-in",
      join(dir, "material.bin"),
      "-out",
      join(dir, "material.wrapped"),
    );
    openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pem, ...oaep, "-in", join(dir, "aes.bin"), "-out", join(dir, "aes.wrapped"));
    return {
      token: params.ImportToken!,
      wrapped: Buffer.concat([readFileSync(join(dir, "aes.wrapped")), readFileSync(join(dir, "material.wrapped"))]),
    };
  }

  it("imports symmetric material; ciphertexts made locally with it decrypt in keyhold and the reverse", async (t) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const md = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL", Description: "byok" }))).KeyMetadata!;
    assert.equal(md.Origin, "EXTERNAL");
    assert.equal(md.KeyState, "PendingImport");
    assert.equal(md.Enabled, false);
    const KeyId = md.KeyId!;
    await rejects(() => kms().send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })), "KMSInvalidStateException");

    const material = randomBytes(32);
    const { token, wrapped } = await wrap(KeyId, material, "RSAES_OAEP_SHA_256");
    const imported = await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: token,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    assert.match(imported.KeyMaterialId!, /^[0-9a-f]{64}$/);
    const after = (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(after.KeyState, "Enabled");
    assert.equal(after.ExpirationModel, "KEY_MATERIAL_DOES_NOT_EXPIRE");

    const context = { app: "byok" };
    const local = sealBlob(
      material,
      { keyId: KeyId, keyVersion: 1 },
      Buffer.from("made outside keyhold"),
      encodeEncryptionContext(context),
    );
    const dec = await kms().send(new DecryptCommand({ CiphertextBlob: local, EncryptionContext: context }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), "made outside keyhold");
    const enc = await kms().send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("made by keyhold"), EncryptionContext: context }));
    assert.equal(openBlob(material, Buffer.from(enc.CiphertextBlob!), encodeEncryptionContext(context)).toString(), "made by keyhold");

    // The same material again (wrapped the other way) is accepted; other material is not.
    const again = await wrap(KeyId, material, "RSA_AES_KEY_WRAP_SHA_256");
    await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: again.token,
        EncryptedKeyMaterial: again.wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    const other = await wrap(KeyId, randomBytes(32), "RSAES_OAEP_SHA_1");
    await rejects(
      () =>
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId,
            ImportToken: other.token,
            EncryptedKeyMaterial: other.wrapped,
            ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
          }),
        ),
      "IncorrectKeyMaterialException",
    );

    // Deleting the material stops the key; importing the same material brings old ciphertext back.
    const deleted = await kms().send(new DeleteImportedKeyMaterialCommand({ KeyId }));
    assert.equal(deleted.KeyMaterialId, imported.KeyMaterialId);
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, "PendingImport");
    await rejects(
      () => kms().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context })),
      "KMSInvalidStateException",
    );
    const back = await wrap(KeyId, material, "RSAES_OAEP_SHA_256");
    await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: back.token,
        EncryptedKeyMaterial: back.wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    assert.equal(
      Buffer.from(
        (await kms().send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }))).Plaintext!,
      ).toString(),
      "made by keyhold",
    );
  });

  it("material with ValidTo expires: the key returns to PendingImport until it is imported again", async (t) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const KeyId = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata!.KeyId!;
    const material = randomBytes(32);
    const { token, wrapped } = await wrap(KeyId, material, "RSAES_OAEP_SHA_256");
    await rejects(
      () => kms().send(new ImportKeyMaterialCommand({ KeyId, ImportToken: token, EncryptedKeyMaterial: wrapped })),
      "ValidationException",
    );
    await rejects(
      () =>
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId,
            ImportToken: token,
            EncryptedKeyMaterial: wrapped,
            ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
            ValidTo: new Date(clock.now() + DAY_MS),
          }),
        ),
      "ValidationException",
    );
    const validTo = new Date(Math.floor((clock.now() + DAY_MS) / 1000) * 1000);
    await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: token,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_EXPIRES",
        ValidTo: validTo,
      }),
    );
    const md = (await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
    assert.equal(md.ExpirationModel, "KEY_MATERIAL_EXPIRES");
    assert.equal(md.ValidTo!.getTime(), validTo.getTime());
    const blob = (await kms().send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("until tomorrow") }))).CiphertextBlob!;

    clock.advance(2 * DAY_MS);
    assert.deepEqual((await server.keyhold.scheduler.tick()).expired, [KeyId]);
    assert.equal((await kms().send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, "PendingImport");
    await rejects(() => kms().send(new DecryptCommand({ CiphertextBlob: blob })), "KMSInvalidStateException");
    // The token of two days ago has expired.
    await rejects(
      () =>
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId,
            ImportToken: token,
            EncryptedKeyMaterial: wrapped,
            ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
          }),
        ),
      "ExpiredImportTokenException",
    );
    const fresh = await wrap(KeyId, material, "RSAES_OAEP_SHA_256");
    await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: fresh.token,
        EncryptedKeyMaterial: fresh.wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    assert.equal(Buffer.from((await kms().send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), "until tomorrow");
  });

  it("refuses tokens of other keys, unopenable or wrong-size material, and keys that do not take imports", async (t) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const a = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata!.KeyId!;
    const b = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata!.KeyId!;
    const forA = await wrap(a, randomBytes(32), "RSAES_OAEP_SHA_256");
    const opts = { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" as const };
    await rejects(
      () => kms().send(new ImportKeyMaterialCommand({ KeyId: b, ImportToken: forA.token, EncryptedKeyMaterial: forA.wrapped, ...opts })),
      "InvalidImportTokenException",
    );
    await rejects(
      () =>
        kms().send(new ImportKeyMaterialCommand({ KeyId: a, ImportToken: randomBytes(32), EncryptedKeyMaterial: forA.wrapped, ...opts })),
      "InvalidImportTokenException",
    );
    await rejects(
      () =>
        kms().send(new ImportKeyMaterialCommand({ KeyId: a, ImportToken: forA.token, EncryptedKeyMaterial: randomBytes(256), ...opts })),
      "InvalidCiphertextException",
    );
    const short = await wrap(a, randomBytes(16), "RSAES_OAEP_SHA_256");
    await rejects(
      () => kms().send(new ImportKeyMaterialCommand({ KeyId: a, ImportToken: short.token, EncryptedKeyMaterial: short.wrapped, ...opts })),
      "ValidationException",
    );
    const native = (await kms().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await rejects(
      () =>
        kms().send(
          new GetParametersForImportCommand({ KeyId: native, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }),
        ),
      "UnsupportedOperationException",
    );
    await rejects(
      () => kms().send(new GetParametersForImportCommand({ KeyId: a, WrappingAlgorithm: "RSAES_PKCS1_V1_5", WrappingKeySpec: "RSA_2048" })),
      "UnsupportedOperationException",
    );
    await rejects(
      () => kms().send(new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "ML_DSA_44", KeyUsage: "SIGN_VERIFY" })),
      "UnsupportedOperationException",
    );
  });

  it("imports an ECC private key (PKCS#8): keyhold signs with it and shows its public key", async (t) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const KeyId = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" })))
      .KeyMetadata!.KeyId!;
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const pkcs8 = pair.privateKey.export({ type: "pkcs8", format: "der" });
    const { token, wrapped } = await wrap(KeyId, pkcs8, "RSA_AES_KEY_WRAP_SHA_256");
    await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: token,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    const pub = await kms().send(new GetPublicKeyCommand({ KeyId }));
    assert.deepEqual(Buffer.from(pub.PublicKey!), pair.publicKey.export({ type: "spki", format: "der" }));
    const signed = await kms().send(new SignCommand({ KeyId, Message: Buffer.from("imported"), SigningAlgorithm: "ECDSA_SHA_256" }));
    assert.ok(nodeVerify("sha256", Buffer.from("imported"), pair.publicKey, Buffer.from(signed.Signature!)));
    // A private key of another curve is refused.
    const other = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" })))
      .KeyMetadata!.KeyId!;
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey.export({ type: "pkcs8", format: "der" });
    const bad = await wrap(other, p384, "RSA_AES_KEY_WRAP_SHA_256");
    await rejects(
      () =>
        kms().send(
          new ImportKeyMaterialCommand({
            KeyId: other,
            ImportToken: bad.token,
            EncryptedKeyMaterial: bad.wrapped,
            ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
          }),
        ),
      "ValidationException",
    );
  });

  it("imports HMAC material: keyhold's MAC equals one computed locally with that material", async (t) => {
    if (!requireTool(t, "openssl", "openssl")) return;
    const KeyId = (await kms().send(new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" })))
      .KeyMetadata!.KeyId!;
    const material = randomBytes(32);
    const { token, wrapped } = await wrap(KeyId, material, "RSA_AES_KEY_WRAP_SHA_1");
    await kms().send(
      new ImportKeyMaterialCommand({
        KeyId,
        ImportToken: token,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    const out = await kms().send(new GenerateMacCommand({ KeyId, Message: Buffer.from("hello"), MacAlgorithm: "HMAC_SHA_256" }));
    assert.deepEqual(Buffer.from(out.Mac!), createHmac("sha256", material).update("hello").digest());
  });
});
