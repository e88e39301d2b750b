import { describe, expect, it } from 'vitest';
import {
  REGION_UTC_OFFSET_MINUTES,
  addCalendarHours,
  createCalendar,
  defaultCalendar as cal,
  validateCalendarData,
} from './calendar.ts';
import { ConfigError } from './errors.ts';
import { PRODUCTION_CALENDAR, type ProductionCalendarYear } from './production-calendar.data.ts';

/** An instant given in Barnaul local time (UTC+7). */
const L = (local: string): Date => new Date(`${local}:00+07:00`);
const H = 3_600_000;
/** Local midnight of a date. */
const day = (d: string): Date => L(`${d}T00:00`);

function workingDaysOfYear(year: number): number {
  let n = 0;
  for (let d = day(`${year}-01-01`); d < day(`${year + 1}-01-01`); d = addCalendarHours(d, 24)) {
    if (cal.isWorkingDay(d)) n++;
  }
  return n;
}

describe('the bundled production calendar', () => {
  it('has valid data for 2025, 2026 (official) and 2027 (provisional)', () => {
    expect(validateCalendarData(PRODUCTION_CALENDAR)).toEqual([]);
    expect(PRODUCTION_CALENDAR.map((y) => [y.year, y.provisional])).toEqual([
      [2025, false],
      [2026, false],
      [2027, true],
    ]);
    expect(cal.coverage(2025)).toBe('official');
    expect(cal.coverage(2026)).toBe('official');
    expect(cal.coverage(2027)).toBe('provisional');
    expect(cal.coverage(2024)).toBe('weekends_only');
    expect(cal.coverage(2028)).toBe('weekends_only');
  });

  it.each([
    [2025, 247, 1972],
    [2026, 247, 1972],
    [2027, 249, 1987], // provisional: no decree transfers yet
  ])('%i: %i working days, %i working hours (the norm at 40 h/week)', (year, days, hours) => {
    expect(workingDaysOfYear(year)).toBe(days);
    expect(cal.workingMillisBetween(day(`${year}-01-01`), day(`${year + 1}-01-01`)) / H).toBe(hours);
  });

  it.each([
    // 2025
    ['2025-01-08', false], // last of the New Year holidays
    ['2025-01-09', true],
    ['2025-02-24', true], // Feb 23 (Sun) was moved to May 8, not to Monday
    ['2025-03-10', true], // Mar 8 (Sat) was moved to Jun 13
    ['2025-05-02', false], // from Sat Jan 4
    ['2025-05-05', true],
    ['2025-05-08', false], // from Sun Feb 23
    ['2025-05-12', true],
    ['2025-06-12', false],
    ['2025-06-13', false], // from Sat Mar 8
    ['2025-11-01', true], // working Saturday
    ['2025-11-03', false], // from Sat Nov 1
    ['2025-11-04', false],
    ['2025-12-31', false], // from Sun Jan 5
    // 2026
    ['2026-01-09', false], // from Sat Jan 3
    ['2026-01-12', true],
    ['2026-02-23', false],
    ['2026-03-09', false], // Mar 8 is a Sunday
    ['2026-05-11', false], // May 9 is a Saturday
    ['2026-06-12', false],
    ['2026-11-04', false],
    ['2026-12-31', false], // from Sun Jan 4
    // 2027, provisional
    ['2027-01-08', false],
    ['2027-01-11', true],
    ['2027-05-03', false],
    ['2027-05-10', false],
    ['2027-06-14', false],
    ['2027-12-31', true],
    // outside the data: plain weekends
    ['2024-12-31', true],
    ['2028-01-03', true],
    ['2028-01-01', false],
  ] as const)('isWorkingDay(%s) = %s', (d, working) => {
    expect(cal.isWorkingDay(L(`${d}T12:00`))).toBe(working);
  });

  it('knows the short days', () => {
    for (const d of [
      '2025-03-07',
      '2025-04-30',
      '2025-06-11',
      '2025-11-01',
      '2026-05-08',
      '2026-11-03',
      '2027-12-31',
    ]) {
      expect(cal.isShortDay(L(`${d}T10:00`)), d).toBe(true);
      expect(cal.endOfWorkingDay(L(`${d}T10:00`)), d).toEqual(L(`${d}T17:00`));
    }
    expect(cal.isShortDay(L('2025-12-30T10:00'))).toBe(false); // Dec 31 is a moved day off, not a holiday
    expect(cal.endOfWorkingDay(L('2025-12-30T10:00'))).toEqual(L('2025-12-30T18:00'));
    expect(cal.endOfWorkingDay(L('2025-12-31T10:00'))).toBeNull();
  });
});

