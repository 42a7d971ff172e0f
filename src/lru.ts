/**
 * The one bounded cache keyhold's caches are made of: CLOCK, an approximation of least recently
 * used. A Map keeps its keys in insertion order; a hit only marks its entry, and eviction walks
 * from the oldest, giving a marked entry a second chance (unmarked, moved to the end) and aging
 * out the first unmarked one. Every operation is O(1) amortized, and a hit costs one Map read.
 *
 * A cache that empties itself when full (what keyhold did before) thrashes once the working set
 * passes its size: every entry, hot or cold, goes at once, and each of them is loaded again.
 * Aging the oldest out keeps the hot entries however many cold ones stream through.
 *
 * `onDrop` sees every value the cache lets go of (evicted, replaced, deleted or cleared), so a
 * cache of secrets can zero them: once dropped, the cache holds no reference to the value.
 */
interface Entry<V> {
  value: V;
  /** Read or replaced since the clock hand last passed it. */
  used: boolean;
}

export interface CacheStats {
  capacity: number;
  size: number;
  hits: number;
  misses: number;
  /** Entries aged out to make room (deletions and replacements are not counted). */
  evictions: number;
}

export class Lru<K, V> {
  private readonly map = new Map<K, Entry<V>>();
  /**
   * Where the oldest entries are. A new iterator each time would walk from the start of the Map's
   * table over the holes every eviction leaves there (V8 compacts only when it resizes): 30 times
   * slower at 10,000 entries. One long-lived iterator never goes back: every entry behind it was
   * evicted, deleted or given its second chance (moved to the end, ahead of it).
   */
  private oldest: IterableIterator<[K, Entry<V>]> = this.map.entries();
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(
    readonly capacity: number,
    private readonly onDrop?: (value: V, key: K) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a cache holds at least one entry, not ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /**
   * The value, marked as used since the oldest entries were last looked at; counted as a hit or a
   * miss. A hit changes no Map order: moving the entry to the end on every hit (an exact LRU) made
   * the hot path churn the Map's table, and raised the p99 of Encrypt about 1.7 times in the benchmark.
   */
  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    entry.used = true;
    return entry.value;
  }

  /** Stores the value (a new key as the newest entry), aging out an old unused one past the capacity. */
  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      const previous = old.value;
      old.value = value;
      old.used = true;
      if (previous !== value) this.onDrop?.(previous, key);
      return;
    }
    this.map.set(key, { value, used: false });
    while (this.map.size > this.capacity) this.evictOldest();
  }

  /**
   * Ages out the oldest entry not used since it was last passed over (CLOCK, "second chance"): a
   * used one has its mark cleared and goes to the end. Each entry is passed over at most once per
   * eviction (after a whole round every mark is cleared), so this ends. False when empty.
   */
  evictOldest(): boolean {
    for (let passed = 0; passed <= this.map.size; passed++) {
      let next = this.oldest.next();
      if (next.done) {
        this.oldest = this.map.entries();
        next = this.oldest.next();
        if (next.done) return false;
      }
      const [key, entry] = next.value;
      this.map.delete(key);
      if (entry.used) {
        entry.used = false;
        this.map.set(key, entry);
        continue;
      }
      this.evictions++;
      this.onDrop?.(entry.value, key);
      return true;
    }
    return false;
  }

  delete(key: K): boolean {
    const entry = this.map.get(key);
    if (entry === undefined) return false;
    this.map.delete(key);
    this.onDrop?.(entry.value, key);
    return true;
  }

  deleteWhere(test: (key: K) => boolean): void {
    // Deleting the entry a Map iterator is on is safe: the iteration goes on with the next.
    for (const key of this.map.keys()) if (test(key)) this.delete(key);
  }

  clear(): void {
    const entries = [...this.map];
    this.map.clear();
    if (this.onDrop) for (const [key, entry] of entries) this.onDrop(entry.value, key);
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  stats(): CacheStats {
    return { capacity: this.capacity, size: this.map.size, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
