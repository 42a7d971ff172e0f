/**
 * Unwrapped key versions, the least recently used aging out past a fixed number of slots (CLOCK,
 * as src/lru.ts, but over slots rather than Map entries).
 *
 * Why not an Lru of KeyObjects, as before: at 100,000 keys each cached version cost ~750 bytes
 * (a `keyId/version` string, an entry object, a KeyObject's wrapper and ~430 bytes of native data
 * freed only by a full GC). Here a version is one slot: its AES-256 material is 32 bytes of one
 * slab of key material (chunks allocated for this cache alone, never Node's shared pool), its
 * materialId the 32 bytes after it in the slab (not a string of 64 hex characters: 80 bytes of
 * heap a key, made into a string again on each use), its key id, version and CLOCK mark sit in
 * parallel arrays, and a Map from the key id (the key record's own string) to the slot finds it; a
 * key's other cached versions are chained from it.
 * Material of other kinds (key pairs, HMAC keys) is kept as a KeyObject in its slot.
 *
 * Raw material is lent, never handed out: `lend` gives a view of the slot that the caller must use
 * synchronously and not keep (the slot is zeroed and reused when it is evicted, which can happen
 * at the next await). A slot's bytes are zeroed when it is evicted, deleted or cleared.
 */
import type { KeyObject } from "node:crypto";
import type { CacheStats } from "../lru.js";

const RAW_LENGTH = 32;
/** A slot in the slab: its material, then its materialId's bytes. */
const SLOT_BYTES = 2 * RAW_LENGTH;
/** A materialId kept as bytes: AWS's KeyMaterialId, 64 lowercase hex characters (others are kept as they are). */
const HEX_ID = /^[0-9a-f]{64}$/;
/** Slots per chunk of the slab: 256 KiB, allocated when the first of its slots is used. */
const CHUNK_SHIFT = 12;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;

/** What a hit gives: the slot to lend from, valid until the next await. */
export type Slot = number;

