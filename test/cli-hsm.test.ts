/**
 * Issue 20's AWS CLI scenario against a keyhold server process and two SoftHSM2 tokens: register
 * the cluster with `keyhold hsm cluster create`, see it with `aws cloudhsmv2 describe-clusters`,
 * create and connect a custom key store, make a key in it, encrypt and decrypt with a context,
 * disconnect (refused) and reconnect (works), lose a token (still works), then zeroize: nothing
 * decrypts any more, and the tokens hold no keyhold object.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./helpers.js";
import { awsEnv, requireTool, spawnServer, type ServerProcess } from "./process.js";
import { pinFile, pkcs11Tool, requireSoftHsm, type SoftHsm } from "./softhsm.js";
import { trustAnchor } from "./trust-anchor.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const PIN = "cli-kmsuser-7788";

function tokenDirOf(hsm: SoftHsm, label: string): string {
  for (const d of readdirSync(hsm.tokenDir)) {
    if (readFileSync(join(hsm.tokenDir, d, "token.object")).includes(Buffer.from(label.padEnd(32, " ")))) return join(hsm.tokenDir, d);
  }
  throw new Error(`no token directory for ${label}`);
}

test("AWS CLI: a custom key store on two SoftHSM2 tokens, from registration to zeroization", async (t) => {
  const hsm = requireSoftHsm(t);
  if (!hsm || !requireTool(t, "aws", "awscli")) return;
  const anchorPem = trustAnchor(t);
  if (!anchorPem) return;
  hsm.token("cli-a", PIN);
  hsm.token("cli-b", PIN);
  const dir = tempDir();
  const dataDir = join(dir, "data");
  const anchorFile = join(dir, "customerCA.crt");
  writeFileSync(anchorFile, anchorPem);
  const pins = pinFile(PIN);
  let server: ServerProcess = await spawnServer(dataDir, hsm.env);
  t.after(() => server.kill());

  const keyhold = (...args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, ...args, "--data-dir", dataDir], {
      env: { PATH: process.env.PATH ?? "", ...hsm.env, KEYHOLD_ACCOUNT_ID: "111122223333" },
      encoding: "utf8",
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const aws = (...args: string[]) => {
    const r = spawnSync("aws", ["--endpoint-url", server.url, "--output", "json", ...args], { env: awsEnv(), encoding: "utf8" });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (...args: string[]): Record<string, unknown> => {
    const r = aws(...args);
    assert.equal(r.status, 0, `aws ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
  };
  const fails = (code: string, ...args: string[]) => {
    const r = aws(...args);
    assert.notEqual(r.status, 0, `aws ${args.join(" ")} should fail`);
    assert.match(r.stderr, new RegExp(`\\(${code}\\)`), r.stderr);
  };
  const state = (id: string) => {
    const out = ok("kms", "describe-custom-key-stores", "--custom-key-store-id", id) as {
      CustomKeyStores: { ConnectionState: string; ConnectionErrorCode?: string }[];
    };
    return out.CustomKeyStores[0]!;
  };
  const waitConnected = async (id: string) => {
    for (let i = 0; i < 50 && state(id).ConnectionState === "CONNECTING"; i++) await new Promise((r) => setTimeout(r, 100));
    return state(id);
  };

  // Register the cluster.
  const made = keyhold(
    "hsm",
    "cluster",
    "create",
    "--module",
    hsm.module,
    "--token-label",
    "cli-a",
    "--token-label",
    "cli-b",
    "--pin-file",
    pins,
    "--trust-anchor",
    anchorFile,
  );
  assert.equal(made.status, 0, made.stderr);
  const clusterId = made.stdout.trim();
  assert.match(clusterId, /^cluster-[2-7a-z]{11}$/);
  assert.ok(!made.stdout.includes(PIN) && !made.stderr.includes(PIN));
  const listed = keyhold("hsm", "cluster", "list");
  assert.match(listed.stdout, new RegExp(`${clusterId} .*token 'cli-a', token 'cli-b'`));
  const clusters = ok("cloudhsmv2", "describe-clusters") as { Clusters: { ClusterId: string; State: string; Hsms: { HsmId: string }[] }[] };
  const shown = clusters.Clusters.find((c) => c.ClusterId === clusterId);
  assert.ok(shown, JSON.stringify(clusters));
  assert.equal(shown.State, "ACTIVE");
  assert.equal(shown.Hsms.length, 2);
  assert.match(shown.Hsms[0]!.HsmId, /^hsm-[2-7a-z]{11}$/);

  // The custom key store.
  const created = ok(
    "kms",
    "create-custom-key-store",
    "--custom-key-store-name",
    "cli-store",
    "--cloud-hsm-cluster-id",
    clusterId,
    "--trust-anchor-certificate",
    `file://${anchorFile}`,
    "--key-store-password",
    PIN,
  ) as { CustomKeyStoreId: string };
  const storeId = created.CustomKeyStoreId;
  assert.equal(state(storeId).ConnectionState, "DISCONNECTED");
  ok("kms", "connect-custom-key-store", "--custom-key-store-id", storeId);
  assert.equal((await waitConnected(storeId)).ConnectionState, "CONNECTED");

  const key = ok("kms", "create-key", "--origin", "AWS_CLOUDHSM", "--custom-key-store-id", storeId, "--description", "cli") as {
    KeyMetadata: { KeyId: string; Origin: string; CustomKeyStoreId: string; CloudHsmClusterId: string };
  };
  assert.equal(key.KeyMetadata.Origin, "AWS_CLOUDHSM");
  assert.equal(key.KeyMetadata.CloudHsmClusterId, clusterId);
  const keyId = key.KeyMetadata.KeyId;
  const plainFile = join(dir, "plain.txt");
  writeFileSync(plainFile, "sealed in the cluster\n");
  const enc = ok("kms", "encrypt", "--key-id", keyId, "--plaintext", `fileb://${plainFile}`, "--encryption-context", "app=cli") as {
    CiphertextBlob: string;
  };
  const blobFile = join(dir, "blob.bin");
  writeFileSync(blobFile, Buffer.from(enc.CiphertextBlob, "base64"));
  const decrypt = () => aws("kms", "decrypt", "--ciphertext-blob", `fileb://${blobFile}`, "--encryption-context", "app=cli");
  const opened = () => {
    const r = decrypt();
    assert.equal(r.status, 0, r.stderr);
    return Buffer.from((JSON.parse(r.stdout) as { Plaintext: string }).Plaintext, "base64").toString();
  };
  assert.equal(opened(), "sealed in the cluster\n");
  fails("InvalidCiphertextException", "kms", "decrypt", "--ciphertext-blob", `fileb://${blobFile}`, "--encryption-context", "app=other");

  // Disconnected: refused. Reconnected: works.
  ok("kms", "disconnect-custom-key-store", "--custom-key-store-id", storeId);
  fails("KMSInvalidStateException", "kms", "decrypt", "--ciphertext-blob", `fileb://${blobFile}`, "--encryption-context", "app=cli");
  fails("KMSInvalidStateException", "kms", "encrypt", "--key-id", keyId, "--plaintext", `fileb://${plainFile}`);
  ok("kms", "connect-custom-key-store", "--custom-key-store-id", storeId);
  assert.equal((await waitConnected(storeId)).ConnectionState, "CONNECTED");
  assert.equal(opened(), "sealed in the cluster\n");

  // One token removed: still works, and DescribeCustomKeyStores says the cluster runs on one.
  const away = tempDir("keyhold-token-away-");
  const bDir = tokenDirOf(hsm, "cli-b");
  await server.kill();
  renameSync(bDir, join(away, "b"));
  server = await spawnServer(dataDir, hsm.env);
  const degraded = await waitConnected(storeId);
  assert.equal(degraded.ConnectionState, "CONNECTED");
  assert.equal(degraded.ConnectionErrorCode, "INSUFFICIENT_CLOUDHSM_HSMS");
  assert.equal(opened(), "sealed in the cluster\n");
  await server.kill();
  renameSync(join(away, "b"), bDir);
  server = await spawnServer(dataDir, hsm.env);
  assert.equal(opened(), "sealed in the cluster\n");

  // Zeroize: refused without the typed confirmation, then done.
  const unconfirmed = keyhold("hsm", "zeroize", clusterId, "--pin-file", pins);
  assert.notEqual(unconfirmed.status, 0);
  assert.match(unconfirmed.stderr, /confirm/);
  const mistyped = keyhold("hsm", "zeroize", clusterId, "--pin-file", pins, "--confirm", "cluster-aaaaaaaaaaa");
  assert.notEqual(mistyped.status, 0);
  assert.equal(opened(), "sealed in the cluster\n", "nothing was destroyed by a refused zeroize");
  // Zeroized while the server runs: its very next use finds the keys gone.
  const zeroized = keyhold("hsm", "zeroize", clusterId, "--pin-file", pins, "--confirm", clusterId);
  assert.equal(zeroized.status, 0, zeroized.stderr);
  assert.match(zeroized.stdout, /zeroized/);
  fails("KMSInvalidStateException", "kms", "decrypt", "--ciphertext-blob", `fileb://${blobFile}`, "--encryption-context", "app=cli");
  await server.kill();
  server = await spawnServer(dataDir, hsm.env);
  const after = await waitConnected(storeId);
  assert.equal(after.ConnectionState, "FAILED", "the tokens no longer hold the cluster's wrapping key");
  const refused = decrypt();
  assert.notEqual(refused.status, 0);
  assert.ok(!refused.stdout.includes(Buffer.from("sealed in the cluster\n").toString("base64")));
  ok("kms", "disconnect-custom-key-store", "--custom-key-store-id", storeId);
  ok("kms", "connect-custom-key-store", "--custom-key-store-id", storeId);
  assert.equal((await waitConnected(storeId)).ConnectionState, "FAILED");
  fails("KMSInvalidStateException", "kms", "decrypt", "--ciphertext-blob", `fileb://${blobFile}`, "--encryption-context", "app=cli");
  // Byte for byte: no object in either token carries a keyhold label any more.
  for (const label of ["cli-a", "cli-b"]) {
    const objects = pkcs11Tool(hsm, ["--token-label", label, "--login", "--pin", PIN, "--list-objects"]);
    assert.equal(objects.status, 0, objects.out);
    assert.doesNotMatch(objects.out, /keyhold:/, `${label} still holds keyhold objects`);
    for (const f of readdirSync(tokenDirOf(hsm, label))) {
      assert.ok(!readFileSync(join(tokenDirOf(hsm, label), f)).includes(Buffer.from(`keyhold:kms:${keyId}`)), `${f} still names the key`);
    }
  }
  // And the zeroization is in the audit trail.
  const events = ok("cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ZeroizeCluster") as {
    Events: { CloudTrailEvent: string }[];
  };
  assert.equal(events.Events.length, 1);
  assert.match(events.Events[0]!.CloudTrailEvent, new RegExp(clusterId));
});
