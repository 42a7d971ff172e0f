import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { KeyStoreError, SoftwareKeyStore } from "../src/keystore/software.js";
import type { SealStorage } from "../src/keystore/keystore.js";
import { tempDir } from "./helpers.js";

function memorySeal(): SealStorage & { sealed?: Buffer } {
  const store: SealStorage & { sealed?: Buffer } = {
    readSeal: async () => store.sealed,
    writeSeal: async (b) => {
      if (store.sealed) return false;
      store.sealed = Buffer.from(b);
      return true;
    },
    replaceSeal: async (current, next) => {
      if (!store.sealed?.equals(current)) return false;
      store.sealed = Buffer.from(next);
      return true;
    },
  };
  return store;
}

describe("software key store", () => {
  it("creates a 0600 master key file, seals a root key, and reopens it to unwrap what it wrapped", async () => {
    const dir = tempDir();
    const path = join(dir, "master.key");
    const seal = memorySeal();
    const first = await SoftwareKeyStore.open(seal, { kind: "file", path });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const material = randomBytes(32);
    const wrapped = first.wrap(material, "key-1:1");
    assert.ok(!wrapped.includes(material), "wrapped material does not contain the material");
    const second = await SoftwareKeyStore.open(seal, { kind: "file", path });
    assert.deepEqual(second.unwrap(wrapped, "key-1:1"), material);
    assert.throws(() => second.unwrap(wrapped, "key-1:2"), KeyStoreError, "material is bound to its context");
  });

  it("refuses to start with another master key, a tampered seal or the other kind of KEK", async () => {
    const dir = tempDir();
    const path = join(dir, "master.key");
    const seal = memorySeal();
    await SoftwareKeyStore.open(seal, { kind: "file", path });
    const other = join(dir, "other.key");
    writeFileSync(other, randomBytes(32).toString("base64"));
    await assert.rejects(() => SoftwareKeyStore.open(seal, { kind: "file", path: other }), /does not unseal/);
    await assert.rejects(() => SoftwareKeyStore.open(seal, { kind: "passphrase", passphrase: "x" }), /master key file/);
    const bad = join(dir, "short.key");
    writeFileSync(bad, "c2hvcnQ=");
    await assert.rejects(() => SoftwareKeyStore.open(memorySeal(), { kind: "file", path: bad }), /32 bytes/);
    const tampered = memorySeal();
    tampered.sealed = Buffer.from(seal.sealed!);
    tampered.sealed[tampered.sealed.length - 1]! ^= 1;
    await assert.rejects(() => SoftwareKeyStore.open(tampered, { kind: "file", path }), /does not unseal/);
  });

  it("derives the KEK from a passphrase with scrypt; a wrong passphrase does not unseal", async () => {
    const seal = memorySeal();
    const store = await SoftwareKeyStore.open(seal, { kind: "passphrase", passphrase: "correct horse battery staple" });
    const wrapped = store.wrap(Buffer.from("secret"), "ctx");
    const again = await SoftwareKeyStore.open(seal, { kind: "passphrase", passphrase: "correct horse battery staple" });
    assert.equal(again.unwrap(wrapped, "ctx").toString(), "secret");
    await assert.rejects(() => SoftwareKeyStore.open(seal, { kind: "passphrase", passphrase: "wrong" }), /does not unseal/);
  });
});
