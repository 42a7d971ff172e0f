/**
 * Custom key stores (issue 20 §2, §3, §5) through @aws-sdk/client-kms against clusters of real
 * SoftHSM2 tokens: the six operations with every state rule and error code, keys made and used
 * inside the tokens, Unavailable keys while disconnected, a wrong PIN as FAILED/INVALID_CREDENTIALS,
 * deletion at the end of the window destroying the key in every token, a restart, and a cluster
 * running on one token and healing when the other comes back. pkcs11-tool checks the tokens.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
  KMS,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { buildClient, CommitmentPolicy, KmsKeyringNode } from "@aws-crypto/client-node";
import { ManualClock, DAY_MS } from "../src/clock.js";
import { createCluster } from "../src/hsm/cluster-setup.js";
import type { ClusterRecord } from "../src/hsm/clusters.js";
import { ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, rejects, startTestServer, tempDir, type TestServer } from "./helpers.js";
import { pkcs11Tool, requireSoftHsm, type SoftHsm } from "./softhsm.js";
import { trustAnchor } from "./trust-anchor.js";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bytesOf, patterned, s3Client } from "./s3.js";

const PIN = "kmsuser-pin-2718";

/** The token directory SoftHSM2 keeps for the token with this label. */
function tokenDirOf(hsm: SoftHsm, label: string): string {
  for (const d of readdirSync(hsm.tokenDir)) {
    const object = readFileSync(join(hsm.tokenDir, d, "token.object"));
    if (object.includes(Buffer.from(label.padEnd(32, " ")))) return join(hsm.tokenDir, d);
  }
  throw new Error(`no token directory for ${label}`);
}

/** The labels of the secret keys pkcs11-tool sees in a token, with their access flags. */
function tokenKeys(hsm: SoftHsm, label: string): Map<string, string> {
  const listed = pkcs11Tool(hsm, ["--token-label", label, "--login", "--pin", PIN, "--list-objects", "--type", "secrkey"]);
  const keys = new Map<string, string>();
  for (const block of listed.out.split("Secret Key Object").slice(1)) {
    const name = /label:\s+(\S+)/.exec(block)?.[1];
    const access = /Access:\s+(.*)/.exec(block)?.[1] ?? "";
    if (name) keys.set(name, access);
  }
  return keys;
}

async function connected(kms: KMSClient, id: string): Promise<CustomKeyStoresListEntry> {
  // Connect answers once it has tried: the state is CONNECTED or FAILED, never still CONNECTING.
  const entry = (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))).CustomKeyStores![0]!;
  return entry;
}

