/**
 * Working-time arithmetic on the regional production calendar.
 *
 * Time zone: the region lives in Asia/Barnaul, a fixed UTC+7 (no daylight saving since 2016). The offset is
 * a constant here rather than an Intl lookup, so the arithmetic is fast and pure; a local day is a number
 * (days since 1970-01-01 local) and every instant is a plain millisecond count.
 *
 * Working hours: 09:00–18:00 local with an unpaid lunch 13:00–14:00, i.e. two periods 09:00–13:00 and
 * 14:00–18:00 = 8 working hours, the statutory 40-hour week. A short (pre-holiday) day ends an hour
 * earlier, at 17:00. An hour added in working time never lands in the lunch break, and the end of a working
 * day is 18:00 (17:00 on a short day).
 *
 * Days: Saturday and Sunday are off unless the data lists them as working; the data's holidays are off.
 * Years missing from the data (before 2025, after 2027 for now) fall back to plain weekends.
 */

import { ConfigError } from './errors.ts';
import { PRODUCTION_CALENDAR, type ProductionCalendarData } from './production-calendar.data.ts';

export const REGION_TIME_ZONE = 'Asia/Barnaul';
/** Asia/Barnaul is UTC+7 all year. */
export const REGION_UTC_OFFSET_MINUTES = 7 * 60;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** A span of this many days without one working day means the data is broken; stop instead of looping. */
const MAX_DAYS_WITHOUT_WORK = 366;

/** A working period of a day, minutes from local midnight, `[start, end)`. */
export type WorkingPeriod = readonly [start: number, end: number];

export interface CalendarOptions {
  /**
   * Offset of local time from UTC, minutes.
   * @defaultValue 420 (UTC+7, Asia/Barnaul)
   */
  utcOffsetMinutes?: number;
  /**
   * Working periods of an ordinary working day, minutes from local midnight, ascending and disjoint.
   * @defaultValue 09:00–13:00 and 14:00–18:00
   */
  workingPeriods?: readonly WorkingPeriod[];
  /**
   * How much shorter a short (pre-holiday) day is, minutes, taken off the end of the day.
   * @defaultValue 60
   */
  shortDayReductionMinutes?: number;
}

export const DEFAULT_WORKING_PERIODS: readonly WorkingPeriod[] = [
  [9 * 60, 13 * 60],
  [14 * 60, 18 * 60],
];

/** How well the data knows a year. */
export type YearCoverage = 'official' | 'provisional' | 'weekends_only';

export interface Calendar {
  readonly utcOffsetMinutes: number;
  /** Whether the local day containing `date` is a working day. */
  isWorkingDay(date: Date): boolean;
  /** Whether the local day containing `date` is a shortened pre-holiday working day. */
  isShortDay(date: Date): boolean;
  /** `official` — from a decree; `provisional` — Labour Code defaults only; `weekends_only` — not in the data. */
  coverage(year: number): YearCoverage;
  /** The local calendar date of `date`, `YYYY-MM-DD`. */
  localDate(date: Date): string;
  /** `start` plus `hours` of wall-clock time (weekends and nights count). */
  addCalendarHours(start: Date, hours: number): Date;
  /**
   * The end of working time (18:00, or 17:00 on a short day) of the `days`-th working day after the local
   * day of `start`; the day of receipt itself never counts. With `days` = 0: the end of the day of receipt
   * if it is a working day, else of the next working day. `days` must be a non-negative integer.
   */
  addWorkingDays(start: Date, days: number): Date;
  /**
   * The earliest instant by which `hours` of working time have passed since `start`; the clock starts at
   * the next working moment when `start` is outside working time. Landing exactly on the end of a working
   * period gives that end (18:00), not the next morning.
   */
  addWorkingHours(start: Date, hours: number): Date;
  /** `addWorkingHours` in milliseconds. */
  addWorkingMillis(start: Date, ms: number): Date;
  /** Working time between two instants, ms; negative when `b` is before `a`. */
  workingMillisBetween(a: Date, b: Date): number;
  /** The end of working time of the local day of `date`, or null when that day is not worked. */
  endOfWorkingDay(date: Date): Date | null;
}

