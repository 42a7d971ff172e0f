/** The AWS Encryption SDK for JavaScript, with its KMS keyring pointed at keyhold, unchanged. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { buildClient, CommitmentPolicy, KmsKeyringNode } from "@aws-crypto/client-node";
import { CreateKeyCommand, DisableKeyCommand, KMS } from "@aws-sdk/client-kms";
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startTestServer, type TestServer } from "./helpers.js";

describe("AWS Encryption SDK (@aws-crypto/client-node) through keyhold", () => {
  let server: TestServer;
  let keyArn: string;
  let keyring: KmsKeyringNode;
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const clients: KMS[] = [];
  before(async () => {
    server = await startTestServer();
    keyArn = (await server.client().send(new CreateKeyCommand({ Description: "esdk" }))).KeyMetadata!.Arn!;
    keyring = new KmsKeyringNode({
      generatorKeyId: keyArn,
      clientProvider: (region: string) => {
        const c = new KMS({
          endpoint: server.url,
          region,
          credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
          maxAttempts: 1,
        });
        clients.push(c);
        return c;
      },
    });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  it("encrypts and decrypts a 1 MiB message with encryption context", async () => {
    const plaintext = randomBytes(1024 * 1024);
    const context = { purpose: "keyhold interop", tenant: "acme" };
    const { result } = await encrypt(keyring, plaintext, { encryptionContext: context });
    assert.ok(result.length > plaintext.length);
    assert.ok(!result.includes(plaintext.subarray(0, 64)), "the message is encrypted");
    const { plaintext: back, messageHeader } = await decrypt(keyring, result);
    assert.deepEqual(back, plaintext);
    for (const [k, v] of Object.entries(context)) assert.equal(messageHeader.encryptionContext[k], v);
    assert.equal(messageHeader.encryptedDataKeys[0]!.providerInfo, keyArn);
  });

  it("a message whose KMS key was disabled no longer decrypts, and says why", async () => {
    const { result } = await encrypt(keyring, Buffer.from("before the key was disabled"), { encryptionContext: { a: "b" } });
    await server.client().send(new DisableKeyCommand({ KeyId: keyArn }));
    await assert.rejects(
      () => decrypt(keyring, result),
      (error: Error) => {
        assert.match(`${error.message} ${String((error as { cause?: unknown }).cause ?? "")}`, /DisabledException|disabled/);
        return true;
      },
    );
  });
});
