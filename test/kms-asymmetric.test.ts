/**
 * Every asymmetric and HMAC key spec × usage × algorithm through @aws-sdk/client-kms, with
 * OpenSSL as the independent party: it verifies keyhold's signatures and encrypts to keyhold.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { KEY_SPECS } from "../src/kms/key-specs.js";
import { rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { requireTool } from "./process.js";

const OPENSSL_DIGEST: Record<string, string> = {
  RSASSA_PSS_SHA_256: "sha256",
  RSASSA_PSS_SHA_384: "sha384",
  RSASSA_PSS_SHA_512: "sha512",
  RSASSA_PKCS1_V1_5_SHA_256: "sha256",
  RSASSA_PKCS1_V1_5_SHA_384: "sha384",
  RSASSA_PKCS1_V1_5_SHA_512: "sha512",
  ECDSA_SHA_256: "sha256",
  ECDSA_SHA_384: "sha384",
  ECDSA_SHA_512: "sha512",
};

describe("asymmetric and HMAC keys", () => {
  let server: TestServer;
  let kms: KMSClient;
  let dir: string;
  const combos = Object.entries(KEY_SPECS).flatMap(([spec, info]) =>
    Object.entries(info.usages).map(([usage, algorithms]) => ({ spec, usage, algorithms })),
  );
  before(async () => {
    server = await startTestServer();
    kms = server.client();
    dir = tempDir("keyhold-asym-");
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function pem(der: Uint8Array, name: string): string {
    const path = join(dir, name);
    writeFileSync(path, createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" }).export({ type: "spki", format: "pem" }));
    return path;
  }

  function openssl(...args: string[]): { status: number; stdout: Buffer; stderr: string } {
    const r = spawnSync("openssl", args);
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
  }

  /**
   * ML-DSA: the public key is an SPKI with the NIST OID; µ computed here per FIPS 204
   * (µ = SHAKE256(SHAKE256(pk, 64) ‖ 0x00 ‖ 0x00 ‖ M, 64)) signed as EXTERNAL_MU verifies as the RAW message.
   */
  async function checkMlDsa(KeyId: string, spec: string, spki: Buffer, message: Buffer): Promise<void> {
    const arc = { ML_DSA_44: 17, ML_DSA_65: 18, ML_DSA_87: 19 }[spec]!;
    assert.ok(spki.includes(Buffer.from([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, arc])), "SPKI names id-ml-dsa");
    const pkLength = { ML_DSA_44: 1312, ML_DSA_65: 1952, ML_DSA_87: 2592 }[spec]!;
    const pk = spki.subarray(spki.length - pkLength);
    const tr = createHash("shake256", { outputLength: 64 }).update(pk).digest();
    const mu = createHash("shake256", { outputLength: 64 })
      .update(tr)
      .update(Buffer.from([0, 0]))
      .update(message)
      .digest();
    const signed = await kms.send(
      new SignCommand({ KeyId, Message: mu, MessageType: "EXTERNAL_MU", SigningAlgorithm: "ML_DSA_SHAKE_256" }),
    );
    const verified = await kms.send(
      new VerifyCommand({ KeyId, Message: message, Signature: signed.Signature, SigningAlgorithm: "ML_DSA_SHAKE_256" }),
    );
    assert.equal(verified.SignatureValid, true, "a signature over µ is a signature over the message");
    await rejects(
      () => kms.send(new SignCommand({ KeyId, Message: mu.subarray(1), MessageType: "EXTERNAL_MU", SigningAlgorithm: "ML_DSA_SHAKE_256" })),
      "ValidationException",
    );
  }

  it("the table covers every usage of every supported spec", () => {
    assert.ok(combos.length >= 16);
  });

  for (const { spec, usage, algorithms } of combos) {
    if (spec === "SYMMETRIC_DEFAULT") continue;
    it(`${spec} / ${usage}: ${algorithms.join(", ")}`, async (t) => {
      const created = await kms.send(new CreateKeyCommand({ KeySpec: spec as KeySpec, KeyUsage: usage as KeyUsageType }));
      const md = created.KeyMetadata!;
      assert.equal(md.KeySpec, spec);
      assert.equal(md.KeyUsage, usage);
      const field = {
        ENCRYPT_DECRYPT: "EncryptionAlgorithms",
        SIGN_VERIFY: "SigningAlgorithms",
        GENERATE_VERIFY_MAC: "MacAlgorithms",
        KEY_AGREEMENT: "KeyAgreementAlgorithms",
      }[usage]!;
      assert.deepEqual((md as unknown as Record<string, unknown>)[field], algorithms);
      const KeyId = md.KeyId!;
      await rejects(() => kms.send(new EnableKeyRotationCommand({ KeyId })), "UnsupportedOperationException");

      if (usage === "GENERATE_VERIFY_MAC") {
        await rejects(() => kms.send(new GetPublicKeyCommand({ KeyId })), "UnsupportedOperationException");
        const Message = Buffer.from("mac me");
        const MacAlgorithm = algorithms[0] as never;
        const out = await kms.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm }));
        assert.equal(out.Mac!.length, { HMAC_SHA_224: 28, HMAC_SHA_256: 32, HMAC_SHA_384: 48, HMAC_SHA_512: 64 }[algorithms[0]!]);
        assert.equal((await kms.send(new VerifyMacCommand({ KeyId, Message, MacAlgorithm, Mac: out.Mac }))).MacValid, true);
        const bad = Buffer.from(out.Mac!);
        bad[0]! ^= 1;
        await rejects(() => kms.send(new VerifyMacCommand({ KeyId, Message, MacAlgorithm, Mac: bad })), "KMSInvalidMacException");
        await rejects(
          () => kms.send(new VerifyMacCommand({ KeyId, Message: Buffer.from("other"), MacAlgorithm, Mac: out.Mac })),
          "KMSInvalidMacException",
        );
        const other = algorithms[0] === "HMAC_SHA_256" ? "HMAC_SHA_512" : "HMAC_SHA_256";
        await rejects(() => kms.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm: other as never })), "InvalidKeyUsageException");
        await rejects(() => kms.send(new EncryptCommand({ KeyId, Plaintext: Message })), "InvalidKeyUsageException");
        return;
      }

      const pub = await kms.send(new GetPublicKeyCommand({ KeyId }));
      assert.equal(pub.KeySpec, spec);
      assert.equal(pub.KeyUsage, usage);
      assert.deepEqual((pub as unknown as Record<string, unknown>)[field], algorithms);
      const mlDsa = spec.startsWith("ML_DSA");
      // Node 20's OpenSSL cannot read ML-DSA keys; those are checked against FIPS 204 below instead.
      const pubPem = mlDsa ? "" : pem(pub.PublicKey!, `${KeyId}.pem`);
      const hasOpenssl = requireTool(t, "openssl", "openssl");

      if (usage === "SIGN_VERIFY") {
        const Message = Buffer.from(`message for ${spec}`);
        const msgFile = join(dir, `${KeyId}.msg`);
        writeFileSync(msgFile, Message);
        for (const alg of algorithms) {
          const SigningAlgorithm = alg as never;
          const signed = await kms.send(new SignCommand({ KeyId, Message, SigningAlgorithm }));
          assert.equal(signed.SigningAlgorithm, alg);
          assert.equal(signed.KeyId, md.Arn);
          assert.equal(
            (await kms.send(new VerifyCommand({ KeyId, Message, Signature: signed.Signature, SigningAlgorithm }))).SignatureValid,
            true,
          );
          const bad = Buffer.from(signed.Signature!);
          bad[bad.length - 1]! ^= 1;
          await rejects(
            () => kms.send(new VerifyCommand({ KeyId, Message, Signature: bad, SigningAlgorithm })),
            "KMSInvalidSignatureException",
          );
          await rejects(
            () => kms.send(new VerifyCommand({ KeyId, Message: Buffer.from("tampered"), Signature: signed.Signature, SigningAlgorithm })),
            "KMSInvalidSignatureException",
          );
          // The same signature scheme over a digest the caller computed (MessageType DIGEST).
          const digestAlg = alg.endsWith("_384") ? "sha384" : alg.endsWith("_512") ? "sha512" : "sha256";
          if (alg.startsWith("ECDSA") || alg.startsWith("RSASSA_PKCS1")) {
            const digest = createHash(digestAlg).update(Message).digest();
            const overDigest = await kms.send(new SignCommand({ KeyId, Message: digest, MessageType: "DIGEST", SigningAlgorithm }));
            const raw = await kms.send(new VerifyCommand({ KeyId, Message, Signature: overDigest.Signature, SigningAlgorithm }));
            assert.equal(raw.SignatureValid, true, `${alg}: a signature over the digest verifies over the message`);
            const viaDigest = await kms.send(
              new VerifyCommand({ KeyId, Message: digest, MessageType: "DIGEST", Signature: signed.Signature, SigningAlgorithm }),
            );
            assert.equal(viaDigest.SignatureValid, true);
            await rejects(
              () => kms.send(new SignCommand({ KeyId, Message: digest.subarray(1), MessageType: "DIGEST", SigningAlgorithm })),
              "ValidationException",
            );
          } else if (!mlDsa) {
            await rejects(
              () => kms.send(new SignCommand({ KeyId, Message: Buffer.alloc(64), MessageType: "DIGEST", SigningAlgorithm })),
              "UnsupportedOperationException",
            );
          }
          if (alg === "ED25519_PH_SHA_512") {
            // OpenSSL 3.0 has no Ed25519ph; check against @noble/curves' RFC 8032 implementation instead.
            const spki = Buffer.from(pub.PublicKey!);
            assert.equal(ed25519ph.verify(signed.Signature!, Message, spki.subarray(spki.length - 32)), true);
            continue;
          }
          if (!hasOpenssl || mlDsa) continue;
          const sigFile = join(dir, `${KeyId}.${alg}.sig`);
          writeFileSync(sigFile, signed.Signature!);
          const r =
            alg === "ED25519_SHA_512"
              ? openssl("pkeyutl", "-verify", "-pubin", "-inkey", pubPem, "-rawin", "-in", msgFile, "-sigfile", sigFile)
              : openssl(
                  "dgst",
                  `-${OPENSSL_DIGEST[alg]}`,
                  ...(alg.startsWith("RSASSA_PSS") ? ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"] : []),
                  "-verify",
                  pubPem,
                  "-signature",
                  sigFile,
                  msgFile,
                );
          assert.equal(r.status, 0, `openssl does not verify ${alg}: ${r.stderr}`);
        }
        if (mlDsa) await checkMlDsa(KeyId, spec, Buffer.from(pub.PublicKey!), Message);
        await rejects(
          () => kms.send(new EncryptCommand({ KeyId, Plaintext: Message, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" })),
          "InvalidKeyUsageException",
        );
        await rejects(
          () =>
            kms.send(
              new SignCommand({ KeyId, Message, SigningAlgorithm: spec.startsWith("RSA") ? "ECDSA_SHA_256" : "RSASSA_PSS_SHA_256" }),
            ),
          "InvalidKeyUsageException",
        );
        await rejects(
          () => kms.send(new SignCommand({ KeyId, Message: Buffer.alloc(4097), SigningAlgorithm: algorithms[0] as never })),
          "ValidationException",
        );
        await kms.send(new DisableKeyCommand({ KeyId }));
        await rejects(() => kms.send(new SignCommand({ KeyId, Message, SigningAlgorithm: algorithms[0] as never })), "DisabledException");
        return;
      }

      if (usage === "ENCRYPT_DECRYPT") {
        const bits = Number(spec.slice(4));
        for (const alg of algorithms) {
          const EncryptionAlgorithm = alg as never;
          const hashLength = alg === "RSAES_OAEP_SHA_1" ? 20 : 32;
          const max = bits / 8 - 2 * hashLength - 2;
          const plaintext = Buffer.alloc(max, 0x5a);
          const enc = await kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext, EncryptionAlgorithm }));
          assert.equal(enc.CiphertextBlob!.length, bits / 8);
          const dec = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm }));
          assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext);
          assert.equal(dec.EncryptionAlgorithm, alg);
          await rejects(
            () => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.alloc(max + 1), EncryptionAlgorithm })),
            "ValidationException",
          );
          await rejects(
            () => kms.send(new EncryptCommand({ KeyId, Plaintext: plaintext, EncryptionAlgorithm, EncryptionContext: { a: "b" } })),
            "ValidationException",
          );
          await rejects(() => kms.send(new DecryptCommand({ KeyId, CiphertextBlob: enc.CiphertextBlob })), "InvalidKeyUsageException");
          const bad = Buffer.from(enc.CiphertextBlob!);
          bad[5]! ^= 1;
          await rejects(
            () => kms.send(new DecryptCommand({ KeyId, CiphertextBlob: bad, EncryptionAlgorithm })),
            "InvalidCiphertextException",
          );
          if (!hasOpenssl) continue;
          // OpenSSL encrypts to keyhold's public key; keyhold decrypts.
          const md = alg === "RSAES_OAEP_SHA_1" ? "sha1" : "sha256";
          const inFile = join(dir, `${KeyId}.${alg}.in`);
          const outFile = join(dir, `${KeyId}.${alg}.out`);
          writeFileSync(inFile, "from openssl");
          const r = openssl(
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            pubPem,
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            `rsa_oaep_md:${md}`,
            "-pkeyopt",
            `rsa_mgf1_md:${md}`,
            "-in",
            inFile,
            "-out",
            outFile,
          );
          assert.equal(r.status, 0, r.stderr);
          const { readFileSync } = await import("node:fs");
          const fromOpenssl = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: readFileSync(outFile), EncryptionAlgorithm }));
          assert.equal(Buffer.from(fromOpenssl.Plaintext!).toString(), "from openssl");
        }
        await rejects(() => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from("x") })), "InvalidKeyUsageException");
        await rejects(
          () => kms.send(new SignCommand({ KeyId, Message: Buffer.from("x"), SigningAlgorithm: "RSASSA_PSS_SHA_256" })),
          "InvalidKeyUsageException",
        );
        return;
      }

      if (usage === "KEY_AGREEMENT") {
        const curve = { ECC_NIST_P256: "prime256v1", ECC_NIST_P384: "secp384r1", ECC_NIST_P521: "secp521r1" }[spec]!;
        const mine = generateKeyPairSync("ec", { namedCurve: curve });
        const derived = await kms.send(
          new DeriveSharedSecretCommand({
            KeyId,
            KeyAgreementAlgorithm: "ECDH",
            PublicKey: mine.publicKey.export({ type: "spki", format: "der" }),
          }),
        );
        const expected = diffieHellman({
          privateKey: mine.privateKey,
          publicKey: createPublicKey({ key: Buffer.from(pub.PublicKey!), format: "der", type: "spki" }),
        });
        assert.deepEqual(Buffer.from(derived.SharedSecret!), expected);
        assert.equal(derived.KeyAgreementAlgorithm, "ECDH");
        const otherCurve = createECDH(curve === "prime256v1" ? "secp384r1" : "prime256v1");
        otherCurve.generateKeys();
        const wrong = generateKeyPairSync("ec", { namedCurve: curve === "prime256v1" ? "secp384r1" : "prime256v1" }).publicKey.export({
          type: "spki",
          format: "der",
        });
        await rejects(
          () => kms.send(new DeriveSharedSecretCommand({ KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: wrong })),
          "ValidationException",
        );
        await rejects(
          () => kms.send(new SignCommand({ KeyId, Message: Buffer.from("x"), SigningAlgorithm: "ECDSA_SHA_256" })),
          "InvalidKeyUsageException",
        );
      }
    });
  }

  it("refuses spec and usage pairs AWS refuses", async () => {
    for (const [KeySpec, KeyUsage] of [
      ["RSA_2048", "GENERATE_VERIFY_MAC"],
      ["RSA_2048", "KEY_AGREEMENT"],
      ["HMAC_256", "ENCRYPT_DECRYPT"],
      ["ECC_NIST_P256", "ENCRYPT_DECRYPT"],
      ["ECC_SECG_P256K1", "KEY_AGREEMENT"],
      ["ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"],
      ["SYMMETRIC_DEFAULT", "SIGN_VERIFY"],
    ] as const) {
      await rejects(() => kms.send(new CreateKeyCommand({ KeySpec, KeyUsage })), "ValidationException");
    }
    await rejects(() => kms.send(new CreateKeyCommand({ KeySpec: "HMAC_256" })), "ValidationException");
    await rejects(() => kms.send(new CreateKeyCommand({ KeySpec: "SM2", KeyUsage: "SIGN_VERIFY" })), "UnsupportedOperationException");
    const ecdsa = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.KeyId!;
    await rejects(
      () =>
        kms.send(
          new SignCommand({ KeyId: ecdsa, Message: Buffer.alloc(64), MessageType: "EXTERNAL_MU", SigningAlgorithm: "ECDSA_SHA_256" }),
        ),
      "ValidationException",
    );
    const symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await rejects(() => kms.send(new GetPublicKeyCommand({ KeyId: symmetric })), "UnsupportedOperationException");
    await rejects(
      () => kms.send(new GenerateMacCommand({ KeyId: symmetric, Message: Buffer.from("x"), MacAlgorithm: "HMAC_SHA_256" })),
      "InvalidKeyUsageException",
    );
    await rejects(
      () => kms.send(new SignCommand({ KeyId: symmetric, Message: Buffer.from("x"), SigningAlgorithm: "ECDSA_SHA_256" })),
      "InvalidKeyUsageException",
    );
    const described = (await kms.send(new DescribeKeyCommand({ KeyId: symmetric }))).KeyMetadata!;
    assert.deepEqual(described.EncryptionAlgorithms, ["SYMMETRIC_DEFAULT"]);
    assert.equal(described.SigningAlgorithms, undefined);
  });

  it("ReEncrypt moves ciphertext between a symmetric key and an RSA key, both ways", async () => {
    const sym = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" }))).KeyMetadata!.KeyId!;
    const start = await kms.send(new EncryptCommand({ KeyId: sym, Plaintext: Buffer.from("round trip"), EncryptionContext: { c: "1" } }));
    const toRsa = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: start.CiphertextBlob,
        SourceEncryptionContext: { c: "1" },
        DestinationKeyId: rsa,
        DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256",
      }),
    );
    assert.equal(toRsa.DestinationEncryptionAlgorithm, "RSAES_OAEP_SHA_256");
    assert.equal(toRsa.CiphertextBlob!.length, 256);
    const back = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: toRsa.CiphertextBlob,
        SourceKeyId: rsa,
        SourceEncryptionAlgorithm: "RSAES_OAEP_SHA_256",
        DestinationKeyId: sym,
        DestinationEncryptionContext: { c: "2" },
      }),
    );
    assert.equal(back.SourceEncryptionAlgorithm, "RSAES_OAEP_SHA_256");
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: back.CiphertextBlob, EncryptionContext: { c: "2" } }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), "round trip");
    await rejects(
      () => kms.send(new ReEncryptCommand({ CiphertextBlob: toRsa.CiphertextBlob, SourceKeyId: rsa, DestinationKeyId: sym })),
      "InvalidKeyUsageException",
    );
  });

  it("GenerateDataKeyPair returns a matching key pair whose private key decrypts from its ciphertext", async () => {
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (const KeyPairSpec of [
      "RSA_2048",
      "ECC_NIST_P256",
      "ECC_NIST_P384",
      "ECC_NIST_P521",
      "ECC_SECG_P256K1",
      "ECC_NIST_EDWARDS25519",
    ] as const) {
      const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId, KeyPairSpec, EncryptionContext: { pair: KeyPairSpec } }));
      assert.equal(pair.KeyPairSpec, KeyPairSpec);
      const privateKey = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: "der", type: "pkcs8" });
      const publicKey = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: "der", type: "spki" });
      const hash = KeyPairSpec === "ECC_NIST_EDWARDS25519" ? null : "sha256";
      const signature = nodeSign(hash, Buffer.from("pair"), privateKey);
      assert.ok(nodeVerify(hash, Buffer.from("pair"), publicKey, signature), `${KeyPairSpec}: public and private key match`);
      const dec = await kms.send(
        new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: { pair: KeyPairSpec } }),
      );
      assert.deepEqual(Buffer.from(dec.Plaintext!), Buffer.from(pair.PrivateKeyPlaintext!));
    }
    const without = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId, KeyPairSpec: "ECC_NIST_P256" }));
    assert.equal((without as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext, undefined);
    assert.ok(without.PublicKey!.length > 0);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: without.PrivateKeyCiphertextBlob }));
    createPrivateKey({ key: Buffer.from(dec.Plaintext!), format: "der", type: "pkcs8" });
    await rejects(() => kms.send(new GenerateDataKeyPairCommand({ KeyId, KeyPairSpec: "SM2" })), "UnsupportedOperationException");
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.KeyId!;
    await rejects(() => kms.send(new GenerateDataKeyPairCommand({ KeyId: signing, KeyPairSpec: "RSA_2048" })), "InvalidKeyUsageException");
  });
});