describe('addWorkingDays: n working days after the day of receipt, until the end of the working day', () => {
  it('Fri 2025-12-26 evening + 8 working days crosses the New Year holidays to Mon 2026-01-19 18:00', () => {
    // counted: Dec 29, Dec 30, Jan 12, 13, 14, 15, 16, 19 (Dec 31 and Jan 1–11 are off)
    expect(cal.addWorkingDays(L('2025-12-26T19:30'), 8)).toEqual(L('2026-01-19T18:00'));
    expect(cal.addWorkingDays(L('2025-12-26T19:30'), 8).toISOString()).toBe('2026-01-19T11:00:00.000Z');
  });

  it('does not count the day of receipt, even when received before 09:00', () => {
    expect(cal.addWorkingDays(L('2025-12-29T07:00'), 1)).toEqual(L('2025-12-30T18:00'));
    expect(cal.addWorkingDays(L('2025-12-29T17:59'), 1)).toEqual(L('2025-12-30T18:00'));
  });

  it('jumps the whole 2026 New Year break', () => {
    expect(cal.addWorkingDays(L('2025-12-30T10:00'), 1)).toEqual(L('2026-01-12T18:00'));
    expect(cal.addWorkingDays(L('2026-01-01T10:00'), 1)).toEqual(L('2026-01-12T18:00'));
    expect(cal.addWorkingDays(L('2026-01-05T10:00'), 2)).toEqual(L('2026-01-13T18:00'));
  });

  it('crosses the May 2025 holidays (May 1–4 and 8–11)', () => {
    // counted after Apr 30: May 5, 6, 7, 12, 13, 14, 15, 16
    expect(cal.addWorkingDays(L('2025-04-30T10:00'), 8)).toEqual(L('2025-05-16T18:00'));
    expect(cal.addWorkingDays(L('2025-04-29T10:00'), 1)).toEqual(L('2025-04-30T17:00')); // short day
    expect(cal.addWorkingDays(L('2025-05-07T10:00'), 1)).toEqual(L('2025-05-12T18:00'));
  });

  it('counts the working Saturday Nov 1 2025 (a short day) and skips Nov 2–4', () => {
    expect(cal.addWorkingDays(L('2025-10-31T12:00'), 1)).toEqual(L('2025-11-01T17:00'));
    expect(cal.addWorkingDays(L('2025-10-31T12:00'), 2)).toEqual(L('2025-11-05T18:00'));
    expect(cal.addWorkingDays(L('2025-11-01T12:00'), 1)).toEqual(L('2025-11-05T18:00'));
  });

  it('with 0 days ends the day of receipt, or the next working day', () => {
    expect(cal.addWorkingDays(L('2025-12-29T10:00'), 0)).toEqual(L('2025-12-29T18:00'));
    expect(cal.addWorkingDays(L('2025-12-27T10:00'), 0)).toEqual(L('2025-12-29T18:00'));
  });

  it('runs from the provisional year into years without data', () => {
    // Dec 31 2027 (Fri, short) + 1 → Mon Jan 3 2028 (plain weekends)
    expect(cal.addWorkingDays(L('2027-12-30T10:00'), 1)).toEqual(L('2027-12-31T17:00'));
    expect(cal.addWorkingDays(L('2027-12-31T10:00'), 1)).toEqual(L('2028-01-03T18:00'));
  });

  it('refuses a negative or fractional count', () => {
    expect(() => cal.addWorkingDays(L('2025-12-29T10:00'), -1)).toThrow(RangeError);
    expect(() => cal.addWorkingDays(L('2025-12-29T10:00'), 1.5)).toThrow(RangeError);
  });
});

