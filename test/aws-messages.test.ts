/**
 * Error messages in AWS's own words where AWS documents or returns them (issue 19): tools and
 * scripts match on them. The sources: the "1 validation error detected: Value '…' at '…' failed
 * to satisfy constraint: Member must …" sentences AWS's services build from the model's
 * constraints (a blob's value is never repeated: "Value at 'plaintext'"), and KMS's CreateKey and
 * key-usage messages as KMS returns them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  SignCommand,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { rejects, startTestServer, type TestServer } from "./helpers.js";

describe("AWS's wording of KMS errors", () => {
  let server: TestServer;
  let kms: KMSClient;
  let keyId: string;

  before(async () => {
    server = await startTestServer();
    kms = server.client();
    keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  });
  after(() => server.stop());

  const createKey = async (KeySpec?: string, KeyUsage?: string, extra: Record<string, unknown> = {}) =>
    (
      await rejects(
        () => kms.send(new CreateKeyCommand({ KeySpec: KeySpec as KeySpec, KeyUsage: KeyUsage as KeyUsageType, ...extra })),
        "ValidationException",
      )
    ).message;

  it("CreateKey: key usage and key spec, as KMS words them", async () => {
    assert.equal(
      await createKey(undefined, "SIGN_VERIFY"),
      "The operation failed because the KeyUsage value of the CMK is SIGN_VERIFY. To perform this operation, the KeyUsage value must be ENCRYPT_DECRYPT.",
    );
    // KeyUsage is optional for a symmetric encryption key only.
    assert.equal(await createKey("RSA_2048"), "You must specify a KeyUsage value for an asymmetric CMK.");
    assert.equal(await createKey("ECC_NIST_P256"), "You must specify a KeyUsage value for an asymmetric CMK.");
    assert.equal(await createKey("HMAC_256"), "You must specify a KeyUsage value for an HMAC CMK.");
    assert.equal(
      await createKey("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
      "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256",
    );
    assert.equal(
      await createKey("RSA_2048", "GENERATE_VERIFY_MAC"),
      "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec RSA_2048",
    );
    assert.equal(
      await createKey("RSA_2048", "SIGN_VERIFY", { CustomerMasterKeySpec: "RSA_2048" }),
      "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
    );
    assert.match(
      await createKey("RSA_1024", "SIGN_VERIFY"),
      /^1 validation error detected: Value 'RSA_1024' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[.*RSA_2048.*\]$/,
    );
    // With KeyUsage named, RSA is created as before.
    const rsa = await kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" }));
    assert.equal(rsa.KeyMetadata!.KeyUsage, "ENCRYPT_DECRYPT");
  });

  it("the model's constraints: AWS's sentence, a blob never repeated, a list as AWS prints it", async () => {
    const big = await rejects(() => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4097) })), "ValidationException");
    assert.equal(
      big.message,
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    const zero = await rejects(() => kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 })), "ValidationException");
    assert.equal(
      zero.message,
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    const tokens = Array.from({ length: 11 }, (_, i) => `t${i}`);
    const many = await rejects(
      () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x"), GrantTokens: tokens })),
      "ValidationException",
    );
    assert.equal(
      many.message,
      "1 validation error detected: Value '[t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
  });

  it("GenerateDataKey: KMS's words for a missing or doubled size and for an asymmetric key", async () => {
    const both = await rejects(
      () => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", NumberOfBytes: 32 })),
      "ValidationException",
    );
    assert.equal(both.message, "Please specify either number of bytes or key spec.");
    const neither = await rejects(() => kms.send(new GenerateDataKeyCommand({ KeyId: keyId })), "ValidationException");
    assert.equal(neither.message, "Please specify either number of bytes or key spec.");
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" }))).KeyMetadata!.Arn!;
    const asymmetric = await rejects(
      () => kms.send(new GenerateDataKeyCommand({ KeyId: rsa, KeySpec: "AES_256" })),
      "InvalidKeyUsageException",
    );
    assert.equal(asymmetric.message, "You cannot generate a data key with an asymmetric CMK");
  });

  it("a key used against its usage: InvalidKeyUsageException as KMS words it", async () => {
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!.Arn!;
    const encrypt = await rejects(
      () => kms.send(new EncryptCommand({ KeyId: signing, Plaintext: Buffer.from("x") })),
      "InvalidKeyUsageException",
    );
    assert.equal(encrypt.message, `${signing} key usage is SIGN_VERIFY which is not valid for Encrypt.`);
    const symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const sign = await rejects(
      () => kms.send(new SignCommand({ KeyId: symmetric, Message: Buffer.from("m"), SigningAlgorithm: "ECDSA_SHA_256" })),
      "InvalidKeyUsageException",
    );
    assert.equal(sign.message, `${symmetric} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`);
  });
});
