import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from "@aws-sdk/client-kms";
import { createSecretKey, randomBytes } from "node:crypto";
import { Lru } from "../src/lru.js";
import { MaterialCache } from "../src/kms/material-cache.js";
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

describe("the key-material cache's slots (src/kms/material-cache.ts)", () => {
  const lent = (cache: MaterialCache, keyId: string, version: number) => {
    const slot = cache.peek(keyId, version);
    return slot < 0 ? undefined : Buffer.from(cache.lend(slot) as Buffer);
  };

  it("zeroes a version's raw material when it ages out, is replaced, forgotten or cleared", () => {
    const cache = new MaterialCache(3);
    const material = (n: number) => Buffer.alloc(32, n);
    // Views lent while each version was cached (which callers must not keep: here, to look at the slab).
    const views = new Map<string, Buffer>();
    const put = (keyId: string, version: number, n: number) => {
      const slot = cache.put(keyId, version, `m-${keyId}-${version}`, 0, material(n));
      views.set(`${keyId}/${version}`, cache.lend(slot) as Buffer);
    };
    put("a", 1, 1);
    put("b", 1, 2);
    put("c", 1, 3);
    assert.deepEqual(lent(cache, "a", 1), material(1));
    assert.ok(cache.find("a", 1) >= 0, "a is read: it gets a second chance");
    put("d", 1, 4); // full: the hand passes a (used, spared) and ages out b
    assert.equal(cache.peek("b", 1), -1);
    // b's slot was zeroed and given to d: nothing of b is left in the slab.
    assert.deepEqual(views.get("b/1"), material(4), "d took b's slot");
    assert.deepEqual(lent(cache, "a", 1), material(1));
    assert.deepEqual(lent(cache, "d", 1), material(4));
    cache.remove(cache.peek("d", 1));
    assert.deepEqual(views.get("d/1"), Buffer.alloc(32), "removed material is zeroed");
    put("d", 1, 4);
    put("a", 1, 9); // replaced
    assert.deepEqual(lent(cache, "a", 1), material(9));
    cache.forget("c");
    assert.deepEqual(views.get("c/1"), Buffer.alloc(32), "forgotten material is zeroed");
    assert.equal(cache.peek("c", 1), -1);
    const remaining = [views.get("a/1")!, views.get("d/1")!];
    // The views above are now the current slots of a and d (b's and c's slots were reused or freed).
    cache.clear();
    for (const view of remaining) assert.deepEqual(view, Buffer.alloc(32), "cleared material is zeroed");
    assert.deepEqual(cache.stats(), { capacity: 3, size: 0, hits: 1, misses: 0, evictions: 1 });
  });

  it("keeps a key's versions apart, each with its materialId; KeyObjects for other material; forget drops them all", () => {
    const cache = new MaterialCache(10);
    const v1 = randomBytes(32);
    const v2 = randomBytes(32);
    const hmac = createSecretKey(randomBytes(48));
    cache.put("k", 1, "m1", 5, Buffer.from(v1));
    cache.put("k", 2, "m2", 6, Buffer.from(v2));
    cache.put("h", 1, "mh", 7, hmac);
    assert.deepEqual(lent(cache, "k", 1), v1);
    assert.deepEqual(lent(cache, "k", 2), v2);
    assert.equal(cache.lend(cache.find("h", 1)), hmac);
    assert.deepEqual(
      [cache.materialId(cache.peek("k", 1)), cache.materialId(cache.peek("k", 2)), cache.generation(cache.peek("k", 2))],
      ["m1", "m2", 6],
    );
    assert.equal(cache.find("k", 3), -1);
    cache.remove(cache.peek("k", 2));
    assert.deepEqual(lent(cache, "k", 1), v1, "the other version stays");
    cache.put("k", 3, "m3", 0, Buffer.from(v2));
    cache.forget("k");
    assert.deepEqual([cache.peek("k", 1), cache.peek("k", 3), cache.size], [-1, -1, 1]);
    assert.throws(() => cache.put("x", 1, "m", 0, Buffer.alloc(16)), /32 bytes/);
    assert.throws(() => new MaterialCache(0), /at least one entry/);
  });

  it("keeps a 64-hex-character materialId as bytes in the slot, any other as given, and wipes both with the slot", () => {
    const cache = new MaterialCache(2);
    const hex = randomBytes(32).toString("hex");
    const a = cache.put("a", 1, hex, 0, randomBytes(32));
    const b = cache.put("b", 1, hex.toUpperCase(), 0, createSecretKey(randomBytes(32)));
    assert.equal(cache.materialId(a), hex);
    assert.equal(cache.materialId(b), hex.toUpperCase(), "not lowercase hex: kept as it is");
    cache.remove(b);
    const c = cache.put("c", 1, "f".repeat(64), 0, createSecretKey(randomBytes(32)));
    assert.equal(c, b, "b's slot is reused");
    assert.equal(cache.materialId(c), "f".repeat(64));
    cache.remove(c);
    assert.equal(cache.put("d", 1, "m-d", 0, randomBytes(32)), b);
    assert.equal(cache.materialId(b), "m-d");
    cache.put("e", 1, "0".repeat(64), 0, randomBytes(32)); // full: a ages out, e takes its slot
    assert.equal(cache.peek("a", 1), -1);
    assert.equal(cache.materialId(cache.peek("e", 1)), "0".repeat(64));
    assert.equal(cache.materialId(cache.peek("d", 1)), "m-d");
  });

  it("over 20,000 random finds and puts: at most its capacity, each version's own bytes, hot versions never aged out", () => {
    const capacity = 50;
    const cache = new MaterialCache(capacity);
    const values = new Map<string, number>();
    const hot = ["h1", "h2", "h3", "h4", "h5"];
    for (const [n, keyId] of hot.entries()) cache.put(keyId, 1, `${keyId}/1`, 0, Buffer.alloc(32, 200 + n));
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed >>> 16) % n;
    };
    let finds = 0;
    for (let i = 0; i < 20_000; i++) {
      const keyId = `k${random(120)}`;
      const version = 1 + random(2);
      finds++;
      if (cache.find(keyId, version) < 0) {
        cache.put(keyId, version, `${keyId}/${version}`, 0, Buffer.alloc(32, i & 127));
        values.set(`${keyId}/${version}`, i & 127);
      }
      const slot = cache.peek(keyId, version);
      assert.deepEqual(cache.lend(slot), Buffer.alloc(32, values.get(`${keyId}/${version}`)!));
      assert.equal(cache.materialId(slot), `${keyId}/${version}`);
      // The hot versions are read between every two misses: the hand always finds them marked.
      for (const [n, h] of hot.entries()) {
        finds++;
        const at = cache.find(h, 1);
        assert.ok(at >= 0, `step ${i}: hot ${h} aged out`);
        assert.deepEqual(cache.lend(at), Buffer.alloc(32, 200 + n));
      }
      assert.ok(cache.size <= capacity);
    }
    const stats = cache.stats();
    assert.equal(stats.size, capacity);
    assert.equal(stats.hits + stats.misses, finds);
    assert.equal(stats.evictions, stats.misses - (capacity - hot.length));
    assert.ok(stats.evictions > 1000, `${stats.evictions} evictions`);
  });
});

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

  it("unwrapping a version reads it past the record cache: Encrypt on new keys leaves the version cache untouched", async () => {
    const server = await startTestServer();
    try {
      const kms = server.client();
      const repo = server.keyhold.repo as CachedRepository;
      const keys: string[] = [];
      for (let i = 0; i < 5; i++) keys.push((await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      repo.invalidateAll(); // CreateKey's response read each new version through the cache
      const versions = repo.cacheStats().versions;
      assert.equal(versions.size, 0);
      const material = server.keyhold.kms.materialCacheStats();
      const plaintext = Buffer.from("hot coal");
      const blobs: Uint8Array[] = [];
      for (const keyId of keys) blobs.push((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!);
      assert.equal(server.keyhold.kms.materialCacheStats().misses - material.misses, keys.length, "each key's material was unwrapped");
      assert.deepEqual(repo.cacheStats().versions, versions, "no version record went into the cache");
      for (const blob of blobs) {
        assert.deepEqual(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!), plaintext);
      }
      // The version cache still serves what reads a version for itself.
      assert.ok((await repo.getKeyVersion(keys[0]!, 1)) !== undefined);
      assert.equal(repo.cacheStats().versions.size, 1);
    } finally {
      await server.stop();
    }
  });

  it("the record cache keeps a key under the record's own keyId only when it is the text asked for", async () => {
    let reads = 0;
    // A repository that finds keys whatever the case of the id asked for, and answers with its own.
    const inner = {
      kind: "case-blind",
      changeToken: () => 0,
      getKey: async (keyId: string) => {
        reads++;
        return { keyId: keyId.toLowerCase(), accountId: "000000000000", region: "us-east-1" } as unknown as KeyRecord;
      },
    } as unknown as Repository;
    const cached = new CachedRepository(inner, 10);
    const record = await cached.getKey(["k-", "a"].join(""));
    assert.ok(Object.isFrozen(record));
    assert.equal(await cached.getKey("k-a"), record, "found by an equal string");
    const upper = await cached.getKey("K-A");
    assert.equal(await cached.getKey("K-A"), upper, "kept under the id asked for, not the record's");
    assert.equal(reads, 2);
    assert.equal(cached.cacheStats().keys.size, 2);
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