describe('addWorkingHours: 09:00–13:00 and 14:00–18:00, short days to 17:00', () => {
  it('skips the lunch break', () => {
    expect(cal.addWorkingHours(L('2025-12-29T12:00'), 2)).toEqual(L('2025-12-29T15:00'));
    expect(cal.addWorkingHours(L('2025-12-29T13:30'), 1)).toEqual(L('2025-12-29T15:00'));
    expect(cal.addWorkingHours(L('2025-12-29T09:00'), 4)).toEqual(L('2025-12-29T13:00'));
  });

  it('starts the clock at 09:00 when received at night', () => {
    expect(cal.addWorkingHours(L('2025-12-29T07:00'), 1)).toEqual(L('2025-12-29T10:00'));
    expect(cal.addWorkingHours(L('2025-12-26T22:00'), 1)).toEqual(L('2025-12-29T10:00'));
  });

  it('lands on 18:00 rather than the next morning when the hours end with the day', () => {
    expect(cal.addWorkingHours(L('2025-12-29T10:00'), 7)).toEqual(L('2025-12-29T18:00'));
    expect(cal.addWorkingHours(L('2025-12-29T09:00'), 8)).toEqual(L('2025-12-29T18:00'));
    expect(cal.addWorkingHours(L('2025-12-29T09:00'), 8.5)).toEqual(L('2025-12-30T09:30'));
  });

  it('crosses the New Year break and the May holidays', () => {
    expect(cal.addWorkingHours(L('2025-12-30T17:00'), 2)).toEqual(L('2026-01-12T10:00'));
    expect(cal.addWorkingHours(L('2025-04-30T16:00'), 2)).toEqual(L('2025-05-05T10:00')); // Apr 30 ends at 17:00
    expect(cal.addWorkingHours(L('2025-05-07T17:00'), 9)).toEqual(L('2025-05-12T18:00'));
    expect(cal.addWorkingHours(L('2025-05-07T17:00'), 10)).toEqual(L('2025-05-13T10:00'));
  });

  it('works the working Saturday Nov 1 2025 (till 17:00)', () => {
    expect(cal.addWorkingHours(L('2025-10-31T17:00'), 3)).toEqual(L('2025-11-01T11:00'));
    expect(cal.addWorkingHours(L('2025-11-01T16:00'), 2)).toEqual(L('2025-11-05T10:00'));
  });

  it('adds nothing for 0 hours and refuses negative ones', () => {
    expect(cal.addWorkingHours(L('2025-12-27T03:00'), 0)).toEqual(L('2025-12-27T03:00'));
    expect(() => cal.addWorkingHours(L('2025-12-29T10:00'), -1)).toThrow(RangeError);
    expect(() => cal.addWorkingHours(L('2025-12-29T10:00'), Number.NaN)).toThrow(RangeError);
  });
});

describe('workingMillisBetween', () => {
  it('counts only working time', () => {
    expect(cal.workingMillisBetween(L('2025-12-26T17:00'), L('2025-12-29T10:00'))).toBe(2 * H);
    expect(cal.workingMillisBetween(L('2025-12-29T12:30'), L('2025-12-29T14:30'))).toBe(H);
    expect(cal.workingMillisBetween(L('2025-12-29T13:10'), L('2025-12-29T13:50'))).toBe(0);
    expect(cal.workingMillisBetween(L('2025-12-30T18:00'), L('2026-01-12T09:00'))).toBe(0);
    expect(cal.workingMillisBetween(L('2025-10-31T00:00'), L('2025-11-06T00:00'))).toBe((8 + 7 + 8) * H);
  });

  it('is negative when the end is before the start', () => {
    expect(cal.workingMillisBetween(L('2025-12-29T10:00'), L('2025-12-26T17:00'))).toBe(-2 * H);
    expect(cal.workingMillisBetween(L('2025-12-29T10:00'), L('2025-12-29T10:00'))).toBe(0);
  });

  it('inverts addWorkingHours', () => {
    const start = L('2025-12-26T15:20');
    for (const h of [0.5, 3, 8, 17, 40, 100]) {
      expect(cal.workingMillisBetween(start, cal.addWorkingHours(start, h))).toBe(h * H);
    }
  });
});

describe('the time zone: Asia/Barnaul, UTC+7 without DST', () => {
  it('is a constant offset', () => {
    expect(REGION_UTC_OFFSET_MINUTES).toBe(420);
    expect(cal.utcOffsetMinutes).toBe(420);
    expect(L('2025-07-01T09:00').toISOString()).toBe('2025-07-01T02:00:00.000Z');
    expect(L('2025-01-01T09:00').toISOString()).toBe('2025-01-01T02:00:00.000Z');
  });

  it('puts 00:30 local on the next day although UTC still says the day before', () => {
    // 2025-12-30T17:30Z is Dec 31 00:30 in Barnaul — a day off; UTC's Dec 30 was a working day
    expect(cal.localDate(new Date('2025-12-30T17:30:00Z'))).toBe('2025-12-31');
    expect(cal.isWorkingDay(new Date('2025-12-30T17:30:00Z'))).toBe(false);
    // 23:30 local is still the same local day
    expect(cal.localDate(new Date('2025-12-30T16:30:00Z'))).toBe('2025-12-30');
    expect(cal.isWorkingDay(new Date('2025-12-30T16:30:00Z'))).toBe(true);
    // Fri Oct 31 17:30Z is already the working Saturday Nov 1 locally
    expect(cal.isWorkingDay(new Date('2025-10-31T17:30:00Z'))).toBe(true);
    expect(cal.isShortDay(new Date('2025-10-31T17:30:00Z'))).toBe(true);
  });

  it('counts working days from the local day of receipt', () => {
    // Mon Dec 29 23:30 local: next working day is Tue Dec 30
    expect(cal.addWorkingDays(new Date('2025-12-29T16:30:00Z'), 1)).toEqual(L('2025-12-30T18:00'));
    // Tue Dec 30 00:30 local (still Dec 29 in UTC): next is Jan 12
    expect(cal.addWorkingDays(new Date('2025-12-29T17:30:00Z'), 1)).toEqual(L('2026-01-12T18:00'));
  });

  it('ends the working day at 11:00Z and starts it at 02:00Z', () => {
    expect(cal.endOfWorkingDay(new Date('2025-12-29T00:00:00Z'))?.toISOString()).toBe(
      '2025-12-29T11:00:00.000Z',
    );
    expect(cal.addWorkingHours(new Date('2025-12-28T20:00:00Z'), 0.5).toISOString()).toBe(
      '2025-12-29T02:30:00.000Z',
    );
  });
});

