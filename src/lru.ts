/**
 * The one bounded cache keyhold's caches are made of: least recently used goes first. A Map
 * keeps its keys in insertion order, so deleting and re-inserting a key on each hit makes the
 * Map's first key the least recently used one: every operation is O(1).
 *
 * A cache that empties itself when full (what keyhold did before) thrashes once the working set
 * passes its size: every entry, hot or cold, goes at once, and each of them is loaded again.
 * Aging the oldest out keeps the hot entries however many cold ones stream through.
 *
 * `onDrop` sees every value the cache lets go of (evicted, replaced, deleted or cleared), so a
 * cache of secrets can zero them: once dropped, the cache holds no reference to the value.
 */
export interface CacheStats {
  capacity: number;
  size: number;
  hits: number;
  misses: number;
  /** Entries aged out to make room (deletions and replacements are not counted). */
  evictions: number;
}

export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  /**
   * Where the oldest entries are. A new iterator each time would walk from the start of the Map's
   * table over the holes every eviction leaves there (V8 compacts only when it resizes): 30 times
   * slower at 10,000 entries. One long-lived iterator never goes back: every entry behind it was
   * evicted or deleted, and entries set or touched since go to the end, ahead of it, so its next
   * entry is always the least recently used.
   */
  private oldest: IterableIterator<[K, V]> = this.map.entries();
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

  /** The value, made the most recently used; counted as a hit or a miss. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Stores the value as the most recently used, aging out the least recently used past the capacity. */
  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      if (old !== value) this.onDrop?.(old, key);
    }
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.evictOldest();
  }

  /** Ages out the least recently used entry (for caches bounded by more than a count); false when empty. */
  evictOldest(): boolean {
    let first = this.oldest.next();
    if (first.done) {
      this.oldest = this.map.entries();
      first = this.oldest.next();
      if (first.done) return false;
    }
    const [key, value] = first.value;
    this.map.delete(key);
    this.evictions++;
    this.onDrop?.(value, key);
    return true;
  }

  delete(key: K): boolean {
    const value = this.map.get(key);
    if (value === undefined) return false;
    this.map.delete(key);
    this.onDrop?.(value, key);
    return true;
  }

  deleteWhere(test: (key: K) => boolean): void {
    // Deleting the entry a Map iterator is on is safe: the iteration goes on with the next.
    for (const key of this.map.keys()) if (test(key)) this.delete(key);
  }

  clear(): void {
    const entries = [...this.map];
    this.map.clear();
    if (this.onDrop) for (const [key, value] of entries) this.onDrop(value, key);
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  stats(): CacheStats {
    return { capacity: this.capacity, size: this.map.size, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
