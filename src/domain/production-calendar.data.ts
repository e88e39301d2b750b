/**
 * The Russian production calendar (производственный календарь) for a five-day week: data, not code.
 * `calendar.ts` turns it into working-time arithmetic; later the same shape is loaded from the database,
 * where staff can edit it (a decree on transfers is published every autumn for the next year).
 *
 * Legal basis: Labour Code art. 112 (public holidays: Jan 1–6 and 8 — New Year holidays, Jan 7 — Christmas,
 * Feb 23, Mar 8, May 1, May 9, Jun 12, Nov 4; a weekend day that coincides with a holiday moves to the next
 * working day, except those in January, which the government moves by decree) and art. 95 (the working
 * day before a public holiday is one hour shorter).
 */

export interface ProductionCalendarYear {
  readonly year: number;
  /**
   * True while the government decree on transfers for the year is not known: the year then holds only
   * the Labour Code defaults and must be completed when the decree is published.
   */
  readonly provisional: boolean;
  /** Where the transfers come from (decree number and date). */
  readonly source: string;
  /**
   * Non-working days beyond ordinary Saturdays and Sundays, `YYYY-MM-DD`: every public holiday (also one
   * that falls on a weekend — listing it changes nothing but reads better) and every weekday made a day
   * off by a transfer.
   */
  readonly holidays: readonly string[];
  /** Saturdays and Sundays that are working days because a day off was moved from them. */
  readonly workingWeekends: readonly string[];
  /** Working days one hour shorter (pre-holiday days, art. 95), `YYYY-MM-DD`. */
  readonly shortDays: readonly string[];
}

export type ProductionCalendarData = readonly ProductionCalendarYear[];

export const PRODUCTION_CALENDAR: ProductionCalendarData = [
  {
    // 247 working days, 1972 hours at 40 h/week.
    // Transfers: Sat Jan 4 → Fri May 2; Sun Jan 5 → Wed Dec 31; Sun Feb 23 → Thu May 8;
    // Sat Mar 8 → Fri Jun 13; Sat Nov 1 → Mon Nov 3 (Nov 1 is worked).
    year: 2025,
    provisional: false,
    source: 'Постановление Правительства РФ от 04.10.2024 № 1335',
    holidays: [
      '2025-01-01',
      '2025-01-02',
      '2025-01-03',
      '2025-01-04',
      '2025-01-05',
      '2025-01-06',
      '2025-01-07',
      '2025-01-08',
      '2025-02-23', // Sunday; its day off moved to May 8
      '2025-03-08', // Saturday; its day off moved to Jun 13
      '2025-05-01',
      '2025-05-02', // from Sat Jan 4
      '2025-05-08', // from Sun Feb 23
      '2025-05-09',
      '2025-06-12',
      '2025-06-13', // from Sat Mar 8
      '2025-11-03', // from Sat Nov 1
      '2025-11-04',
      '2025-12-31', // from Sun Jan 5
    ],
    workingWeekends: ['2025-11-01'],
    shortDays: ['2025-03-07', '2025-04-30', '2025-06-11', '2025-11-01'],
  },
  {
    // 247 working days, 1972 hours at 40 h/week.
    // Transfers: Sat Jan 3 → Fri Jan 9; Sun Jan 4 → Thu Dec 31.
    // By art. 112 itself: Sun Mar 8 → Mon Mar 9; Sat May 9 → Mon May 11.
    year: 2026,
    provisional: false,
    source: 'Постановление Правительства РФ от 24.09.2025 № 1466',
    holidays: [
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
      '2026-01-04',
      '2026-01-05',
      '2026-01-06',
      '2026-01-07',
      '2026-01-08',
      '2026-01-09', // from Sat Jan 3
      '2026-02-23',
      '2026-03-08', // Sunday
      '2026-03-09', // art. 112: from Sun Mar 8
      '2026-05-01',
      '2026-05-09', // Saturday
      '2026-05-11', // art. 112: from Sat May 9
      '2026-06-12',
      '2026-11-04',
      '2026-12-31', // from Sun Jan 4
    ],
    workingWeekends: [],
    shortDays: ['2026-04-30', '2026-05-08', '2026-06-11', '2026-11-03'],
  },
  {
    // PROVISIONAL: the decree on 2027 transfers is not known here. Only the art. 112 defaults are applied
    // (Sat May 1 → Mon May 3, Sun May 9 → Mon May 10, Sat Jun 12 → Mon Jun 14). The government will also
    // move the days off of Sat Jan 2 and Sun Jan 3 (and may move more): enter the decree's transfers, set
    // `provisional: false` and `source` when it is published (usually in the autumn of 2026).
    year: 2027,
    provisional: true,
    source: 'Трудовой кодекс РФ, ст. 112 (постановление о переносе выходных на 2027 год не учтено)',
    holidays: [
      '2027-01-01',
      '2027-01-02',
      '2027-01-03',
      '2027-01-04',
      '2027-01-05',
      '2027-01-06',
      '2027-01-07',
      '2027-01-08',
      '2027-02-23',
      '2027-03-08',
      '2027-05-01', // Saturday
      '2027-05-03', // art. 112: from Sat May 1
      '2027-05-09', // Sunday
      '2027-05-10', // art. 112: from Sun May 9
      '2027-06-12', // Saturday
      '2027-06-14', // art. 112: from Sat Jun 12
      '2027-11-04',
    ],
    workingWeekends: [],
    shortDays: ['2027-02-22', '2027-04-30', '2027-06-11', '2027-11-03', '2027-12-31'],
  },
];
