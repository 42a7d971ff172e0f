/**
 * The root of trust in an HSM (issue 20 §1, §5), through keyhold server processes and the KMS SDK:
 * the root key sealed by a non-extractable key in a SoftHSM2 token, what pkcs11-tool sees of that
 * key, a copy of the data directory that decrypts nothing without the token, the refusals at
 * start (module, token, PIN) with nothing created, the PIN in no output, log, trail or argv, and
 * --workers and PostgreSQL nodes opening the same token.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { kmsClient, tempDir } from "./helpers.js";
import { spawnServer, type ServerProcess } from "./process.js";
import { hsmEnv, notAModule, pinFile, pkcs11Tool, requireSoftHsm, runKeyhold, type SoftHsm } from "./softhsm.js";
import { postgresMissing, startPostgres } from "./postgres.js";
import { Token } from "../src/hsm/token.js";
import { trustAnchor } from "./trust-anchor.js";
import { SoftwareKeyStore } from "../src/keystore/software.js";

const PIN_A = "pin-A-5821-secret";
const PIN_B = "pin-B-9034-secret";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

async function encryptSomething(kms: KMSClient): Promise<{ keyId: string; blob: Uint8Array }> {
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const blob = (
    await kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("made under the HSM root"), EncryptionContext: { app: "hsm" } }),
    )
  ).CiphertextBlob!;
  return { keyId, blob };
}

async function decrypts(kms: KMSClient, blob: Uint8Array): Promise<string> {
  const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { app: "hsm" } }));
  return Buffer.from(out.Plaintext!).toString();
}

/** pkcs11-tool's listing of the secret keys of `label`, logged in as the token user, split per object. */
function tokenKeys(hsm: SoftHsm, label: string, pin: string): string[] {
  const listed = pkcs11Tool(hsm, ["--token-label", label, "--login", "--pin", pin, "--list-objects", "--type", "secrkey"]);
  assert.equal(listed.status, 0, listed.out);
  return listed.out.split(/^(?=Secret Key Object)/m).filter((b) => b.startsWith("Secret Key Object"));
}

