/**
 * AWS's wildcards in policies: `*` matches any run of characters (empty, newlines included), `?`
 * exactly one, everything else itself.
 *
 * Matching is linear in the value, whatever the pattern: anyone may write a policy for their own
 * key, bucket or identities, and object keys and encryption contexts are the caller's, so a
 * backtracking matcher (a RegExp of `.*`s) let `*a*a*a*a*a*a*a*a*b` against 40 characters freeze
 * every tenant's requests for seconds. A pattern is split at its `*`s into segments; the first must
 * match at the start, the last at the end, and each one between is placed at its leftmost
 * occurrence after the one before (the leftmost placement never loses a match the others could
 * find), so every character of the value is scanned once per segment search and the searches do
 * not overlap. A segment without `?` is found with the engine's substring search; one with `?`
 * with a bit-parallel (shift-and) scan, ⌈length/32⌉ word operations per character.
 */
import { Lru } from "../lru.js";

/** The code units as a string, in chunks (a spread of tens of thousands of arguments may overflow the stack). */
function text(units: readonly number[]): string {
  let out = "";
  for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode.apply(null, units.slice(i, i + 4096));
  return out;
}

/** One run of the pattern between `*`s: literal code units, `-1` for `?`. */
class Segment {
  readonly length: number;
  /** The segment's text when it holds no `?`: matched with startsWith / indexOf. */
  private readonly literal: string | undefined;
  private readonly units: Int32Array;
  /**
   * Shift-and tables (built on first search): row r, word w holds the positions of the segment a
   * code unit of row r may take. Rows 0-127 are ASCII, row 128 any code unit the segment does not
   * name (it may only take the `?` positions), rows from 129 the non-ASCII units the segment names.
   */
  private words = 0;
  private table: Int32Array | undefined;
  private rows: Map<number, number> | undefined;
  constructor(units: readonly number[]) {
    this.length = units.length;
    this.units = new Int32Array(units);
    this.literal = units.includes(-1) ? undefined : text(units);
  }

  /** Whether the segment matches the value at `at` (which leaves room for it). */
  matchesAt(value: string, at: number): boolean {
    if (this.literal !== undefined) return value.startsWith(this.literal, at);
    const units = this.units;
    for (let i = 0; i < units.length; i++) {
      const u = units[i]!;
      if (u !== -1 && u !== value.charCodeAt(at + i)) return false;
    }
    return true;
  }

  /** The leftmost position p ≥ from where the segment matches and ends by `limit`, or -1. */
  find(value: string, from: number, limit: number): number {
    if (limit - from < this.length) return -1;
    if (this.literal !== undefined) return this.indexOf(value, from, limit);
    return this.shiftAnd(value, from, limit);
  }

  /**
   * Literals: the engine's substring search, linear in the text (V8 starts naively and moves to
   * Boyer-Moore-Horspool, then to Boyer-Moore with the good-suffix rule, as a search goes badly).
   */
  private indexOf(value: string, from: number, limit: number): number {
    const at = value.indexOf(this.literal!, from);
    return at >= 0 && at + this.length <= limit ? at : -1;
  }

  private tables(): Int32Array {
    const words = (this.words = (this.length + 31) >>> 5);
    const rows = (this.rows = new Map<number, number>());
    this.units.forEach((u) => {
      if (u >= 128 && !rows.has(u)) rows.set(u, 129 + rows.size);
    });
    const table = (this.table = new Int32Array((129 + rows.size) * words));
    this.units.forEach((u, i) => {
      const bit = 1 << (i & 31);
      const w = i >>> 5;
      if (u === -1) for (let r = 0; r < 129 + rows.size; r++) table[r * words + w]! |= bit;
      else table[(u < 128 ? u : rows.get(u)!) * words + w]! |= bit;
    });
    return table;
  }

  /** Shift-and: bit i of the state says "the segment's first i+1 units end at this character". */
  private shiftAnd(value: string, from: number, limit: number): number {
    const table = this.table ?? this.tables();
    const rows = this.rows!;
    const words = this.words;
    const last = this.length - 1;
    if (words === 1) {
      const lastBit = 1 << last;
      let state = 0;
      for (let i = from; i < limit; i++) {
        const c = value.charCodeAt(i);
        state = ((state << 1) | 1) & table[c < 128 ? c : (rows.get(c) ?? 128)]!;
        if (state & lastBit) return i - last;
      }
      return -1;
    }
    const lastWord = last >>> 5;
    const lastBit = 1 << (last & 31);
    const state = new Int32Array(words);
    for (let i = from; i < limit; i++) {
      const c = value.charCodeAt(i);
      const base = (c < 128 ? c : (rows.get(c) ?? 128)) * words;
      let carry = 1;
      for (let w = 0; w < words; w++) {
        const s = state[w]!;
        state[w] = ((s << 1) | carry) & table[base + w]!;
        carry = s >>> 31;
      }
      if (state[lastWord]! & lastBit) return i - last;
    }
    return -1;
  }
}

