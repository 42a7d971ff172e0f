/**
 * src/hsm/token.ts against a real PKCS#11 module (SoftHSM2), with pkcs11-tool as an independent
 * client: what the layer refuses (no module, no token, an uninitialized token, a wrong PIN), the
 * attributes of the keys it makes, GCM and key wrap inside the token, and that token calls leave
 * the event loop free.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Token, TokenError, type TokenErrorCode } from "../src/hsm/token.js";
import { notAModule, pkcs11Tool, requireSoftHsm, type SoftHsm } from "./softhsm.js";

const PIN = "user-pin-4711";

async function refused(p: Promise<unknown>, code: TokenErrorCode): Promise<TokenError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof TokenError, `expected a TokenError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

/** Tokens are made before this process first opens the module (SoftHSM2 lists tokens at C_Initialize). */
function setUp(t: import("node:test").TestContext): { hsm: SoftHsm; freeSlot: number } | undefined {
  const hsm = requireSoftHsm(t);
  if (!hsm) return undefined;
  hsm.token("tok-main", PIN);
  hsm.token("tok-other", "other-pin-0000");
  // The slot SoftHSM2 keeps free for the next token: present, not initialized.
  const shown = spawnSync("softhsm2-util", ["--show-slots"], { env: { ...process.env, SOFTHSM2_CONF: hsm.conf }, encoding: "utf8" }).stdout;
  const free = /Slot (\d+)\n(?:(?!Slot \d).*\n)*?\s+Initialized:\s+no/.exec(shown);
  assert.ok(free, shown);
  return { hsm, freeSlot: Number(free[1]) };
}