/** Problems in calendar data and options, one message each; empty when they are fine. */
export function validateCalendarData(data: ProductionCalendarData, options: CalendarOptions = {}): string[] {
  const problems: string[] = [];
  const seenYears = new Set<number>();
  for (const y of data) {
    if (!Number.isInteger(y.year)) {
      problems.push(`calendar: year ${String(y.year)} is not an integer`);
      continue;
    }
    if (seenYears.has(y.year)) problems.push(`calendar ${y.year}: the year is listed twice`);
    seenYears.add(y.year);

    const days = (list: readonly string[], what: string): Set<number> => {
      const out = new Set<number>();
      for (const s of list) {
        const d = parseDay(s);
        if (d === null)
          problems.push(`calendar ${y.year}: ${what} ${JSON.stringify(s)} is not a YYYY-MM-DD date`);
        else if (!s.startsWith(`${y.year}-`))
          problems.push(`calendar ${y.year}: ${what} ${s} is in another year`);
        else out.add(d);
      }
      return out;
    };
    const holidays = days(y.holidays, 'holiday');
    const workingWeekends = days(y.workingWeekends, 'working weekend');
    const shortDays = days(y.shortDays, 'short day');
    for (const d of workingWeekends) {
      if (!isWeekend(d))
        problems.push(`calendar ${y.year}: working weekend ${formatDay(d)} is not a Saturday or Sunday`);
      if (holidays.has(d))
        problems.push(`calendar ${y.year}: ${formatDay(d)} is both a holiday and a working weekend`);
    }
    for (const d of shortDays) {
      const working = workingWeekends.has(d) || (!holidays.has(d) && !isWeekend(d));
      if (!working) problems.push(`calendar ${y.year}: short day ${formatDay(d)} is not a working day`);
    }
  }

  const offset = options.utcOffsetMinutes ?? REGION_UTC_OFFSET_MINUTES;
  if (!Number.isInteger(offset) || Math.abs(offset) > 14 * 60) {
    problems.push(
      `calendar: utcOffsetMinutes ${String(offset)} is not a whole number of minutes within ±14 h`,
    );
  }
  const periods = options.workingPeriods ?? DEFAULT_WORKING_PERIODS;
  if (periods.length === 0) problems.push('calendar: workingPeriods is empty');
  let previousEnd = 0;
  for (const [start, end] of periods) {
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < previousEnd ||
      end <= start ||
      end > 24 * 60
    ) {
      problems.push(
        `calendar: working period [${start}, ${end}] must be whole minutes, ascending, disjoint, within a day`,
      );
    }
    previousEnd = end;
  }
  const reduction = options.shortDayReductionMinutes ?? 60;
  const total = periods.reduce((sum, [s, e]) => sum + (e - s), 0);
  if (!Number.isInteger(reduction) || reduction < 0 || reduction >= total) {
    problems.push(
      `calendar: shortDayReductionMinutes ${String(reduction)} must be whole minutes, ≥ 0 and below the day's length`,
    );
  }
  return problems;
}