/** A compiled pattern. */
export class Wildcard {
  /** The segments between `*`s; one segment means the pattern has no `*`. */
  private readonly segments: readonly Segment[];
  private readonly minLength: number;

  /** `units`: code units, -1 for `?`, -2 for `*`. */
  constructor(
    units: readonly number[],
    private readonly caseInsensitive: boolean,
  ) {
    const segments: Segment[] = [];
    let run: number[] = [];
    for (const u of units) {
      if (u !== -2) run.push(u);
      else {
        segments.push(new Segment(run));
        run = [];
      }
    }
    segments.push(new Segment(run));
    this.segments = segments;
    this.minLength = segments.reduce((n, s) => n + s.length, 0);
  }

  test(input: string): boolean {
    return this.matches(this.caseInsensitive ? input.toLowerCase() : input);
  }

  /** `test` for a value already lower-cased (a request's action, lowered once for all statements). */
  testLowerCased(value: string): boolean {
    return this.matches(value);
  }

  private matches(value: string): boolean {
    const segments = this.segments;
    const n = value.length;
    if (n < this.minLength) return false;
    const first = segments[0]!;
    if (segments.length === 1) return n === first.length && first.matchesAt(value, 0);
    const lastSegment = segments[segments.length - 1]!;
    const end = n - lastSegment.length;
    if (!first.matchesAt(value, 0) || !lastSegment.matchesAt(value, end)) return false;
    let at = first.length;
    for (let i = 1; i < segments.length - 1; i++) {
      const s = segments[i]!;
      const found = s.find(value, at, end);
      if (found < 0) return false;
      at = found + s.length;
    }
    return true;
  }
}

const ANY_ONE = -1;
const ANY_RUN = -2;

/**
 * The pattern's units. With `escapes`, `\` makes the next character literal: the form a policy
 * pattern takes once variables are substituted (their values and `${*}` / `${?}` are literal text).
 */
function units(pattern: string, escapes: boolean, caseInsensitive: boolean): number[] {
  const text = caseInsensitive ? pattern.toLowerCase() : pattern;
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (escapes && c === 0x5c && i + 1 < text.length) out.push(text.charCodeAt(++i));
    else if (c === 0x2a) {
      if (out[out.length - 1] !== ANY_RUN) out.push(ANY_RUN); // `**` is `*`
    } else if (c === 0x3f) out.push(ANY_ONE);
    else out.push(c);
  }
  return out;
}

/**
 * Compiled patterns, by mode and text. Bounded both in entries and in the characters they hold, so
 * policies full of long distinct patterns cannot grow it without end.
 */
const CACHE_ENTRIES = 10_000;
const CACHE_CHARS = 4_000_000;
let cachedChars = 0;
const cache = new Lru<string, Wildcard>(CACHE_ENTRIES, (_w, key) => {
  cachedChars -= key.length;
});

function compiled(pattern: string, escapes: boolean, caseInsensitive: boolean): Wildcard {
  const key = (escapes ? "e" : "p") + (caseInsensitive ? "i" : "s") + pattern;
  let w = cache.get(key);
  if (!w) {
    w = new Wildcard(units(pattern, escapes, caseInsensitive), caseInsensitive);
    cache.set(key, w);
    cachedChars += key.length;
    while (cachedChars > CACHE_CHARS && cache.evictOldest());
  }
  return w;
}

/** A policy pattern as written: `*` and `?` are wildcards, every other character is itself. */
export function wildcard(pattern: string, caseInsensitive = false): Wildcard {
  return compiled(pattern, false, caseInsensitive);
}

/** A pattern in escaped form (see `escapeWildcard`): `\x` is the literal x. */
export function escapedWildcard(pattern: string): Wildcard {
  return compiled(pattern, true, false);
}

/** Text made literal for `escapedWildcard`. */
export function escapeWildcard(text: string): string {
  return text.replace(/[\\*?]/g, "\\$&");
}

/** Whether `value` matches `pattern` (as written in a policy). */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  return pattern === "*" || wildcard(pattern, caseInsensitive).test(value);
}