test("custom key stores on clusters of SoftHSM2 tokens", async (t) => {
  const hsm = requireSoftHsm(t);
  if (!hsm) return;
  const anchor = trustAnchor(t);
  if (!anchor) return;
  const otherAnchor = trustAnchor(t)!;
  // Tokens are made before this process opens the module (SoftHSM2 lists tokens at C_Initialize).
  for (const label of ["cks-a", "cks-b", "cks-c", "cks-d", "cks-solo"]) hsm.token(label, PIN);

  const clock = new ManualClock(Date.now());
  const dataDir = tempDir();
  let server: TestServer = await startTestServer({ clock, dataDir });
  let kms = server.client();
  const cluster = async (labels: string[]): Promise<ClusterRecord> =>
    createCluster(server.keyhold.repo, clock, {
      accountId: ACCOUNT_ID,
      region: "us-east-1",
      module: hsm.module,
      tokens: labels.map((tokenLabel) => ({ tokenLabel })),
      trustAnchor: anchor,
      pin: PIN,
    });
  const main = await cluster(["cks-a", "cks-b"]);
  const other = await cluster(["cks-c", "cks-d"]);
  const solo = await cluster(["cks-solo"]);
  assert.match(main.clusterId, /^cluster-[2-7a-z]{11}$/);
  let storeId = "";
  let keyId = "";
  let sealed: Uint8Array = new Uint8Array();
  const context = { purpose: "custom-key-store-test" };

  await t.test("the cluster's wrapping key is in every token, not extractable", () => {
    for (const label of ["cks-a", "cks-b"]) {
      const keys = tokenKeys(hsm, label);
      const access = keys.get(`keyhold:cluster-wrap:${main.clusterId}`);
      assert.ok(access !== undefined, `${label}: ${[...keys.keys()].join(", ")}`);
      assert.match(access, /sensitive/);
      assert.doesNotMatch(access, /(^|, )extractable/);
      // The transport key of the setup is gone.
      assert.ok(![...keys.keys()].some((k) => k.includes("transport")));
    }
  });

  await t.test("CreateCustomKeyStore refuses what AWS refuses", async () => {
    const base = { CustomKeyStoreName: "refused", TrustAnchorCertificate: anchor, KeyStorePassword: PIN };
    await rejects(() => kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: "no-cluster" })), "ValidationException");
    await rejects(
      () => kms.send(new CreateCustomKeyStoreCommand({ ...base, CloudHsmClusterId: "cluster-aaaaaaaaaaa" })),
      "CloudHsmClusterNotFoundException",
    );
    await rejects(() => kms.send(new CreateCustomKeyStoreCommand({ ...base, CloudHsmClusterId: "cluster-1" })), "ValidationException");
    await rejects(
      () => kms.send(new CreateCustomKeyStoreCommand({ ...base, CloudHsmClusterId: main.clusterId, TrustAnchorCertificate: otherAnchor })),
      "IncorrectTrustAnchorException",
    );
    await rejects(
      () =>
        kms.send(
          new CreateCustomKeyStoreCommand({ ...base, CloudHsmClusterId: main.clusterId, TrustAnchorCertificate: "not a certificate" }),
        ),
      "IncorrectTrustAnchorException",
    );
    await rejects(
      () => kms.send(new CreateCustomKeyStoreCommand({ ...base, CloudHsmClusterId: solo.clusterId })),
      "CloudHsmClusterInvalidConfigurationException",
    );
    await rejects(
      () => kms.send(new CreateCustomKeyStoreCommand({ ...base, KeyStorePassword: "short", CloudHsmClusterId: main.clusterId })),
      "ValidationException",
    );
    await rejects(
      () => kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: "xks", CustomKeyStoreType: "EXTERNAL_KEY_STORE" })),
      "UnsupportedOperationException",
    );
    assert.deepEqual((await kms.send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores, []);
  });

  await t.test("CreateCustomKeyStore makes a DISCONNECTED store; names and clusters are taken once", async () => {
    // The trust anchor is compared as a certificate: other line endings are the same anchor.
    const created = await kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: "hsm-store",
        CloudHsmClusterId: main.clusterId,
        TrustAnchorCertificate: anchor.replace(/\n/g, "\r\n"),
        KeyStorePassword: PIN,
      }),
    );
    storeId = created.CustomKeyStoreId!;
    assert.match(storeId, /^cks-[0-9a-f]{17}$/);
    const entry = await connected(kms, storeId);
    assert.equal(entry.ConnectionState, "DISCONNECTED");
    assert.equal(entry.ConnectionErrorCode, undefined);
    assert.equal(entry.CloudHsmClusterId, main.clusterId);
    assert.equal(entry.CustomKeyStoreType, "AWS_CLOUDHSM");
    assert.equal(entry.CustomKeyStoreName, "hsm-store");
    assert.ok(entry.TrustAnchorCertificate?.includes("BEGIN CERTIFICATE"));
    await rejects(
      () =>
        kms.send(
          new CreateCustomKeyStoreCommand({
            CustomKeyStoreName: "hsm-store",
            CloudHsmClusterId: other.clusterId,
            TrustAnchorCertificate: anchor,
            KeyStorePassword: PIN,
          }),
        ),
      "CustomKeyStoreNameInUseException",
    );
    await rejects(
      () =>
        kms.send(
          new CreateCustomKeyStoreCommand({
            CustomKeyStoreName: "second",
            CloudHsmClusterId: main.clusterId,
            TrustAnchorCertificate: anchor,
            KeyStorePassword: PIN,
          }),
        ),
      "CloudHsmClusterInUseException",
    );
    // The PIN is in no record as given: not in the audit trail, not in the logs.
    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const events = (
      await trail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateCustomKeyStore" }] }),
      )
    ).Events!;
    assert.ok(events.length >= 1);
    for (const e of events) assert.ok(!e.CloudTrailEvent!.includes(PIN), "the PIN is not in the audit trail");
    const ok = events.map((e) => JSON.parse(e.CloudTrailEvent!)).find((r) => r.errorCode === undefined);
    assert.equal(ok.additionalEventData.customKeyStoreId, storeId);
    assert.equal(ok.requestParameters.keyStorePassword, undefined);
    trail.destroy();
  });

  await t.test("a DISCONNECTED store: no keys made, no random drawn, no second disconnect", async () => {
    await rejects(
      () => kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: storeId })),
      "CustomKeyStoreInvalidStateException",
    );
    await rejects(
      () => kms.send(new GenerateRandomCommand({ NumberOfBytes: 16, CustomKeyStoreId: storeId })),
      "CustomKeyStoreInvalidStateException",
    );
    await rejects(
      () => kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })),
      "CustomKeyStoreInvalidStateException",
    );
    await rejects(
      () => kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: "cks-00000000000000000" })),
      "CustomKeyStoreNotFoundException",
    );
  });

  await t.test("ConnectCustomKeyStore: CONNECTED; Update and Delete need it disconnected", async () => {
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const entry = await connected(kms, storeId);
    assert.equal(entry.ConnectionState, "CONNECTED");
    assert.equal(entry.ConnectionErrorCode, undefined);
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })); // connected already: fine
    await rejects(
      () => kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: "renamed" })),
      "CustomKeyStoreInvalidStateException",
    );
    await rejects(() => kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), "CustomKeyStoreInvalidStateException");
  });

  await t.test("CreateKey in the store: the key is made in both tokens, non-extractable, and used there", async () => {
    await rejects(() => kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM" })), "ValidationException");
    await rejects(() => kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId })), "ValidationException");
    await rejects(
      () => kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: "cks-00000000000000000" })),
      "CustomKeyStoreNotFoundException",
    );
    await rejects(
      () =>
        kms.send(
          new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: storeId, KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" }),
        ),
      "UnsupportedOperationException",
    );
    const md = (await kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: storeId, Description: "in the HSM" })))
      .KeyMetadata!;
    keyId = md.KeyId!;
    assert.equal(md.Origin, "AWS_CLOUDHSM");
    assert.equal(md.CustomKeyStoreId, storeId);
    assert.equal(md.CloudHsmClusterId, main.clusterId);
    assert.equal(md.KeyState, "Enabled");
    const described = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
    assert.equal(described.CustomKeyStoreId, storeId);
    assert.equal(described.CloudHsmClusterId, main.clusterId);
    for (const label of ["cks-a", "cks-b"]) {
      const access = tokenKeys(hsm, label).get(`keyhold:kms:${keyId}`);
      assert.ok(access !== undefined, `the key is in ${label}`);
      assert.match(access, /sensitive/);
      assert.doesNotMatch(access, /(^|, )extractable/);
    }
    // pkcs11-tool, logged in as the token user, cannot wrap it out under a key of its own; the
    // same command wraps an extractable key of its own, so the refusal is the key's.
    const as = ["--token-label", "cks-a", "--login", "--pin", PIN];
    assert.equal(pkcs11Tool(hsm, [...as, "--keygen", "--key-type", "AES:32", "--label", "outsider", "--id", "99"]).status, 0);
    assert.equal(
      pkcs11Tool(hsm, [...as, "--keygen", "--key-type", "AES:32", "--label", "movable", "--id", "98", "--extractable"]).status,
      0,
    );
    const wrap = (target: string) =>
      pkcs11Tool(hsm, [
        ...as,
        "--wrap",
        "--mechanism",
        "AES-KEY-WRAP",
        "--id",
        "99",
        "--application-id",
        target,
        "--output-file",
        join(tempDir(), "wrapped"),
      ]);
    const control = wrap("98");
    assert.equal(control.status, 0, control.out);
    const tried = wrap(keyId.replace(/-/g, ""));
    assert.notEqual(tried.status, 0, tried.out);
    assert.match(tried.out, /CKR_KEY_UNEXTRACTABLE/);

    const encrypted = await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("held in the HSM"), EncryptionContext: context }),
    );
    sealed = encrypted.CiphertextBlob!;
    // The blob says which key it is under: format version 1, then the key id's 16 bytes.
    assert.equal(sealed[0], 1);
    assert.equal(Buffer.from(sealed.subarray(1, 17)).toString("hex"), keyId.replace(/-/g, ""));
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: context }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), "held in the HSM");
    assert.equal(opened.KeyId, md.Arn);
    await rejects(
      () => kms.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: { purpose: "other" } })),
      "InvalidCiphertextException",
    );
    const altered = Buffer.from(sealed);
    altered[40] ^= 1;
    await rejects(
      () => kms.send(new DecryptCommand({ CiphertextBlob: altered, EncryptionContext: context })),
      "InvalidCiphertextException",
    );

    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context }));
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }));
    assert.deepEqual(Buffer.from(back.Plaintext!), Buffer.from(dataKey.Plaintext!));
    const noPlain = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 32 }));
    assert.equal((await kms.send(new DecryptCommand({ CiphertextBlob: noPlain.CiphertextBlob }))).Plaintext!.length, 32);

    // ReEncrypt into a software key and back into the HSM key.
    const soft = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const toSoft = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: sealed, SourceEncryptionContext: context, DestinationKeyId: soft }),
    );
    const toHsm = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: toSoft.CiphertextBlob, DestinationKeyId: keyId, DestinationEncryptionContext: context }),
    );
    assert.equal(toHsm.KeyId, md.Arn);
    assert.equal(
      Buffer.from(
        (await kms.send(new DecryptCommand({ CiphertextBlob: toHsm.CiphertextBlob, EncryptionContext: context }))).Plaintext!,
      ).toString(),
      "held in the HSM",
    );

    const random = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 48, CustomKeyStoreId: storeId }));
    assert.equal(random.Plaintext!.length, 48);
    await rejects(
      () => kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: "cks-00000000000000000" })),
      "CustomKeyStoreNotFoundException",
    );

    // AWS rotates no key in a custom key store.
    await rejects(() => kms.send(new EnableKeyRotationCommand({ KeyId: keyId })), "UnsupportedOperationException");
    await rejects(() => kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })), "UnsupportedOperationException");
  });

  await t.test("S3 SSE-KMS under a key in the custom key store, unchanged", async () => {
    const s3 = s3Client(server.url);
    await s3.send(new CreateBucketCommand({ Bucket: "hsm-objects" }));
    const body = patterned(100_000, 7);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: "hsm-objects", Key: "o", Body: body, ServerSideEncryption: "aws:kms", SSEKMSKeyId: keyId }),
    );
    assert.equal(put.ServerSideEncryption, "aws:kms");
    assert.match(put.SSEKMSKeyId ?? "", new RegExp(keyId));
    const got = await s3.send(new GetObjectCommand({ Bucket: "hsm-objects", Key: "o" }));
    assert.ok((await bytesOf(got.Body)).equals(body));
    s3.destroy();
    // The KMS records S3 writes on the caller's behalf name the custom key store, as CloudTrail's do.
    const trail = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    for (const name of ["GenerateDataKey", "Decrypt"]) {
      const records = (
        await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: name }] }))
      )
        .Events!.map((e) => JSON.parse(e.CloudTrailEvent!))
        .filter((r) => r.errorCode === undefined && JSON.stringify(r.requestParameters ?? {}).includes("aws:s3:arn"));
      assert.ok(records.length >= 1, `S3's ${name} is recorded`);
      for (const r of records) {
        assert.equal(r.additionalEventData.customKeyStoreId, storeId, `S3's ${name} names the store`);
        assert.ok(r.additionalEventData.keyMaterialId, `S3's ${name} keeps its key material id`);
      }
    }
    trail.destroy();
  });

  await t.test("the AWS Encryption SDK under a key in the custom key store, unchanged", async () => {
    const arn = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/${keyId}`;
    const clients: KMS[] = [];
    const keyring = new KmsKeyringNode({
      generatorKeyId: arn,
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
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const plaintext = patterned(200_000, 11);
    const { result } = await encrypt(keyring, plaintext, { encryptionContext: { tenant: "hsm" } });
    assert.ok(!result.includes(plaintext.subarray(0, 64)), "the message is encrypted");
    const { plaintext: back, messageHeader } = await decrypt(keyring, result);
    assert.ok(Buffer.from(back).equals(plaintext));
    assert.equal(messageHeader.encryptedDataKeys[0]!.providerInfo, arn);
    for (const c of clients) c.destroy();
  });

  await t.test("disconnected: the key is Unavailable and refused; reconnected: it works again", async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    assert.equal((await connected(kms, storeId)).ConnectionState, "DISCONNECTED");
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, "Unavailable");
    await rejects(() => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") })), "KMSInvalidStateException");
    await rejects(() => kms.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: context })), "KMSInvalidStateException");
    await rejects(() => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" })), "KMSInvalidStateException");
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, "Enabled");
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: context }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), "held in the HSM");
  });

  await t.test("a wrong KeyStorePassword: FAILED with INVALID_CREDENTIALS, never a 500; disconnect, fix, connect", async () => {
    const wrong = "wrong-pin-SECRET-31337";
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, KeyStorePassword: wrong }));
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const failed = await connected(kms, storeId);
    assert.equal(failed.ConnectionState, "FAILED");
    assert.equal(failed.ConnectionErrorCode, "INVALID_CREDENTIALS");
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, "Unavailable");
    await rejects(() => kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), "CustomKeyStoreInvalidStateException");
    await rejects(
      () => kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, KeyStorePassword: PIN })),
      "CustomKeyStoreInvalidStateException",
    );
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, KeyStorePassword: PIN }));
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    assert.equal((await connected(kms, storeId)).ConnectionState, "CONNECTED");
    for (const line of server.logs) assert.ok(!line.includes(wrong) && !line.includes(PIN), `a PIN in the log: ${line}`);
  });

  await t.test("UpdateCustomKeyStore: rename, related clusters only, names taken once", async () => {
    const second = (
      await kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: "second",
          CloudHsmClusterId: other.clusterId,
          TrustAnchorCertificate: anchor,
          KeyStorePassword: PIN,
        }),
      )
    ).CustomKeyStoreId!;
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await rejects(
      () => kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: other.clusterId })),
      "CloudHsmClusterNotRelatedException",
    );
    await rejects(
      () => kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: "cluster-bbbbbbbbbbb" })),
      "CloudHsmClusterNotFoundException",
    );
    await rejects(
      () => kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: "second" })),
      "CustomKeyStoreNameInUseException",
    );
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: "renamed" }));
    const byName = await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: "renamed" }));
    assert.equal(byName.CustomKeyStores![0]!.CustomKeyStoreId, storeId);
    await rejects(
      () => kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreName: "hsm-store" })),
      "CustomKeyStoreNotFoundException",
    );
    const page = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 1 }));
    assert.equal(page.CustomKeyStores!.length, 1);
    assert.equal(page.Truncated, true);
    const rest = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 1, Marker: page.NextMarker }));
    assert.equal(rest.Truncated, false);
    assert.notEqual(rest.CustomKeyStores![0]!.CustomKeyStoreId, page.CustomKeyStores![0]!.CustomKeyStoreId);
    await rejects(() => kms.send(new DescribeCustomKeyStoresCommand({ Marker: "not-a-marker" })), "InvalidMarkerException");
    await kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: second }));
    await rejects(() => kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: second })), "CustomKeyStoreNotFoundException");
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  });

  await t.test("a restart keeps the store, its state and its keys", async () => {
    await server.stop();
    server = await startTestServer({ clock, dataDir });
    kms = server.client();
    const entry = await connected(kms, storeId);
    assert.equal(entry.ConnectionState, "CONNECTED");
    assert.equal(entry.CustomKeyStoreName, "renamed");
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: context }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), "held in the HSM");
  });

  await t.test("one token gone: everything goes on with the other; a key made meanwhile reaches it when it returns", async () => {
    // SoftHSM2 lists its tokens when the module is initialized: the token is taken away while no
    // Token is open in this process (the server stopped), and the server started again.
    await server.stop();
    // Away means out of SoftHSM2's token directory (it would find it under any name inside).
    const away = tempDir("keyhold-token-away-");
    const bDir = tokenDirOf(hsm, "cks-b");
    renameSync(bDir, join(away, "b"));
    server = await startTestServer({ clock, dataDir });
    kms = server.client();
    const degraded = await connected(kms, storeId);
    assert.equal(degraded.ConnectionState, "CONNECTED");
    assert.equal(degraded.ConnectionErrorCode, "INSUFFICIENT_CLOUDHSM_HSMS", "fewer than two reachable tokens shows");
    assert.equal(
      Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: sealed, EncryptionContext: context }))).Plaintext!).toString(),
      "held in the HSM",
    );
    const meanwhile = (await kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: storeId }))).KeyMetadata!.KeyId!;
    const sealedMeanwhile = (await kms.send(new EncryptCommand({ KeyId: meanwhile, Plaintext: Buffer.from("made meanwhile") })))
      .CiphertextBlob!;
    await server.stop();
    renameSync(join(away, "b"), bDir);
    // Now token a goes: only b, which was away when the key was made, can answer.
    const aDir = tokenDirOf(hsm, "cks-a");
    // b comes back first with a still there, so the key is copied into it at connect.
    server = await startTestServer({ clock, dataDir });
    kms = server.client();
    assert.equal((await connected(kms, storeId)).ConnectionErrorCode, undefined);
    assert.ok(tokenKeys(hsm, "cks-b").has(`keyhold:kms:${meanwhile}`), "copied into the token that came back");
    await server.stop();
    renameSync(aDir, join(away, "a"));
    server = await startTestServer({ clock, dataDir });
    kms = server.client();
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealedMeanwhile }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), "made meanwhile");
    await server.stop();
    renameSync(join(away, "a"), aDir);
    server = await startTestServer({ clock, dataDir });
    kms = server.client();
  });

  await t.test("DeleteCustomKeyStore waits for its keys; deletion at the end of the window destroys them in every token", async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await rejects(() => kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), "CustomKeyStoreHasCMKsException");
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const keys = [];
    for (const label of ["cks-a"])
      for (const k of tokenKeys(hsm, label).keys()) if (k.startsWith("keyhold:kms:")) keys.push(k.slice("keyhold:kms:".length));
    assert.ok(keys.includes(keyId));
    for (const k of keys) await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k, PendingWindowInDays: 7 }));
    clock.advance(8 * DAY_MS);
    const report = await server.keyhold.scheduler.tick();
    assert.deepEqual([...report.deleted].sort(), [...keys].sort());
    for (const label of ["cks-a", "cks-b"]) {
      for (const k of keys) assert.ok(!tokenKeys(hsm, label).has(`keyhold:kms:${k}`), `${k} destroyed in ${label}`);
    }
    const later = server.client("us-east-1", { systemClockOffset: 8 * DAY_MS });
    await later.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await later.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await rejects(() => later.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId })), "CustomKeyStoreNotFoundException");
    later.destroy();
  });

  await server.stop();
});