describe('addCalendarHours', () => {
  it('adds wall-clock hours through weekends and holidays', () => {
    expect(addCalendarHours(L('2025-12-31T20:00'), 24)).toEqual(L('2026-01-01T20:00'));
    expect(cal.addCalendarHours(L('2025-12-26T19:00'), 72)).toEqual(L('2025-12-29T19:00'));
    expect(() => addCalendarHours(L('2025-12-26T19:00'), Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('refuses an invalid date', () => {
    expect(() => addCalendarHours(new Date('nope'), 1)).toThrow(RangeError);
    expect(() => cal.isWorkingDay(new Date('nope'))).toThrow(RangeError);
  });
});

describe('createCalendar from edited data', () => {
  const year = (over: Partial<ProductionCalendarYear>): ProductionCalendarYear => ({
    year: 2030,
    provisional: false,
    source: 'test',
    holidays: [],
    workingWeekends: [],
    shortDays: [],
    ...over,
  });

  it('lists every problem at once and refuses to build', () => {
    const bad = [
      year({
        holidays: ['2030-02-30', '2031-01-01', '2030-03-08'],
        workingWeekends: ['2030-03-04', '2030-03-09', '2030-03-08'], // Mon; Sat; Fri-and-holiday
        shortDays: ['2030-03-08', '2030-03-10'], // a holiday; a Sunday
      }),
      year({}),
    ];
    expect(validateCalendarData(bad)).toEqual([
      'calendar 2030: holiday "2030-02-30" is not a YYYY-MM-DD date',
      'calendar 2030: holiday 2031-01-01 is in another year',
      'calendar 2030: working weekend 2030-03-04 is not a Saturday or Sunday',
      'calendar 2030: working weekend 2030-03-08 is not a Saturday or Sunday',
      'calendar 2030: 2030-03-08 is both a holiday and a working weekend',
      'calendar 2030: short day 2030-03-10 is not a working day',
      'calendar 2030: the year is listed twice',
    ]);
    expect(() => createCalendar(bad)).toThrow(ConfigError);
  });

  it('checks the options', () => {
    expect(
      validateCalendarData([], {
        utcOffsetMinutes: 7.5,
        workingPeriods: [[600, 540]],
        shortDayReductionMinutes: 600,
      }),
    ).toHaveLength(3);
    expect(validateCalendarData([], { workingPeriods: [] })).toContain('calendar: workingPeriods is empty');
  });

  it('honours a new decree entered as data', () => {
    const c = createCalendar([
      year({ holidays: ['2030-01-07'], workingWeekends: ['2030-01-05'], shortDays: ['2030-01-04'] }),
    ]);
    expect(c.isWorkingDay(L('2030-01-07T10:00'))).toBe(false); // Mon
    expect(c.isWorkingDay(L('2030-01-05T10:00'))).toBe(true); // Sat
    expect(c.addWorkingHours(L('2030-01-04T16:00'), 2)).toEqual(L('2030-01-05T10:00')); // Fri short till 17:00
    expect(c.coverage(2030)).toBe('official');
  });

  it('takes other working hours and offsets', () => {
    const noLunch = createCalendar([], { workingPeriods: [[9 * 60, 18 * 60]], utcOffsetMinutes: 180 });
    const msk = (local: string) => new Date(`${local}:00+03:00`);
    expect(noLunch.addWorkingHours(msk('2030-01-07T09:00'), 9)).toEqual(msk('2030-01-07T18:00'));
    expect(noLunch.addWorkingHours(msk('2030-01-07T12:30'), 1)).toEqual(msk('2030-01-07T13:30'));
  });

  it('stops rather than loops when the data leaves no working day', () => {
    const all: string[] = [];
    for (let d = day('2030-01-01'); d < day('2031-01-01'); d = addCalendarHours(d, 24))
      all.push(cal.localDate(d));
    const c = createCalendar([
      year({ holidays: all }),
      year({ year: 2031, holidays: all.map((d) => `2031${d.slice(4)}`) }),
    ]);
    expect(() => c.addWorkingHours(L('2030-01-01T10:00'), 1)).toThrow(/no working day/);
    expect(() => c.addWorkingDays(L('2030-01-01T10:00'), 1)).toThrow(/no working day/);
  });
});
