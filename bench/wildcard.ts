/**
 * The cost of policy wildcards on hostile input, in process: 1,000 adversarial patterns (runs of
 * `*a*a*…*b`, `a?a?…b` segments, long near-miss literals, case-insensitive actions) matched against
 * 1 KiB values that almost match. A backtracking matcher takes minutes on one of them; the goal
 * here is ≤ 10 µs a match. Then the cost of one whole authorization decision, for comparison.
 * Run by `npm run bench:policy`.
 */
import { measurePolicyEvaluation } from "./policy.js";
import { wildcard, type Wildcard } from "../src/iam/wildcard.js";

export function adversarialPatterns(count = 1000): { pattern: string; caseInsensitive: boolean }[] {
  const out: { pattern: string; caseInsensitive: boolean }[] = [];
  for (let i = 0; out.length < count; i++) {
    const k = 2 + (i % 60);
    switch (i % 6) {
      case 0:
        out.push({ pattern: "*" + "a*".repeat(k) + "b", caseInsensitive: false });
        break;
      case 1:
        out.push({ pattern: "*" + "a?".repeat(k) + "b*", caseInsensitive: false });
        break;
      case 2:
        out.push({ pattern: "*" + "a".repeat(4 * k) + "b*", caseInsensitive: false });
        break;
      case 3:
        out.push({ pattern: "?".repeat(k) + "*" + "a*?".repeat(k) + "c", caseInsensitive: false });
        break;
      case 4:
        out.push({ pattern: ("*" + "a".repeat(k % 7) + "?").repeat(k) + "b", caseInsensitive: false });
        break;
      default:
        out.push({ pattern: "*A*a".repeat(k) + "*B", caseInsensitive: true });
    }
  }
  return out;
}

export function measureWildcards(patternCount = 1000): { first: number; cached: number; matches: number } {
  const patterns = adversarialPatterns(patternCount);
  const values = ["a".repeat(1024), "a".repeat(1023) + "b", "ab".repeat(512)];
  let matches = 0;
  // First use: compiling the pattern and matching it once.
  const compiled: Wildcard[] = [];
  let start = process.hrtime.bigint();
  for (const p of patterns) {
    const w = wildcard(p.pattern, p.caseInsensitive);
    compiled.push(w);
    if (w.test(values[0]!)) matches++;
  }
  const first = Number(process.hrtime.bigint() - start) / 1000 / patterns.length;
  // Compiled already (as the cache keeps them): the matching alone, every pattern against every value.
  const rounds = 20;
  start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const w of compiled) for (const v of values) if (w.test(v)) matches++;
  const cached = Number(process.hrtime.bigint() - start) / 1000 / (rounds * compiled.length * values.length);
  return { first, cached, matches };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const w = measureWildcards();
  console.log(`wildcards: 1,000 adversarial patterns against 1 KiB values`);
  console.log(`  first use (compile + match): ${w.first.toFixed(2)} us per pattern`);
  console.log(`  compiled:                    ${w.cached.toFixed(2)} us per match (goal <= 10 us)`);
  const d = measurePolicyEvaluation();
  console.log(`authorization decision: ${d.microseconds.toFixed(2)} us (${d.decisions} decisions)`);
}
