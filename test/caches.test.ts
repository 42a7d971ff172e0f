import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from "@aws-sdk/client-kms";
import { Lru } from "../src/lru.js";
import { CachedRepository } from "../src/store/cached.js";
import type { Repository } from "../src/store/repository.js";
import type { KeyRecord } from "../src/store/records.js";
import { loadConfig } from "../src/config.js";
import { startTestServer } from "./helpers.js";

describe("the cache every cache is made of (CLOCK)", () => {
  it("ages out the oldest entry not read since the hand passed it; a read gives an entry a second chance", () => {
    const dropped: string[] = [];
    const lru = new Lru<string, number>(3, (v, k) => dropped.push(`${k}=${v}`));
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    assert.equal(lru.get("a"), 1); // a is marked: passed over once, so b is the one aged out
    lru.set("d", 4);
    assert.deepEqual(dropped, ["b=2"]);
    assert.deepEqual([...lru.keys()], ["c", "d", "a"]); // a, passed over, went behind d
    lru.set("e", 5);
    assert.deepEqual(dropped, ["b=2", "c=3"]);
    assert.equal(lru.size, 3);
    assert.equal(lru.get("b"), undefined);
    assert.deepEqual(lru.stats(), { capacity: 3, size: 3, hits: 1, misses: 1, evictions: 2 });
  });

  it("hands every value it lets go of to onDrop: replaced, deleted, deleted by a test, cleared", () => {
    const dropped: number[] = [];
    const lru = new Lru<string, number>(10, (v) => dropped.push(v));
    lru.set("a", 1);
    lru.set("a", 2); // replaced
    lru.set("a", 2); // the same value again: nothing dropped
    assert.deepEqual(dropped, [1]);
    assert.equal(lru.delete("a"), true);
    assert.equal(lru.delete("a"), false);
    assert.deepEqual(dropped, [1, 2]);
    for (const [k, v] of [
      ["k1/1", 3],
      ["k1/2", 4],
      ["k2/1", 5],
      ["k3/1", 6],
    ] as const)
      lru.set(k, v);
    lru.deleteWhere((k) => k.startsWith("k1/"));
    assert.deepEqual(dropped, [1, 2, 3, 4]);
    assert.deepEqual([...lru.keys()], ["k2/1", "k3/1"]);
    lru.clear();
    assert.deepEqual(dropped, [1, 2, 3, 4, 5, 6]);
    assert.equal(lru.size, 0);
    // Deletions are not evictions: only aging out to make room counts.
    assert.equal(lru.stats().evictions, 0);
  });

  it("matches a plain list CLOCK over 20,000 random sets, gets, deletes and clears", () => {
    const lru = new Lru<number, number>(50);
    let model: { key: number; used: boolean }[] = []; // the hand is always at the front
    const find = (key: number) => model.find((e) => e.key === key);
    let seed = 7;
    const random = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    let evicted = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = random(120);
      const op = random(100);
      if (op < 50) {
        lru.set(key, i + 1);
        const entry = find(key);
        if (entry) entry.used = true;
        else model.push({ key, used: false });
        while (model.length > 50) {
          const oldest = model.shift()!;
          if (!oldest.used) {
            evicted++;
            continue;
          }
          oldest.used = false;
          model.push(oldest);
        }
      } else if (op < 90) {
        const hit = lru.get(key) !== undefined;
        assert.equal(hit, find(key) !== undefined);
        if (hit) find(key)!.used = true;
      } else if (op < 99) {
        lru.delete(key);
        model = model.filter((e) => e.key !== key);
      } else {
        lru.clear();
        model = [];
      }
      assert.deepEqual(
        [...lru.keys()],
        model.map((e) => e.key),
      );
    }
    assert.equal(lru.stats().evictions, evicted);
    assert.ok(evicted > 1000, `the run aged out ${evicted} entries`);
  });

  it("a hot entry read between misses stays while cold ones stream through", () => {
    const lru = new Lru<string, number>(4);
    lru.set("hot", 0);
    for (let i = 0; i < 100; i++) {
      assert.equal(lru.get("hot"), 0, `round ${i}`);
      lru.set(`cold-${i}`, i);
    }
    assert.equal(lru.stats().hits, 100);
  });

  it("refuses a size below one, and evictOldest ages out one entry at a time", () => {
    assert.throws(() => new Lru(0), RangeError);
    assert.throws(() => new Lru(1.5), RangeError);
    const lru = new Lru<number, number>(5);
    for (let i = 0; i < 5; i++) lru.set(i, i);
    assert.equal(lru.evictOldest(), true);
    assert.deepEqual([...lru.keys()], [1, 2, 3, 4]);
    lru.clear();
    assert.equal(lru.evictOldest(), false);
  });
});

