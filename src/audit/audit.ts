/**
 * The audit trail of a keyhold process: records every call in this process's own hash chain before
 * its response leaves, answers lookups over every chain, and — in the process that runs the
 * scheduler — writes signed digests of every chain at a fixed interval and deletes events past the
 * retention period. Each process digests its own chain when it shuts down.
 */
import type { CompletedCall } from "../call.js";
import type { Clock } from "../clock.js";
import { DAY_MS } from "../clock.js";
import type { KeyStore } from "../keystore/keystore.js";
import type { Logger } from "../log.js";
import {
  buildConsoleLoginEvent,
  buildEvents,
  buildRelatedEvent,
  buildServiceEvent,
  type ConsoleLoginAttempt,
  type ServiceAction,
} from "./record.js";
import type { AuditSigningKey } from "./signing-key.js";
import type { AuditStore } from "./store.js";
import { AuditTrail } from "./trail.js";

export interface AuditOptions {
  store: AuditStore;
  /** This process's chain. */
  chain: string;
  keystore: KeyStore;
  clock: Clock;
  log: Logger;
  digestIntervalMs: number;
  retentionDays: number;
  /** Told of each batch handed to the store: its size, how long it took to be durable, whether it was. For the metrics. */
  onBatch?: (events: number, seconds: number, ok: boolean) => void;
}

export class Audit {
  private timer: NodeJS.Timeout | undefined;
  private readonly trail: AuditTrail;

  private constructor(
    readonly store: AuditStore,
    private readonly key: AuditSigningKey,
    private readonly options: AuditOptions,
  ) {
    // Whether the last write of the trail failed: readiness (/_keyhold/readyz) goes false then, so a
    // balancer stops sending calls this node could not record.
    this.trail = new AuditTrail(
      (events) =>
        measured(() => store.append(events), events.length, options.onBatch).then(
          () => {
            this.writeFailure = undefined;
          },
          (error: unknown) => {
            this.writeFailure = (error as Error)?.message ?? String(error);
            throw error;
          },
        ),
      store.appendsInFlight,
    );
  }

  /** Why the last write of the trail failed, if it did (cleared by the next write that succeeds). */
  writeFailure: string | undefined;

  static async open(options: AuditOptions): Promise<Audit> {
    const key = await options.store.signingKey(options.keystore, options.clock.now());
    return new Audit(options.store, key, options);
  }

  /** The CallObserver the protocol adapters report to. */
  readonly completed = (call: CompletedCall): Promise<void> => {
    const own = buildEvents(call);
    if (!call.trail.related && own.length === 1) return this.trail.record(own[0]!);
    const events = [...own, ...(call.trail.related ?? []).map((r) => buildRelatedEvent(call, r))];
    return Promise.all(events.map((e) => this.trail.record(e))).then(() => undefined);
  };

  /** Records what the service did by itself, such as deleting a key at the end of its window. */
  serviceEvent(action: ServiceAction): Promise<void> {
    return this.trail.record(buildServiceEvent(action));
  }

  /** Records a console sign-in attempt (ConsoleLogin); resolves once the event is as durable as any call's. */
  consoleLogin(attempt: ConsoleLoginAttempt): Promise<void> {
    return this.trail.record(buildConsoleLoginEvent(attempt));
  }

  /** Events recorded and not yet handed to the store. */
  get queueDepth(): number {
    return this.trail.waiting;
  }

  /** When this process last completed a digest pass (ms), if it has. */
  lastDigest: number | undefined;

  /** Writes a digest for every chain with new events; returns how many were written. */
  async digest(): Promise<number> {
    const written = await this.store.digest(this.key, this.options.clock.now());
    this.lastDigest = this.options.clock.now();
    return written;
  }

  /** Deletes events past the retention period, in whole digest ranges; returns how many. */
  prune(): Promise<number> {
    return this.store.prune(this.options.clock.now() - this.options.retentionDays * DAY_MS);
  }

  /** Digests and retention run in one process per data directory or database (the one that runs the scheduler). */
  startDigests(): void {
    this.timer = setInterval(() => {
      this.digest()
        .then(() => this.prune())
        .catch((error: unknown) => this.options.log.error(`audit digest failed: ${(error as Error).stack ?? String(error)}`));
    }, this.options.digestIntervalMs);
    this.timer.unref();
  }

  get publicKeyPem(): string {
    return this.key.publicKeyPem;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.trail.close();
    try {
      await this.store.digest(this.key, this.options.clock.now(), this.options.chain);
    } finally {
      await this.store.close();
    }
  }
}

/** Tells `onBatch` (the metrics) how a batch's append ended and how long it took. */
function measured(append: () => Promise<void>, events: number, onBatch: AuditOptions["onBatch"]): Promise<void> {
  if (!onBatch) return append();
  const started = performance.now();
  return append().then(
    () => onBatch(events, (performance.now() - started) / 1000, true),
    (error: unknown) => {
      onBatch(events, (performance.now() - started) / 1000, false);
      throw error;
    },
  );
}
