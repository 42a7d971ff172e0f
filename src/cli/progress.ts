/**
 * A one-line progress report for long CLI commands (`audit export`, `audit verify`): done, rate
 * and time left, redrawn at most every 200 ms on stderr. Only on a terminal: piped or redirected,
 * the command stays quiet, so scripts read its result and nothing else.
 */
export interface ProgressLine {
  /** `done` of `total` units (total 0: unknown), `events` processed so far. */
  update(events: number, done: number, total: number): void;
  finish(): void;
}

const QUIET: ProgressLine = { update() {}, finish() {} };

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function progressLine(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = () => performance.now(),
): ProgressLine {
  if (!stream.isTTY) return QUIET;
  const start = now();
  let drawn = 0;
  let shown = false;
  return {
    update(events, done, total) {
      const t = now();
      if (t - drawn < 200) return;
      drawn = t;
      const seconds = (t - start) / 1000;
      const rate = seconds > 0 ? events / seconds : 0;
      const left = total > 0 && done > 0 ? (seconds * (total - done)) / done : Number.NaN;
      const percent = total > 0 ? ` ${Math.min(100, Math.floor((100 * done) / total))}%,` : "";
      stream.write(
        `\r\x1b[K${label}:${percent} ${events.toLocaleString("en-US")} events, ${Math.round(rate).toLocaleString("en-US")}/s, ${duration(left)} left`,
      );
      shown = true;
    },
    finish() {
      if (shown) stream.write("\r\x1b[K");
    },
  };
}