test("the PKCS#11 layer against SoftHSM2", async (t) => {
  const setup = setUp(t);
  if (!setup) return;
  const { hsm, freeSlot } = setup;
  const spec = { module: hsm.module, tokenLabel: "tok-main" };

  await t.test("refusals at open: one code, one line, never the PIN", async () => {
    const noModule = await refused(Token.open({ module: "/nonexistent/libpkcs11.so", tokenLabel: "x" }, PIN), "MODULE_NOT_LOADED");
    assert.match(noModule.message, /cannot load the PKCS#11 module \/nonexistent\/libpkcs11\.so/);
    // A library that is not a PKCS#11 module at all.
    await refused(Token.open({ module: notAModule(), tokenLabel: "x" }, PIN), "MODULE_NOT_LOADED");
    const missing = await refused(Token.open({ module: hsm.module, tokenLabel: "no-such-token" }, PIN), "TOKEN_NOT_FOUND");
    assert.match(missing.message, /"tok-main"/, "names the tokens the module shows");
    await refused(Token.open({ module: hsm.module, slot: freeSlot }, PIN), "TOKEN_NOT_INITIALIZED");
    await refused(Token.open({ module: hsm.module }, PIN), "TOKEN_NOT_FOUND");
    const secret = "wrong-pin-SECRET-9137";
    const wrong = await refused(Token.open(spec, secret), "INVALID_CREDENTIALS");
    assert.ok(!wrong.message.includes(secret) && !String(wrong.stack).includes(secret));
    assert.ok(!wrong.message.includes("\n"));
  });

  const token = await Token.open(spec, PIN);
  t.after(() => token.close());

  await t.test("a second open of the same token with another PIN is refused, not carried by the first login", async () => {
    await refused(Token.open(spec, "not-the-pin"), "INVALID_CREDENTIALS");
    const again = await Token.open({ module: hsm.module, slot: (await slotOf(hsm, "tok-main"))! }, PIN);
    await again.close();
    // Another token of the same module logs in with its own PIN.
    const other = await Token.open({ module: hsm.module, tokenLabel: "tok-other" }, "other-pin-0000");
    await other.close();
  });

  await t.test("generated keys: AES-256 in the token, sensitive, never extractable (pkcs11-tool)", async () => {
    const key = await token.generateAesKey("keyhold-test-a", Buffer.from("a1", "hex"));
    assert.equal(key.label, "keyhold-test-a");
    const listed = objectListing(hsm, "keyhold-test-a");
    assert.match(listed, /AES length 32/);
    assert.match(listed, /Access:\s+sensitive, always sensitive, never extractable/);
    assert.doesNotMatch(listed, /VALUE:/, "pkcs11-tool cannot read the value");
    // Without the PIN the key is not even visible (CKA_PRIVATE).
    const anonymous = pkcs11Tool(hsm, ["--token-label", "tok-main", "--list-objects", "--type", "secrkey"]);
    assert.doesNotMatch(anonymous.out, /keyhold-test-a/);
    const found = await token.findKey("keyhold-test-a");
    assert.ok(found && found.id.equals(Buffer.from("a1", "hex")));
    assert.equal(await token.findKey("keyhold-test-none"), undefined);
  });

  await t.test("AES-GCM in the token: iv | ct | tag, bound to the AAD; anything altered fails alike", async () => {
    const key = (await token.findKey("keyhold-test-a"))!;
    const plaintext = Buffer.from("root key material, 32 bytes long");
    const sealed = await token.encrypt(key, plaintext, Buffer.from("aad-1"));
    assert.equal(sealed.length, 12 + plaintext.length + 16);
    assert.deepEqual(await token.decrypt(key, sealed, Buffer.from("aad-1")), plaintext);
    const again = await token.encrypt(key, plaintext, Buffer.from("aad-1"));
    assert.ok(!again.subarray(0, 12).equals(sealed.subarray(0, 12)), "a fresh IV each time");
    await refused(token.decrypt(key, sealed, Buffer.from("aad-2")), "DECRYPTION_FAILED");
    for (const i of [0, 12, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1;
      await refused(token.decrypt(key, bad, Buffer.from("aad-1")), "DECRYPTION_FAILED");
    }
    for (let n = 0; n < sealed.length; n += 7)
      await refused(token.decrypt(key, sealed.subarray(0, n), Buffer.from("aad-1")), "DECRYPTION_FAILED");
    const other = await token.generateAesKey("keyhold-test-b", Buffer.from("b1", "hex"));
    await refused(token.decrypt(other, sealed, Buffer.from("aad-1")), "DECRYPTION_FAILED");
    // The session that carried a failed operation is usable again.
    assert.deepEqual(await token.decrypt(key, sealed, Buffer.from("aad-1")), plaintext);
  });

  await t.test("wrap with padding and unwrap into a non-extractable key; a non-extractable key does not wrap", async () => {
    const wrapping = (await token.findKey("keyhold-test-b"))!;
    const movable = await token.generateAesKey("keyhold-test-movable", Buffer.from("c1", "hex"), { extractable: true });
    const sealed = await token.encrypt(movable, Buffer.from("hello"), Buffer.alloc(0));
    const wrapped = await token.wrap(wrapping, movable);
    assert.equal(wrapped.length, 40, "RFC 5649 wrap of a 32-byte key");
    const copy = await token.unwrap(wrapping, wrapped, "keyhold-test-copy", Buffer.from("c2", "hex"));
    assert.deepEqual(await token.decrypt(copy, sealed, Buffer.alloc(0)), Buffer.from("hello"));
    // An unwrapped key is sensitive and not extractable (never-extractable it cannot be: it came in wrapped).
    const copied = objectListing(hsm, "keyhold-test-copy");
    assert.match(copied, /Access:\s+sensitive\n/);
    assert.doesNotMatch(copied, /VALUE:/);
    const tampered = Buffer.from(wrapped);
    tampered[5]! ^= 1;
    await refused(token.unwrap(wrapping, tampered, "keyhold-test-bad", Buffer.from("c3", "hex")), "DECRYPTION_FAILED");
    assert.equal(await token.findKey("keyhold-test-bad"), undefined, "nothing half-made");
    // The copy cannot be wrapped out; nor can the original once made non-extractable.
    await refused(token.wrap(wrapping, copy), "DEVICE_ERROR");
    await token.setNotExtractable(movable);
    await refused(token.wrap(wrapping, movable), "DEVICE_ERROR");
  });

  await t.test("destroy and destroyByLabelPrefix remove keys; a destroyed key is KEY_NOT_FOUND", async () => {
    const copy = (await token.findKey("keyhold-test-copy"))!;
    await token.destroy(copy);
    assert.equal(await token.findKey("keyhold-test-copy"), undefined);
    await refused(token.encrypt(copy, Buffer.from("x"), Buffer.alloc(0)), "KEY_NOT_FOUND");
    const keep = await token.generateAesKey("other-prefix-keep", Buffer.from("d1", "hex"));
    assert.equal(await token.destroyByLabelPrefix("keyhold-test-"), 3);
    assert.equal(await token.findKey("keyhold-test-a"), undefined);
    assert.ok(await token.findKey("other-prefix-keep"));
    await token.destroy(keep);
    await assert.rejects(token.destroyByLabelPrefix(""), TokenError);
  });

  await t.test("random bytes from the token, bounded", async () => {
    const a = await token.random(32);
    const b = await token.random(32);
    assert.equal(a.length, 32);
    assert.ok(!a.equals(b));
    await assert.rejects(token.random(0), TokenError);
    await assert.rejects(token.random(1 << 20), TokenError);
  });

  await t.test("token calls run off the event loop: it keeps turning while 400 encryptions run on 8 callers", async () => {
    const key = await token.generateAesKey("keyhold-test-loop", Buffer.from("e1", "hex"));
    const data = Buffer.alloc(4096, 7);
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    setImmediate(spin);
    let done = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 50; i++) {
          const sealed = await token.encrypt(key, data, Buffer.from("loop"));
          assert.deepEqual(await token.decrypt(key, sealed, Buffer.from("loop")), data);
          done++;
        }
      }),
    );
    running = false;
    histogram.disable();
    assert.equal(done, 400);
    // Synchronous PKCS#11 calls would resolve these promises through microtasks only, and the
    // setImmediate loop would not turn until all 800 calls were done. Each async call returns to
    // the event loop, so it turns at least once per call on some caller.
    assert.ok(turns >= 100, `event loop turned ${turns} times during 800 token calls`);
    t.diagnostic(
      `event-loop delay during 800 token calls: p50 ${(histogram.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(2)} ms, max ${(histogram.max / 1e6).toFixed(2)} ms; ${turns} turns`,
    );
    await token.destroy(key);
  });

  await t.test("close waits for operations in flight; a closed token refuses", async () => {
    const other = await Token.open(spec, PIN);
    const key = await other.generateAesKey("keyhold-test-close", Buffer.from("f1", "hex"));
    const inFlight = other.encrypt(key, Buffer.alloc(1024), Buffer.alloc(0));
    const closing = other.close();
    assert.equal((await inFlight).length, 1024 + 28);
    await closing;
    await refused(other.random(8), "DEVICE_ERROR");
    // The first token still works: closing one Token does not log out or finalize under another.
    assert.equal((await token.random(8)).length, 8);
    await token.destroy((await token.findKey("keyhold-test-close"))!);
  });
});

async function slotOf(hsm: SoftHsm, label: string): Promise<number | undefined> {
  const shown = spawnSync("softhsm2-util", ["--show-slots"], { env: { ...process.env, SOFTHSM2_CONF: hsm.conf }, encoding: "utf8" }).stdout;
  const blocks = shown.split(/^Slot /m).slice(1);
  for (const block of blocks) if (new RegExp(`Label:\\s+${label}\\s`).test(block)) return Number(/^(\d+)/.exec(block)![1]);
  return undefined;
}

/** pkcs11-tool's listing of the one secret key with this label, logged in as the token user. */
function objectListing(hsm: SoftHsm, label: string): string {
  const listed = pkcs11Tool(hsm, ["--token-label", "tok-main", "--login", "--pin", PIN, "--list-objects", "--type", "secrkey"]);
  assert.equal(listed.status, 0, listed.out);
  const block = listed.out.split(/^(?=Secret Key Object)/m).find((b) => new RegExp(`label:\\s+${label}\\n`).test(b));
  assert.ok(block, `pkcs11-tool lists no key ${label}:\n${listed.out}`);
  return block;
}