/** A repository that has every key asked for, counting the reads that reach it. */
function countingRepository(): { repo: Repository; reads: () => number } {
  let reads = 0;
  const inner = {
    kind: "counting",
    changeToken: () => 0,
    getKey: async (keyId: string) => {
      reads++;
      return { keyId, accountId: "000000000000", region: "us-east-1" } as unknown as KeyRecord;
    },
  };
  return { repo: inner as unknown as Repository, reads: () => reads };
}

describe("caches past their size keep their hot entries", () => {
  it("the record cache: a hot set smaller than the cache stays while ten times the cache's size of cold keys streams through", async () => {
    const { repo, reads } = countingRepository();
    const cached = new CachedRepository(repo, 100);
    const hot = Array.from({ length: 20 }, (_, i) => `hot-${i}`);
    const cold = Array.from({ length: 1000 }, (_, i) => `cold-${i}`);
    for (const [i, keyId] of cold.entries()) {
      await cached.getKey(keyId);
      await cached.getKey(hot[i % hot.length]!);
    }
    // Each cold key once, each hot key once (its first read): a cache that empties itself when
    // full would have dropped the hot keys ten times over.
    assert.equal(reads(), cold.length + hot.length);
    const stats = cached.cacheStats().keys;
    assert.deepEqual(
      [stats.hits, stats.misses, stats.size, stats.capacity],
      [cold.length - hot.length, cold.length + hot.length, 100, 100],
    );
    assert.equal(stats.evictions, cold.length + hot.length - 100);
  });

  it("the key-material cache (KEYHOLD_KEY_CACHE_SIZE): hot keys stay unwrapped while more cold keys than it holds are used", async () => {
    const server = await startTestServer({ config: { keyCacheSize: 6 } });
    try {
      const kms = server.client();
      const create = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const hot = [await create(), await create()];
      const cold: string[] = [];
      for (let i = 0; i < 20; i++) cold.push(await create());
      const plaintext = Buffer.from("hot coal");
      const blobs: Uint8Array[] = [];
      for (const keyId of hot) blobs.push((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!);
      const before = server.keyhold.kms.materialCacheStats();
      for (const keyId of cold) {
        await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
        for (const keyId of hot) await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      }
      const after = server.keyhold.kms.materialCacheStats();
      // Every cold key misses once; the hot keys never miss again.
      assert.equal(after.misses - before.misses, cold.length);
      assert.equal(after.hits - before.hits, cold.length * hot.length);
      assert.equal(after.size, 6);
      assert.equal(after.evictions - before.evictions, cold.length - (6 - hot.length));
      // What aged out is unwrapped again when needed: old ciphertexts still decrypt.
      for (const blob of blobs) {
        assert.deepEqual(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!), plaintext);
      }
    } finally {
      await server.stop();
    }
  });

  it("a key-material hit reads no version record until a change to the cached records (here or in another process) makes it read it again", async () => {
    const server = await startTestServer();
    try {
      const kms = server.client();
      const repo = server.keyhold.repo as CachedRepository;
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const plaintext = Buffer.from("hot coal");
      const encrypt = async () => (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!;
      const blobs = [await encrypt()];
      const reads = () => {
        const v = repo.cacheStats().versions;
        return v.hits + v.misses;
      };
      const versionsBefore = reads();
      const materialBefore = server.keyhold.kms.materialCacheStats();
      for (let i = 0; i < 5; i++) blobs.push(await encrypt());
      assert.equal(reads(), versionsBefore, "hits of the material cache read no version record");
      // What another process's change does (seen through the change token): every cached record dropped.
      repo.invalidateAll();
      blobs.push(await encrypt());
      assert.equal(reads(), versionsBefore + 1, "after the records changed, the version is read once again");
      blobs.push(await encrypt());
      assert.equal(reads(), versionsBefore + 1);
      const materialAfter = server.keyhold.kms.materialCacheStats();
      assert.equal(materialAfter.misses, materialBefore.misses, "the same material is not unwrapped again");
      assert.equal(materialAfter.hits - materialBefore.hits, 7);
      for (const blob of blobs) {
        assert.deepEqual(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!), plaintext);
      }
    } finally {
      await server.stop();
    }
  });

  it("sizes are settings: KEYHOLD_KEY_CACHE_SIZE and KEYHOLD_RECORD_CACHE_SIZE, with flags and bounds", () => {
    const defaults = loadConfig({}, []);
    assert.deepEqual([defaults.keyCacheSize, defaults.recordCacheSize], [100_000, 100_000]);
    const c = loadConfig({ KEYHOLD_KEY_CACHE_SIZE: "200000" }, ["--record-cache-size=1000000"]);
    assert.deepEqual([c.keyCacheSize, c.recordCacheSize], [200_000, 1_000_000]);
    assert.throws(() => loadConfig({ KEYHOLD_KEY_CACHE_SIZE: "0" }, []), /key cache size must be an integer/);
    assert.throws(() => loadConfig({ KEYHOLD_RECORD_CACHE_SIZE: "lots" }, []), /record cache size must be an integer/);
  });
});
