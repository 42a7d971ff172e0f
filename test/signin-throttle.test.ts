/** The sign-in throttle's rules, on a clock the test moves (the endpoint's use of it: console-signin.test.ts). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../src/clock.js";
import { DEFAULT_THROTTLE, nameKey, SignInThrottle } from "../src/iam/signin-throttle.js";

describe("sign-in throttle", () => {
  it("slows a name after slowAfter failures, more with each, up to the cap, then locks it for lockMs", () => {
    const clock = new ManualClock(1_000_000);
    const t = new SignInThrottle(clock);
    const delays: number[] = [];
    for (let i = 0; i < DEFAULT_THROTTLE.lockAfter; i++) {
      const v = t.begin("a", "10.0.0.1");
      assert.equal(v.locked, false, `attempt ${i + 1}`);
      if (!v.locked) delays.push(v.delayMs);
    }
    assert.deepEqual(delays, [0, 0, 0, 100, 200, 300, 400, 500, 600, 700]);
    const locked = t.begin("a", "10.0.0.2");
    assert.equal(locked.locked, true);
    if (locked.locked) assert.equal(locked.retryAfterSeconds, DEFAULT_THROTTLE.lockMs / 1000);
    // Another name from the same address is not locked by a's failures.
    assert.equal(t.begin("b", "10.0.0.1").locked, false);
    clock.advance(DEFAULT_THROTTLE.lockMs);
    const after = t.begin("a", "10.0.0.3");
    assert.deepEqual(after, { locked: false, delayMs: 0 });
  });

  it("a success forgets the name's failures but not the address's other attempts", () => {
    const clock = new ManualClock(1_000_000);
    const t = new SignInThrottle(clock, { ...DEFAULT_THROTTLE, ipLockAfter: 5 });
    for (let i = 0; i < 3; i++) t.begin("a", "10.0.0.1");
    t.begin("a", "10.0.0.1");
    t.succeeded("a", "10.0.0.1");
    assert.deepEqual(t.begin("a", "10.0.0.9"), { locked: false, delayMs: 0 });
    // The address had 3 failures and one success: two more attempts of any names reach 5, and it is locked.
    assert.equal(t.begin("z", "10.0.0.1").locked, false);
    assert.equal(t.begin("x", "10.0.0.1").locked, false);
    assert.equal(t.begin("y", "10.0.0.1").locked, true);
    assert.equal(t.begin("y", "10.0.0.2").locked, false);
  });

  it("forgets failures older than the window, and keeps at most capacity names", () => {
    const clock = new ManualClock(1_000_000);
    const t = new SignInThrottle(clock, { ...DEFAULT_THROTTLE, capacity: 100 });
    for (let i = 0; i < 5; i++) t.begin("a", undefined);
    clock.advance(DEFAULT_THROTTLE.windowMs);
    assert.deepEqual(t.begin("a", undefined), { locked: false, delayMs: 0 });
    for (let i = 0; i < 10_000; i++) t.begin(`name-${i}`, `10.1.${i >> 8}.${i & 255}`);
    const sizes = t as unknown as { names: { size: number }; addresses: { size: number } };
    assert.ok(sizes.names.size <= 100 && sizes.addresses.size <= 100);
  });

  it("counts a name regardless of case, per account", () => {
    assert.equal(nameKey("111122223333", "Alice"), nameKey("111122223333", "alice"));
    assert.notEqual(nameKey("111122223333", "alice"), nameKey("444455556666", "alice"));
  });
});