/** Builds a calendar from production-calendar data; throws `ConfigError` listing every problem of bad data. */
export function createCalendar(data: ProductionCalendarData, options: CalendarOptions = {}): Calendar {
  const problems = validateCalendarData(data, options);
  if (problems.length > 0) throw new ConfigError(problems);

  const offsetMs = (options.utcOffsetMinutes ?? REGION_UTC_OFFSET_MINUTES) * MINUTE_MS;
  const fullDay = (options.workingPeriods ?? DEFAULT_WORKING_PERIODS).map(
    ([s, e]) => [s * MINUTE_MS, e * MINUTE_MS] as const,
  );
  const shortDay = shortenBy(fullDay, (options.shortDayReductionMinutes ?? 60) * MINUTE_MS);

  const holidays = new Set<number>();
  const workingWeekends = new Set<number>();
  const shortDays = new Set<number>();
  const coverageByYear = new Map<number, YearCoverage>();
  for (const y of data) {
    coverageByYear.set(y.year, y.provisional ? 'provisional' : 'official');
    for (const s of y.holidays) holidays.add(parseDay(s) as number);
    for (const s of y.workingWeekends) workingWeekends.add(parseDay(s) as number);
    for (const s of y.shortDays) shortDays.add(parseDay(s) as number);
  }

  const dayOf = (t: number): number => Math.floor((t + offsetMs) / DAY_MS);
  const dayStart = (day: number): number => day * DAY_MS - offsetMs;
  const isWorking = (day: number): boolean =>
    workingWeekends.has(day) || (!holidays.has(day) && !isWeekend(day));
  /** Working periods of a local day as absolute instants, empty for a day off. */
  const periodsOf = (day: number): (readonly [number, number])[] => {
    if (!isWorking(day)) return [];
    const base = dayStart(day);
    return (shortDays.has(day) ? shortDay : fullDay).map(([s, e]) => [base + s, base + e] as const);
  };
  const endOf = (day: number): number => {
    const last = periodsOf(day).at(-1);
    if (last === undefined) throw new Error(`calendar: day ${formatDay(day)} is not a working day`);
    return last[1];
  };

  const addWorkingMillis = (start: Date, ms: number): Date => {
    const t0 = instant(start);
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`calendar: cannot add ${ms} ms of working time`);
    let remaining = ms;
    if (remaining === 0) return new Date(t0);
    let idle = 0;
    for (let day = dayOf(t0); ; day++) {
      const periods = periodsOf(day);
      idle = periods.length === 0 ? idle + 1 : 0;
      if (idle > MAX_DAYS_WITHOUT_WORK) throw new Error('calendar: no working day within a year');
      for (const [ps, pe] of periods) {
        if (pe <= t0) continue;
        const from = Math.max(ps, t0);
        if (remaining <= pe - from) return new Date(from + remaining);
        remaining -= pe - from;
      }
    }
  };

  const forwardWorkingMillis = (a: number, b: number): number => {
    let sum = 0;
    for (let day = dayOf(a), last = dayOf(b); day <= last; day++) {
      for (const [ps, pe] of periodsOf(day)) {
        const from = Math.max(ps, a);
        const to = Math.min(pe, b);
        if (to > from) sum += to - from;
      }
    }
    return sum;
  };

  return {
    utcOffsetMinutes: offsetMs / MINUTE_MS,
    isWorkingDay: (date) => isWorking(dayOf(instant(date))),
    isShortDay: (date) => shortDays.has(dayOf(instant(date))), // validated: short days are working days
    coverage: (year) => coverageByYear.get(year) ?? 'weekends_only',
    localDate: (date) => formatDay(dayOf(instant(date))),
    addCalendarHours,
    addWorkingDays: (start, days) => {
      if (!Number.isInteger(days) || days < 0)
        throw new RangeError(`calendar: cannot add ${days} working days`);
      let day = dayOf(instant(start));
      let counted = 0;
      let idle = 0;
      if (days === 0 && isWorking(day)) return new Date(endOf(day));
      while (counted < Math.max(days, 1)) {
        day++;
        if (isWorking(day)) {
          counted++;
          idle = 0;
        } else if (++idle > MAX_DAYS_WITHOUT_WORK) throw new Error('calendar: no working day within a year');
      }
      return new Date(endOf(day));
    },
    addWorkingHours: (start, hours) => addWorkingMillis(start, hours * HOUR_MS),
    addWorkingMillis,
    workingMillisBetween: (a, b) => {
      const ta = instant(a);
      const tb = instant(b);
      return tb >= ta ? forwardWorkingMillis(ta, tb) : -forwardWorkingMillis(tb, ta);
    },
    endOfWorkingDay: (date) => {
      const day = dayOf(instant(date));
      return isWorking(day) ? new Date(endOf(day)) : null;
    },
  };
}

/** `start` plus `hours` of wall-clock time; needs no calendar. */
export function addCalendarHours(start: Date, hours: number): Date {
  if (!Number.isFinite(hours)) throw new RangeError(`calendar: cannot add ${hours} hours`);
  return new Date(instant(start) + hours * HOUR_MS);
}

/** The platform's calendar: the bundled 2025–2027 data, UTC+7, 09:00–18:00 with lunch 13:00–14:00. */
export const defaultCalendar: Calendar = createCalendar(PRODUCTION_CALENDAR);

function instant(date: Date): number {
  const t = date.getTime();
  if (Number.isNaN(t)) throw new RangeError('calendar: invalid date');
  return t;
}

/** `YYYY-MM-DD` → days since 1970-01-01, or null when it is not a real date. */
function parseDay(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m === null) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return formatDay(t / DAY_MS) === s ? t / DAY_MS : null;
}

function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Day 0 (1970-01-01) was a Thursday. */
function isWeekend(day: number): boolean {
  const weekday = (((day + 4) % 7) + 7) % 7; // 0 = Sunday … 6 = Saturday
  return weekday === 0 || weekday === 6;
}

/** Takes `ms` off the end of a day's periods. */
function shortenBy(
  periods: readonly (readonly [number, number])[],
  ms: number,
): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  let cut = ms;
  for (let i = periods.length - 1; i >= 0; i--) {
    const [s, e] = periods[i] as readonly [number, number];
    const taken = Math.min(cut, e - s);
    cut -= taken;
    if (e - taken > s) out.unshift([s, e - taken]);
  }
  return out;
}