test("root of trust in an HSM", async (t) => {
  const hsm = requireSoftHsm(t);
  if (!hsm) return;
  hsm.token("kh-a", PIN_A);
  hsm.token("kh-b", PIN_B);
  const shown = spawnSync("softhsm2-util", ["--show-slots"], { env: { ...process.env, ...hsm.env }, encoding: "utf8" }).stdout;
  const freeSlot = Number(/Slot (\d+)\n(?:(?!Slot \d).*\n)*?\s+Initialized:\s+no/.exec(shown)![1]);
  const pinA = pinFile(PIN_A);
  const servers: ServerProcess[] = [];
  t.after(async () => {
    for (const s of servers) await s.kill();
  });
  const start = async (dataDir: string, env: Record<string, string>) => {
    const server = await spawnServer(dataDir, env);
    servers.push(server);
    return server;
  };

  const dataDir = join(tempDir(), "data");
  let blob: Uint8Array;

  await t.test("the root key is sealed by a non-extractable, sensitive AES-256 key the server makes in the token", async () => {
    const server = await start(dataDir, hsmEnv(hsm, "kh-a", pinA));
    const kms = kmsClient(server.url);
    ({ blob } = await encryptSomething(kms));
    assert.equal(await decrypts(kms, blob), "made under the HSM root");
    kms.destroy();
    // No key-encrypting secret outside the token: no master key file, and the seal names the token kind.
    assert.ok(!existsSync(join(dataDir, "master.key")));
    const keys = tokenKeys(hsm, "kh-a", PIN_A).filter((b) => /label:\s+keyhold-root-[0-9a-f]{32}\n/.test(b));
    assert.equal(keys.length, 1, "one root sealing key in the token");
    assert.match(keys[0]!, /AES length 32/);
    assert.match(keys[0]!, /Access:\s+sensitive, always sensitive, never extractable, local/);
    assert.doesNotMatch(keys[0]!, /VALUE:/);
    // pkcs11-tool, logged in as the token user, cannot wrap it out under a key of its own.
    const made = pkcs11Tool(hsm, [
      "--token-label",
      "kh-a",
      "--login",
      "--pin",
      PIN_A,
      "--keygen",
      "--key-type",
      "AES:32",
      "--label",
      "tool-wrap",
      "--id",
      "99",
      "--usage-wrap",
    ]);
    assert.equal(made.status, 0, made.out);
    const rootId = /ID:\s+([0-9a-f]+)/.exec(keys[0]!)![1]!;
    const out = join(tempDir(), "wrapped.bin");
    for (const mechanism of ["AES-KEY-WRAP", "0x210A"]) {
      const wrap = pkcs11Tool(hsm, [
        "--token-label",
        "kh-a",
        "--login",
        "--pin",
        PIN_A,
        "--wrap",
        "--mechanism",
        mechanism,
        "--id",
        "99",
        "--application-id",
        rootId,
        "--output-file",
        out,
      ]);
      assert.notEqual(wrap.status, 0, wrap.out);
      assert.match(wrap.out, /C_WrapKey failed: rv = CKR_KEY_UNEXTRACTABLE/);
      assert.ok(!existsSync(out) || statSync(out).size === 0);
    }
    // The same wrap of an extractable key of pkcs11-tool's own works: the refusal is the key's attributes.
    pkcs11Tool(hsm, [
      "--token-label",
      "kh-a",
      "--login",
      "--pin",
      PIN_A,
      "--keygen",
      "--key-type",
      "AES:32",
      "--label",
      "tool-movable",
      "--id",
      "98",
      "--extractable",
    ]);
    const control = pkcs11Tool(hsm, [
      "--token-label",
      "kh-a",
      "--login",
      "--pin",
      PIN_A,
      "--wrap",
      "--mechanism",
      "AES-KEY-WRAP",
      "--id",
      "99",
      "--application-id",
      "98",
      "--output-file",
      out,
    ]);
    assert.equal(control.status, 0, control.out);
    pkcs11Tool(hsm, ["--token-label", "kh-a", "--login", "--pin", PIN_A, "--delete-object", "--type", "secrkey", "--id", "98"]);
    pkcs11Tool(hsm, ["--token-label", "kh-a", "--login", "--pin", PIN_A, "--delete-object", "--type", "secrkey", "--id", "99"]);

    // A restart unseals through the token, and what was encrypted before decrypts.
    await server.kill();
    const again = await start(dataDir, hsmEnv(hsm, "kh-a", pinA));
    const kms2 = kmsClient(again.url);
    assert.equal(await decrypts(kms2, blob), "made under the HSM root");
    kms2.destroy();
    // The PIN is in no output, no file of the data directory (database, audit trail) and no argv.
    for (const text of [server.output(), again.output()]) assert.ok(!text.includes(PIN_A));
    for (const file of filesUnder(dataDir)) assert.ok(!readFileSync(file).includes(PIN_A), `PIN found in ${file}`);
    const argv = spawnSync("ps", ["-o", "args=", "-p", String(again.child.pid)], { encoding: "utf8" }).stdout;
    assert.match(argv, /server/);
    assert.ok(!argv.includes(PIN_A));
    await again.kill();
  });

  await t.test("a copy of the data directory without the token decrypts nothing", async () => {
    const copy = join(tempDir(), "copy");
    cpSync(dataDir, copy, { recursive: true });
    // No setting: the seal says it needs the HSM; no master key file is made.
    const plain = runKeyhold(["server", "--port", "0", "--data-dir", copy]);
    assert.equal(plain.status, 1, plain.out);
    assert.match(plain.out, /^keyhold: the root key was sealed with a key in an HSM/m);
    assert.ok(!existsSync(join(copy, "master.key")));
    // A passphrase or any master key file: refused the same way.
    const keyFile = join(tempDir(), "guess.key");
    writeFileSync(keyFile, Buffer.alloc(32, 1).toString("base64"));
    for (const env of [{ KEYHOLD_MASTER_PASSPHRASE: "guess" }, { KEYHOLD_MASTER_KEY_FILE: keyFile }] as Record<string, string>[]) {
      const r = runKeyhold(["server", "--port", "0", "--data-dir", copy], env);
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /sealed with a key in an HSM/);
    }
    // Another token with the same label and PIN (an attacker's SoftHSM): it holds no such key.
    const other = tempDir("keyhold-softhsm-other-");
    mkdirSync(join(other, "tokens"));
    const conf = join(other, "softhsm2.conf");
    writeFileSync(conf, `directories.tokendir = ${join(other, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const init = spawnSync("softhsm2-util", ["--init-token", "--free", "--label", "kh-a", "--so-pin", "so-1234", "--pin", PIN_A], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      encoding: "utf8",
    });
    assert.equal(init.status, 0, init.stderr);
    const stolen = runKeyhold(["server", "--port", "0", "--data-dir", copy], { ...hsmEnv(hsm, "kh-a", pinA), SOFTHSM2_CONF: conf });
    assert.equal(stolen.status, 1, stolen.out);
    assert.match(stolen.out, /^keyhold: token "kh-a" holds no key keyhold-root-[0-9a-f]{32}/m);
    // Nothing in the copy is a key that opens the seal: no file holds 32 bytes of base64 or raw key.
    for (const file of filesUnder(copy)) {
      const body = readFileSync(file);
      assert.ok(body.length !== 32 && !/^[A-Za-z0-9+/]{43}=\s*$/.test(body.toString("latin1")), `${file} looks like a key`);
    }
    // With the token, the copy opens: it was the token, and only the token, that was missing.
    const back = await start(copy, hsmEnv(hsm, "kh-a", pinA));
    const kms = kmsClient(back.url);
    assert.equal(await decrypts(kms, blob), "made under the HSM root");
    kms.destroy();
    await back.kill();
  });

  await t.test("a module that does not load, a token missing or not initialized, a wrong PIN: one line, nothing created", async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { ...hsmEnv(hsm, "kh-a", pinA), KEYHOLD_HSM_MODULE: "/nonexistent/libp11.so" },
        /cannot load the PKCS#11 module \/nonexistent\/libp11\.so/,
      ],
      [{ ...hsmEnv(hsm, "kh-a", pinA), KEYHOLD_HSM_MODULE: notAModule() }, /MODULE_NOT_LOADED/],
      [hsmEnv(hsm, "no-such-token", pinA), /token "no-such-token" of PKCS#11 module .* not found .*TOKEN_NOT_FOUND/],
      [
        { ...hsm.env, KEYHOLD_HSM_MODULE: hsm.module, KEYHOLD_HSM_SLOT: String(freeSlot), KEYHOLD_HSM_PIN_FILE: pinA },
        /slot \d+ of PKCS#11 module .* is not initialized .*TOKEN_NOT_INITIALIZED/,
      ],
      [hsmEnv(hsm, "kh-b", pinA), /token "kh-b" refused the PIN .*INVALID_CREDENTIALS/],
      [{ ...hsm.env, KEYHOLD_HSM_MODULE: hsm.module, KEYHOLD_HSM_TOKEN_LABEL: "kh-b", KEYHOLD_HSM_PIN: PIN_A }, /refused the PIN/],
      [hsmEnv(hsm, "kh-a", join(tempDir(), "no-pin-file")), /cannot read the HSM PIN file .*no-pin-file: ENOENT/],
    ];
    const before = tokenKeys(hsm, "kh-b", PIN_B).length;
    for (const [env, message] of cases) {
      const fresh = join(tempDir(), "never-made");
      const r = runKeyhold(["server", "--port", "0", "--data-dir", fresh], env);
      assert.equal(r.status, 1, r.out);
      const lines = r.out.trim().split("\n");
      assert.equal(lines.length, 1, r.out);
      assert.match(lines[0]!, /^keyhold: HSM: |^keyhold: cannot read/);
      assert.match(lines[0]!, message);
      assert.ok(!r.out.includes(PIN_A) && !r.out.includes(PIN_B), "the PIN is not in the message");
      assert.ok(!existsSync(fresh), "no data directory was made");
    }
    assert.equal(tokenKeys(hsm, "kh-b", PIN_B).length, before, "no key was made in the token");
    // A PIN on the command line is refused before anything is read, and not echoed.
    const argv = runKeyhold(["server", "--port", "0", "--data-dir", join(tempDir(), "x"), "--hsm-pin", PIN_A], hsmEnv(hsm, "kh-a", pinA));
    assert.equal(argv.status, 1);
    assert.match(argv.out, /--hsm-pin is not taken on the command line, where ps shows it/);
    assert.ok(!argv.out.includes(PIN_A));
  });

  await t.test("--workers 2: each worker opens the token and unseals the same root key", async () => {
    const dir = join(tempDir(), "workers");
    const server = await start(dir, { ...hsmEnv(hsm, "kh-b", pinFile(PIN_B)), KEYHOLD_WORKERS: "2" });
    const kms = kmsClient(server.url);
    const made = await encryptSomething(kms);
    // Many calls: both workers answer (each unsealed the root key through the token), none fails.
    for (let i = 0; i < 20; i++) assert.equal(await decrypts(kms, made.blob), "made under the HSM root");
    kms.destroy();
    assert.equal(
      tokenKeys(hsm, "kh-b", PIN_B).filter((b) => /keyhold-root-/.test(b)).length,
      1,
      "one sealing key, made once by the primary",
    );
    assert.ok(!server.output().includes(PIN_B));
    await server.kill();
  });

  await t.test("two nodes on PostgreSQL open the same token and share the root key", async (t2) => {
    const missing = postgresMissing();
    if (missing) {
      if (process.env.KEYHOLD_TEST_REQUIRE_ALL === "1") throw new Error(missing);
      t2.skip(missing);
      return;
    }
    const pg = await startPostgres();
    try {
      const env = { ...hsmEnv(hsm, "kh-b", pinFile(PIN_B)), KEYHOLD_DATABASE_URL: pg.url };
      // One after the other: SoftHSM2 (not PKCS#11) may miss an object another process makes while
      // it makes one itself, so the seal race of two first starts is shown in process below.
      const one = await start(join(tempDir(), "n1"), env);
      const two = await start(join(tempDir(), "n2"), env);
      const a = kmsClient(one.url);
      const b = kmsClient(two.url);
      const made = await encryptSomething(a);
      assert.equal(await decrypts(b, made.blob), "made under the HSM root");
      a.destroy();
      b.destroy();
      const roots = tokenKeys(hsm, "kh-b", PIN_B).filter((b2) => /keyhold-root-/.test(b2));
      assert.equal(roots.length, 2, "the --workers installation's key and this database's");
      await one.kill();
      await two.kill();
    } finally {
      pg.stop();
    }
  });
});

test("two first starts on one new database: one seal wins, the loser's token key is destroyed", async (t) => {
  const hsm = requireSoftHsm(t);
  if (!hsm) return;
  hsm.token("kh-race", PIN_A);
  const token = await Token.open({ module: hsm.module, tokenLabel: "kh-race" }, PIN_A);
  t.after(() => token.close());
  // A seal storage where another node's seal lands just before ours.
  let stored: Buffer | undefined;
  let rival: Buffer | undefined;
  const storage = {
    readSeal: async () => stored,
    writeSeal: async (sealed: Buffer) => {
      if (rival) {
        stored = rival;
        return false;
      }
      stored = sealed;
      return true;
    },
    replaceSeal: async () => false,
  };
  const first = await SoftwareKeyStore.open(storage, { kind: "pkcs11", token });
  const wrapped = first.wrap(Buffer.from("material"), "ctx");
  rival = stored;
  stored = undefined;
  const second = await SoftwareKeyStore.open(storage, { kind: "pkcs11", token });
  assert.equal(second.unwrap(wrapped, "ctx").toString(), "material", "the loser opened the winner's seal");
  const roots = tokenKeys(hsm, "kh-race", PIN_A).filter((b) => /keyhold-root-/.test(b));
  assert.equal(roots.length, 1, "the losing seal's token key was destroyed");
});

test("zeroizing a cluster whose token holds the root of trust shreds the installation, and a start says so", async (t) => {
  const hsm = requireSoftHsm(t);
  if (!hsm) return;
  const anchor = trustAnchor(t);
  if (!anchor) return;
  hsm.token("kh-z", PIN_A);
  const pin = pinFile(PIN_A);
  const env = hsmEnv(hsm, "kh-z", pin);
  const dataDir = join(tempDir(), "data");
  const server = await spawnServer(dataDir, env);
  const kms = kmsClient(server.url);
  const { blob } = await encryptSomething(kms);
  assert.equal(await decrypts(kms, blob), "made under the HSM root");
  kms.destroy();
  await server.kill();
  assert.equal(tokenKeys(hsm, "kh-z", PIN_A).filter((b) => /keyhold-root-/.test(b)).length, 1);

  const anchorFile = join(tempDir(), "anchor.pem");
  writeFileSync(anchorFile, anchor);
  const made = runKeyhold(
    [
      "hsm",
      "cluster",
      "create",
      "--module",
      hsm.module,
      "--token-label",
      "kh-z",
      "--pin-file",
      pin,
      "--trust-anchor",
      anchorFile,
      "--data-dir",
      dataDir,
    ],
    env,
  );
  assert.equal(made.status, 0, made.out);
  const clusterId = /cluster-[2-7a-z]{11}/.exec(made.out)![0];
  const zeroized = runKeyhold(["hsm", "zeroize", clusterId, "--pin-file", pin, "--confirm", clusterId, "--data-dir", dataDir], env);
  assert.equal(zeroized.status, 0, zeroized.out);
  assert.match(zeroized.out, /root of trust was in this cluster .* cryptographically shredded/);
  assert.equal(tokenKeys(hsm, "kh-z", PIN_A).filter((b) => /keyhold-root-/.test(b)).length, 0, "the root key is gone from the token");

  const again = runKeyhold(["server", "--port", "0", "--data-dir", dataDir], env);
  assert.notEqual(again.status, 0, again.out);
  assert.match(again.out, /cryptographically shredded/);
  assert.ok(!again.out.includes(PIN_A));
});
