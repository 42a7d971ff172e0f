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
 * not overlap. A segment without `?` is found with the engine's own substring search; one with `?`
 * with a bit-parallel (shift-and) scan, ⌈length/32⌉ word operations per character.
 */

/** One run of the pattern between `*`s: literal code units, `-1` for `?`. */
class Segment {
  readonly length: number;
  /** The segment's text when it holds no `?`: matched with startsWith / indexOf. */
  private readonly literal: string | undefined;
  private readonly units: Int32Array;
  /** Shift-and tables (built on first search): for each code unit, the positions it may take. */
  private words = 0;
  private ascii: Uint32Array | undefined;
  private other: Map<number, Uint32Array> | undefined;
  private anyOne: Uint32Array | undefined;

  constructor(units: readonly number[]) {
    this.length = units.length;
    this.units = Int32Array.from(units);
    this.literal = units.includes(-1) ? undefined : String.fromCharCode(...units);
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
    if (this.literal !== undefined) {
      const at = value.indexOf(this.literal, from);
      return at >= 0 && at + this.length <= limit ? at : -1;
    }
    return this.shiftAnd(value, from, limit);
  }

  private tables(): void {
    const words = (this.words = (this.length + 31) >>> 5);
    const anyOne = (this.anyOne = new Uint32Array(words));
    const ascii = (this.ascii = new Uint32Array(128 * words));
    const other = (this.other = new Map());
    this.units.forEach((u, i) => {
      if (u === -1) anyOne[i >>> 5]! |= 1 << (i & 31);
    });
    for (let c = 0; c < 128; c++) ascii.set(anyOne, c * words);
    this.units.forEach((u, i) => {
      if (u === -1) return;
      let mask: Uint32Array;
      if (u < 128) mask = ascii.subarray(u * words, u * words + words);
      else {
        mask = other.get(u) ?? Uint32Array.from(anyOne);
        other.set(u, mask);
      }
      mask[i >>> 5]! |= 1 << (i & 31);
    });
  }

  /** Shift-and: bit i of the state says "the segment's first i+1 units end at this character". */
  private shiftAnd(value: string, from: number, limit: number): number {
    if (this.ascii === undefined) this.tables();
    const words = this.words;
    const ascii = this.ascii!;
    const other = this.other!;
    const anyOne = this.anyOne!;
    const last = this.length - 1;
    const lastWord = last >>> 5;
    const lastBit = 1 << (last & 31);
    const state = new Uint32Array(words);
    for (let i = from; i < limit; i++) {
      const c = value.charCodeAt(i);
      let carry = 1;
      const base = c * words;
      const mask = c < 128 ? undefined : (other.get(c) ?? anyOne);
      for (let w = 0; w < words; w++) {
        const s = state[w]!;
        const m = mask === undefined ? ascii[base + w]! : mask[w]!;
        state[w] = ((s << 1) | carry) & m;
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
    const value = this.caseInsensitive ? input.toLowerCase() : input;
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
const cache = new Map<string, Wildcard>();
let cachedChars = 0;
const CACHE_ENTRIES = 10_000;
const CACHE_CHARS = 4_000_000;

function compiled(pattern: string, escapes: boolean, caseInsensitive: boolean): Wildcard {
  const key = (escapes ? "e" : "p") + (caseInsensitive ? "i" : "s") + pattern;
  let w = cache.get(key);
  if (!w) {
    w = new Wildcard(units(pattern, escapes, caseInsensitive), caseInsensitive);
    if (cache.size >= CACHE_ENTRIES || cachedChars + key.length > CACHE_CHARS) {
      cache.clear();
      cachedChars = 0;
    }
    cache.set(key, w);
    cachedChars += key.length;
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
