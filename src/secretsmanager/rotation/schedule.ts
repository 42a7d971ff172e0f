/**
 * RotationRules: AutomaticallyAfterDays, or a ScheduleExpression (`rate(N days|hours)` or AWS's
 * six-field `cron(minutes hours day-of-month month day-of-week year)`, UTC), with an optional
 * Duration window. Checked once when RotateSecret stores them, then used to compute the next
 * rotation date. https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
 */
import { DAY_MS } from "../../clock.js";
import { ServiceError } from "../../errors.js";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Secrets Manager rotates at most every four hours. */
const MIN_HOURS = 4;
/** How far ahead a cron expression is searched for its next time (a `year` field can push it far). */
const CRON_HORIZON_DAYS = 366 * 5;

export interface RotationRules {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

export type Schedule =
  | { kind: "days"; days: number; windowHours: number }
  | { kind: "hours"; hours: number; windowHours: number }
  | { kind: "cron"; cron: Cron; windowHours: number };

interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number> | undefined;
  months: Set<number>;
  daysOfWeek: Set<number> | undefined;
  years: Set<number> | undefined;
}

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message);
}

/** The schedule the rules describe; InvalidParameterException naming what is wrong. */
export function parseRules(rules: RotationRules): Schedule {
  const { AutomaticallyAfterDays: days, ScheduleExpression: expression, Duration: duration } = rules;
  if (days !== undefined && expression !== undefined) {
    throw invalid("You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.");
  }
  if (days === undefined && expression === undefined) {
    throw invalid("RotationRules needs AutomaticallyAfterDays or ScheduleExpression.");
  }
  let windowHours: number | undefined;
  if (duration !== undefined) {
    windowHours = Number(duration.slice(0, -1));
    if (!/^[0-9]{1,2}h$/.test(duration) || windowHours < 1 || windowHours > 24) {
      throw invalid(`The rotation window Duration '${duration}' must be between 1h and 24h.`);
    }
  }
  if (days !== undefined) return { kind: "days", days, windowHours: windowHours ?? 24 };
  const text = expression!.trim();
  const rate = /^rate\(\s*([0-9]{1,6})\s+(day|days|hour|hours)\s*\)$/.exec(text);
  if (rate) {
    const n = Number(rate[1]);
    if (rate[2]!.startsWith("day")) {
      if (n < 1 || n > 1000) throw invalid(`The rate ${text} must be between 1 and 1000 days.`);
      return { kind: "days", days: n, windowHours: windowHours ?? 24 };
    }
    if (n < MIN_HOURS || n > 1000 * 24) throw invalid(`The rate ${text} must be at least ${MIN_HOURS} hours.`);
    const window = windowHours ?? 1;
    if (window > n) throw invalid(`The rotation window ${duration} must end before the next rotation window.`);
    return { kind: "hours", hours: n, windowHours: window };
  }
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) {
    const parsed = parseCron(cron[1]!);
    return { kind: "cron", cron: parsed, windowHours: windowHours ?? (parsed.hours.size > 1 ? 1 : 24) };
  }
  throw invalid(`The schedule expression '${text}' is not a rate(…) or cron(…) expression.`);
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

function parseCron(body: string): Cron {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw invalid(`A cron expression has six fields (minutes hours day-of-month month day-of-week year); '${body}' has ${fields.length}.`);
  }
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === "?") === (dow === "?")) {
    throw invalid("In a cron expression exactly one of day-of-month and day-of-week must be '?'.");
  }
  const cron: Cron = {
    minutes: field(min, 0, 59, "minutes"),
    hours: field(hour, 0, 23, "hours"),
    daysOfMonth: dom === "?" ? undefined : field(dom, 1, 31, "day-of-month"),
    months: field(month, 1, 12, "month", MONTHS, 1),
    daysOfWeek: dow === "?" ? undefined : field(dow, 1, 7, "day-of-week", DAYS, 1),
    years: year === "*" ? undefined : field(year, 1970, 2199, "year"),
  };
  // Secrets Manager rotates at most every four hours: hours in one day must be at least four apart.
  const hours = [...cron.hours].sort((a, b) => a - b);
  for (let i = 1; i < hours.length; i++) {
    if (hours[i]! - hours[i - 1]! < MIN_HOURS) throw invalid(`Secrets Manager rotates at most every ${MIN_HOURS} hours.`);
  }
  if (cron.minutes.size !== 1) throw invalid("The minutes field of a rotation cron expression must be a single value.");
  return cron;
}

/** One cron field: `*`, values, names, ranges and steps, comma-separated. L, W and # are refused. */
function field(text: string, lo: number, hi: number, name: string, names?: readonly string[], base = 0): Set<number> {
  const out = new Set<number>();
  const value = (t: string): number => {
    const named = names?.indexOf(t.toUpperCase()) ?? -1;
    const n = named >= 0 ? named + base : /^[0-9]{1,4}$/.test(t) ? Number(t) : NaN;
    if (!(n >= lo && n <= hi)) throw invalid(`The cron ${name} field has '${t}', not a value from ${lo} to ${hi}.`);
    return n;
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || step > hi) throw invalid(`The cron ${name} field has a bad step in '${part}'.`);
    let from: number;
    let to: number;
    if (range === "*") [from, to] = [lo, hi];
    else if (range.includes("-")) {
      const [a, b] = range.split("-") as [string, string];
      [from, to] = [value(a), value(b)];
      if (from > to) throw invalid(`The cron ${name} field has a backwards range '${range}'.`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : hi;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/** The start of the next rotation window after `from` (ms): the schedule's next time, UTC. */
export function nextRotation(schedule: Schedule, from: number): number {
  switch (schedule.kind) {
    case "days":
      // The window starts at midnight UTC, the given number of days after the last rotation.
      return Math.floor(from / DAY_MS) * DAY_MS + schedule.days * DAY_MS;
    case "hours":
      return Math.floor(from / HOUR_MS) * HOUR_MS + schedule.hours * HOUR_MS;
    case "cron":
      return nextCron(schedule.cron, from);
  }
}

function nextCron(cron: Cron, from: number): number {
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minute = [...cron.minutes][0]!;
  const firstDay = Math.floor(from / DAY_MS);
  for (let d = firstDay; d <= firstDay + CRON_HORIZON_DAYS; d++) {
    const date = new Date(d * DAY_MS);
    if (cron.years && !cron.years.has(date.getUTCFullYear())) continue;
    if (!cron.months.has(date.getUTCMonth() + 1)) continue;
    if (cron.daysOfMonth && !cron.daysOfMonth.has(date.getUTCDate())) continue;
    if (cron.daysOfWeek && !cron.daysOfWeek.has(date.getUTCDay() + 1)) continue;
    for (const h of hours) {
      const t = d * DAY_MS + h * HOUR_MS + minute * MINUTE_MS;
      if (t > from) return t;
    }
  }
  throw invalid("The cron expression names no time in the next five years.");
}