export class MaterialCache {
  private readonly index = new Map<string, Slot>();
  private readonly keyIds: (string | undefined)[] = [];
  /** 1 where the slot's materialId is in the slab; else it is in otherIds. */
  private readonly hexIds: Uint8Array;
  private readonly otherIds = new Map<Slot, string>();
  private readonly objects: (KeyObject | undefined)[] = [];
  private readonly versions: Int32Array;
  private readonly next: Int32Array;
  private readonly used: Uint8Array;
  private readonly generations: Float64Array;
  private readonly chunks: Buffer[] = [];
  private readonly free: Slot[] = [];
  /** Slots ever taken (the rest are fresh); the clock hand sweeps those. */
  private taken = 0;
  private hand = 0;
  private count = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a cache holds at least one entry, not ${capacity}`);
    this.versions = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.used = new Uint8Array(capacity);
    this.hexIds = new Uint8Array(capacity);
    this.generations = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The slot of the key's version, marked as used; counted as a hit or a miss. -1 when absent. */
  find(keyId: string, version: number): Slot {
    const slot = this.peek(keyId, version);
    if (slot < 0) {
      this.misses++;
      return -1;
    }
    this.hits++;
    this.used[slot] = 1;
    return slot;
  }

  /** The slot of the key's version without counting or marking it. -1 when absent. */
  peek(keyId: string, version: number): Slot {
    let slot = this.index.get(keyId);
    while (slot !== undefined && slot >= 0) {
      if (this.versions[slot] === version) return slot;
      slot = this.next[slot];
    }
    return -1;
  }

  materialId(slot: Slot): string {
    if (this.hexIds[slot] === 0) return this.otherIds.get(slot)!;
    const at = (slot & (CHUNK_SLOTS - 1)) * SLOT_BYTES + RAW_LENGTH;
    return this.chunks[slot >> CHUNK_SHIFT]!.toString("hex", at, at + RAW_LENGTH);
  }

  generation(slot: Slot): number {
    return this.generations[slot]!;
  }

  setGeneration(slot: Slot, generation: number): void {
    this.generations[slot] = generation;
  }

  /**
   * The slot's material: its KeyObject, or a view of its raw bytes that is valid only until the
   * caller's synchronous code ends (use it at once, do not keep it).
   */
  lend(slot: Slot): KeyObject | Buffer {
    const object = this.objects[slot];
    if (object !== undefined) return object;
    const at = (slot & (CHUNK_SLOTS - 1)) * SLOT_BYTES;
    return this.chunks[slot >> CHUNK_SHIFT]!.subarray(at, at + RAW_LENGTH);
  }

  /**
   * Stores a key version's material, replacing what the cache held for it: raw AES-256 bytes
   * (copied into the slab; the caller zeroes its buffer) or a KeyObject. Returns its slot.
   */
  put(keyId: string, version: number, materialId: string, generation: number, material: Buffer | KeyObject): Slot {
    const old = this.peek(keyId, version);
    if (old >= 0) this.remove(old);
    if (Buffer.isBuffer(material) && material.length !== RAW_LENGTH) throw new Error(`raw key material is ${RAW_LENGTH} bytes`);
    const slot = this.take();
    this.keyIds[slot] = keyId;
    this.versions[slot] = version;
    this.generations[slot] = generation;
    this.used[slot] = 0;
    const chunk = this.chunk(slot);
    const at = (slot & (CHUNK_SLOTS - 1)) * SLOT_BYTES;
    if (HEX_ID.test(materialId)) {
      chunk.write(materialId, at + RAW_LENGTH, RAW_LENGTH, "hex");
      this.hexIds[slot] = 1;
    } else {
      this.otherIds.set(slot, materialId);
    }
    if (Buffer.isBuffer(material)) {
      this.objects[slot] = undefined;
      material.copy(chunk, at);
    } else {
      this.objects[slot] = material;
    }
    const head = this.index.get(keyId);
    this.next[slot] = head ?? -1;
    this.index.set(keyId, slot);
    this.count++;
    return slot;
  }

  /** Drops every cached version of the key. */
  forget(keyId: string): void {
    let slot = this.index.get(keyId);
    while (slot !== undefined && slot >= 0) {
      const following = this.next[slot]!;
      this.remove(slot);
      slot = following;
    }
  }

  /** Drops one slot (zeroing its material). */
  remove(slot: Slot): void {
    const keyId = this.keyIds[slot];
    if (keyId === undefined) return;
    const head = this.index.get(keyId)!;
    if (head === slot) {
      if (this.next[slot]! < 0) this.index.delete(keyId);
      else this.index.set(keyId, this.next[slot]!);
    } else {
      let before = head;
      while (this.next[before] !== slot) before = this.next[before]!;
      this.next[before] = this.next[slot]!;
    }
    this.wipe(slot);
    this.free.push(slot);
    this.count--;
  }

  clear(): void {
    for (let slot = 0; slot < this.taken; slot++) if (this.keyIds[slot] !== undefined) this.wipe(slot);
    this.index.clear();
    this.free.length = 0;
    this.taken = 0;
    this.hand = 0;
    this.count = 0;
  }

  stats(): CacheStats {
    return { capacity: this.capacity, size: this.count, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  private wipe(slot: Slot): void {
    this.keyIds[slot] = undefined;
    this.objects[slot] = undefined;
    this.used[slot] = 0;
    this.hexIds[slot] = 0;
    this.otherIds.delete(slot);
    const chunk = this.chunks[slot >> CHUNK_SHIFT];
    if (chunk !== undefined) {
      const at = (slot & (CHUNK_SLOTS - 1)) * SLOT_BYTES;
      chunk.fill(0, at, at + SLOT_BYTES);
    }
  }

  /** A free slot: a deleted one, a fresh one, or else the first one the clock hand finds unused since it last passed. */
  private take(): Slot {
    const freed = this.free.pop();
    if (freed !== undefined) return freed;
    if (this.taken < this.capacity) return this.taken++;
    // Every slot holds a version: each used one gets a second chance (its mark cleared), so after
    // at most one round the hand finds an unused one.
    for (;;) {
      const slot = this.hand;
      this.hand = slot + 1 === this.capacity ? 0 : slot + 1;
      if (this.used[slot] === 1) {
        this.used[slot] = 0;
        continue;
      }
      this.remove(slot);
      this.evictions++;
      return this.free.pop()!;
    }
  }

  private chunk(slot: Slot): Buffer {
    const n = slot >> CHUNK_SHIFT;
    let chunk = this.chunks[n];
    if (chunk === undefined) {
      const slots = Math.min(CHUNK_SLOTS, this.capacity - n * CHUNK_SLOTS);
      // Its own memory, zero-filled: never a slice of Node's shared pool.
      chunk = Buffer.alloc(slots * SLOT_BYTES);
      this.chunks[n] = chunk;
    }
    return chunk;
  }
}
