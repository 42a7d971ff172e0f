/**
 * Slows and then locks password guessing. Failures are counted per account and user name (known
 * or not, so a lock says nothing about whether the user exists) and per source IP (one address
 * trying many names). Past `slowAfter` failures each attempt waits longer before its answer; at
 * `lockAfter` the name is locked for `lockMs`, and at `ipLockAfter` the address is. A success
 * clears its name's count, not its address's (an attacker signing in to an account of their own
 * would otherwise reset it). Both tables are bounded caches: memory stays bounded whatever the
 * number of names or addresses tried, and an entry aged out only forgets old failures.
 */
import type { Clock } from "../clock.js";
import { Lru } from "../lru.js";

export interface ThrottleLimits {
  /** Failures in a window after which every attempt is slowed. */
  slowAfter: number;
  /** Milliseconds of delay per failure past slowAfter, up to maxDelayMs. */
  delayStepMs: number;
  maxDelayMs: number;
  /** Failures of one account and user name in a window that lock it. */
  lockAfter: number;
  /** Failures from one address in a window that lock it. */
  ipLockAfter: number;
  /** How long failures are remembered, and how long a lock lasts. */
  windowMs: number;
  lockMs: number;
  /** Entries each table keeps. */
  capacity: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = {
  slowAfter: 3,
  delayStepMs: 100,
  maxDelayMs: 2000,
  lockAfter: 10,
  ipLockAfter: 50,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
  capacity: 10_000,
};

interface Counter {
  failures: number;
  since: number;
  lockedUntil?: number;
}

export type ThrottleVerdict = { locked: true; retryAfterSeconds: number } | { locked: false; delayMs: number };

export class SignInThrottle {
  private readonly names: Lru<string, Counter>;
  private readonly addresses: Lru<string, Counter>;

  constructor(
    private readonly clock: Clock,
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
  ) {
    this.names = new Lru(limits.capacity);
    this.addresses = new Lru(limits.capacity);
  }

  private current(table: Lru<string, Counter>, key: string, now: number): Counter | undefined {
    const c = table.get(key);
    if (c === undefined) return undefined;
    if (c.lockedUntil !== undefined ? now >= c.lockedUntil : now - c.since >= this.limits.windowMs) {
      table.delete(key);
      return undefined;
    }
    return c;
  }

  /**
   * An attempt begins: whether it is refused at once, else how long its answer waits. It is counted
   * as a failure now, before its password is checked, so that attempts sent together cannot all
   * pass the check before any of them is counted; a success takes it back (succeeded).
   */
  begin(name: string, address: string | undefined): ThrottleVerdict {
    const now = this.clock.now();
    const byName = this.current(this.names, name, now);
    const byAddress = address === undefined ? undefined : this.current(this.addresses, address, now);
    const until = Math.max(byName?.lockedUntil ?? 0, byAddress?.lockedUntil ?? 0);
    if (until > now) return { locked: true, retryAfterSeconds: Math.ceil((until - now) / 1000) };
    const failures = byName?.failures ?? 0;
    this.count(this.names, name, now, this.limits.lockAfter);
    if (address !== undefined) this.count(this.addresses, address, now, this.limits.ipLockAfter);
    const over = failures - this.limits.slowAfter + 1;
    return { locked: false, delayMs: over > 0 ? Math.min(this.limits.maxDelayMs, over * this.limits.delayStepMs) : 0 };
  }

  /** The attempt begun for this name and address succeeded: the name's failures are forgotten, the address's attempt uncounted. */
  succeeded(name: string, address: string | undefined): void {
    this.names.delete(name);
    if (address === undefined) return;
    const c = this.current(this.addresses, address, this.clock.now());
    if (c !== undefined && c.lockedUntil === undefined && c.failures > 0) c.failures--;
  }

  /** An administrator set a new password: the name's failures and lock are forgotten. */
  reset(name: string): void {
    this.names.delete(name);
  }

  private count(table: Lru<string, Counter>, key: string, now: number, lockAfter: number): void {
    const c = this.current(table, key, now) ?? { failures: 0, since: now };
    c.failures++;
    if (c.failures >= lockAfter) c.lockedUntil = now + this.limits.lockMs;
    table.set(key, c);
  }
}

/** The key failures of a user name are counted under (IAM names are unique regardless of case, so is the count). */
export function nameKey(accountId: string, userName: string): string {
  return `${accountId}\u0000${userName.toLowerCase()}`;
}
