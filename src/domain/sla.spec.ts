import { describe, expect, it } from 'vitest';
import { defaultCalendar as cal } from './calendar.ts';
import {
  DEFAULT_SLA_POLICIES,
  computeDeadlines,
  computeDue,
  isBreached,
  MAX_SLA_PAUSE_MS,
  overdueDeadlines,
  slaProgress,
  type SlaPolicy,
} from './sla.ts';
import { CHANNEL_KINDS } from './types.ts';

/** An instant given in Barnaul local time (UTC+7). */
const L = (local: string): Date => new Date(`${local}:00+07:00`);
const messenger = DEFAULT_SLA_POLICIES.messenger;
const pause = (from: string, to: string | null) => ({ from: L(from), to: to === null ? null : L(to) });

describe('DEFAULT_SLA_POLICIES', () => {
  it('has a policy for every channel kind', () => {
    for (const kind of CHANNEL_KINDS) expect(DEFAULT_SLA_POLICIES[kind].channelKind).toBe(kind);
  });

  it('answers messengers, social networks and the API within 24 calendar hours and resolves in 8 working days', () => {
    for (const kind of ['messenger', 'social', 'api'] as const) {
      expect(DEFAULT_SLA_POLICIES[kind].firstResponse).toEqual({ amount: 24, unit: 'calendar_hours' });
      expect(DEFAULT_SLA_POLICIES[kind].resolution).toEqual({ amount: 8, unit: 'working_days' });
    }
  });

  it('answers the feedback platform in 8 working days and resolves in 30 days', () => {
    expect(DEFAULT_SLA_POLICIES.feedback_platform.firstResponse).toEqual({ amount: 8, unit: 'working_days' });
    expect(DEFAULT_SLA_POLICIES.feedback_platform.resolution).toEqual({
      amount: 720,
      unit: 'calendar_hours',
    });
  });
});

describe('computeDeadlines without pauses', () => {
  it('a Friday-evening post: first response by Saturday evening, resolution after the New Year break', () => {
    expect(computeDeadlines(messenger, L('2025-12-26T19:30'), cal)).toEqual({
      firstResponseDue: L('2025-12-27T19:30'),
      resolutionDue: L('2026-01-19T18:00'),
    });
  });

  it('a feedback-platform message', () => {
    expect(computeDeadlines(DEFAULT_SLA_POLICIES.feedback_platform, L('2025-12-26T19:30'), cal)).toEqual({
      firstResponseDue: L('2026-01-19T18:00'),
      resolutionDue: L('2026-01-25T19:30'),
    });
  });

  it('a working-hours target skips nights, lunch and holidays', () => {
    const policy: SlaPolicy = {
      channelKind: 'api',
      firstResponse: { amount: 4, unit: 'working_hours' },
      resolution: { amount: 16, unit: 'working_hours' },
    };
    expect(computeDeadlines(policy, L('2025-04-30T15:00'), cal)).toEqual({
      firstResponseDue: L('2025-05-05T11:00'), // Apr 30 is short: 15:00–17:00, then May 5 09:00–11:00
      resolutionDue: L('2025-05-06T16:00'),
    });
  });

  it('refuses a target that makes no sense', () => {
    expect(() => computeDue({ amount: 0, unit: 'calendar_hours' }, L('2025-12-29T10:00'), cal)).toThrow(
      RangeError,
    );
    expect(() => computeDue({ amount: -1, unit: 'working_hours' }, L('2025-12-29T10:00'), cal)).toThrow(
      RangeError,
    );
    expect(() => computeDue({ amount: 1.5, unit: 'working_days' }, L('2025-12-29T10:00'), cal)).toThrow(
      RangeError,
    );
    expect(computeDue({ amount: 1.5, unit: 'working_hours' }, L('2025-12-29T10:00'), cal)).toEqual(
      L('2025-12-29T11:30'),
    );
  });
});

describe('computeDeadlines with pauses (waiting for the citizen)', () => {
  const receivedAt = L('2025-12-29T10:00'); // Mon
  const base = { firstResponseDue: L('2025-12-30T10:00'), resolutionDue: L('2026-01-20T18:00') };

  it('has the expected base deadlines', () => {
    // 8 working days after Dec 29: Dec 30, Jan 12, 13, 14, 15, 16, 19, 20
    expect(computeDeadlines(messenger, receivedAt, cal)).toEqual(base);
    expect(computeDeadlines(messenger, receivedAt, cal, [])).toEqual(base);
  });

  it('moves a calendar deadline by wall-clock time and a working deadline by working time', () => {
    // 12:00–15:00 is 3 calendar hours but only 2 working hours (lunch 13–14)
    expect(
      computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-29T12:00', '2025-12-29T15:00')]),
    ).toEqual({
      firstResponseDue: L('2025-12-30T13:00'),
      resolutionDue: L('2026-01-21T11:00'),
    });
  });

  it('does not move a working deadline for a pause over a night or a weekend', () => {
    const r = computeDeadlines(messenger, receivedAt, cal, [pause('2026-01-16T18:00', '2026-01-19T09:00')]);
    expect(r).toEqual(base); // the pause also starts after the first-response deadline
  });

  it('moves a working-days deadline by whole working days over the holidays', () => {
    // paused from Tue Dec 30 09:00 to Mon Jan 12 09:00: one working day (Dec 30) lost
    const r = computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-30T09:00', '2026-01-12T09:00')]);
    expect(r.resolutionDue).toEqual(L('2026-01-21T18:00'));
    expect(r.firstResponseDue).toEqual(L('2026-01-12T10:00')); // 1 h was left at the pause, 13 days paused
  });

  it('ignores a pause that starts after the deadline', () => {
    const r = computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-30T11:00', '2025-12-30T15:00')]);
    expect(r.firstResponseDue).toEqual(base.firstResponseDue);
    expect(r.resolutionDue).toEqual(L('2026-01-21T12:00')); // 11–13 and 14–15 = 3 working hours
  });

  it('counts a pause only from the receipt', () => {
    const r = computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-29T08:00', '2025-12-29T11:00')]);
    expect(r).toEqual({ firstResponseDue: L('2025-12-30T11:00'), resolutionDue: L('2026-01-21T10:00') });
  });

  it('counts overlapping pauses once and adds separate ones', () => {
    const overlapping = [
      pause('2025-12-29T11:00', '2025-12-29T12:00'),
      pause('2025-12-29T11:30', '2025-12-29T12:30'),
    ];
    expect(computeDeadlines(messenger, receivedAt, cal, overlapping).firstResponseDue).toEqual(
      L('2025-12-30T11:30'),
    );
    const separate = [
      pause('2025-12-29T16:00', '2025-12-29T17:00'),
      pause('2025-12-29T11:00', '2025-12-29T12:00'),
    ];
    const r = computeDeadlines(messenger, receivedAt, cal, separate);
    expect(r.firstResponseDue).toEqual(L('2025-12-30T12:00'));
    expect(r.resolutionDue).toEqual(L('2026-01-21T11:00'));
  });

  it('keeps moving the deadlines while a pause is open, so it never breaches', () => {
    const now = L('2025-12-30T15:00');
    const r = computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-29T11:00', null)], now);
    expect(r.firstResponseDue).toEqual(L('2025-12-31T14:00')); // 23 h were left at 11:00 on Dec 29
    expect(isBreached(r.firstResponseDue, now)).toBe(false);
    // paused so far: Dec 29 11–13, 14–18 and Dec 30 9–13, 14–15 = 11 working hours
    expect(r.resolutionDue).toEqual(L('2026-01-22T12:00'));
  });

  it('needs `now` for an open pause and refuses a pause that ends before it starts', () => {
    expect(() => computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-29T11:00', null)])).toThrow(
      /now/,
    );
    expect(() =>
      computeDeadlines(messenger, receivedAt, cal, [pause('2025-12-29T11:00', '2025-12-29T10:59')]),
    ).toThrow(RangeError);
  });
});

describe('slaProgress and isBreached', () => {
  const receivedAt = L('2025-12-29T09:00');
  const due = cal.addWorkingHours(receivedAt, 8); // Mon 18:00

  it('measures working time for working targets (lunch excluded)', () => {
    expect(due).toEqual(L('2025-12-29T18:00'));
    expect(slaProgress(receivedAt, due, L('2025-12-29T09:00'), cal)).toBe(0);
    expect(slaProgress(receivedAt, due, L('2025-12-29T13:30'), cal, 'working_hours')).toBe(0.5);
    expect(slaProgress(receivedAt, due, L('2025-12-29T16:24'), cal, 'working_days')).toBeCloseTo(0.8, 10);
    expect(slaProgress(receivedAt, due, L('2025-12-29T18:00'), cal)).toBe(1);
    expect(slaProgress(receivedAt, due, L('2025-12-30T10:00'), cal)).toBe(1.125);
    expect(slaProgress(receivedAt, due, L('2025-12-28T10:00'), cal)).toBe(0);
  });

  it('measures wall-clock time for calendar targets', () => {
    const frDue = L('2025-12-30T09:00');
    expect(slaProgress(receivedAt, frDue, L('2025-12-29T21:00'), cal, 'calendar_hours')).toBe(0.5);
    expect(slaProgress(receivedAt, frDue, L('2025-12-30T15:00'), cal, 'calendar_hours')).toBe(1.25);
  });

  it('gives 0 or 1 when there is no time to measure', () => {
    const night = L('2025-12-27T03:00');
    expect(slaProgress(night, night, L('2025-12-27T02:00'), cal)).toBe(0);
    expect(slaProgress(night, night, L('2025-12-27T04:00'), cal)).toBe(1);
  });

  it('isBreached: past the due time, or done after it', () => {
    expect(isBreached(due, L('2025-12-29T18:00'))).toBe(false);
    expect(isBreached(due, L('2025-12-29T18:01'))).toBe(true);
    expect(isBreached(due, L('2025-12-30T10:00'), L('2025-12-29T17:00'))).toBe(false);
    expect(isBreached(due, L('2025-12-29T12:00'), L('2025-12-29T18:30'))).toBe(true);
    expect(isBreached(due, L('2025-12-29T12:00'), null)).toBe(false);
  });
});

describe('overdueDeadlines', () => {
  const base = {
    open: true,
    paused: false,
    firstResponseDue: L('2026-03-02T10:00'),
    firstRespondedAt: null,
    resolutionDue: L('2026-03-12T18:00'),
  };

  it('a missed first response with none given is overdue, the resolution still running', () => {
    expect(overdueDeadlines(base, L('2026-03-02T11:00'))).toEqual({
      firstResponse: true,
      resolution: false,
      any: true,
    });
  });

  it('a first response given, even late, no longer counts; a missed resolution does', () => {
    const answered = { ...base, firstRespondedAt: L('2026-03-02T12:00') };
    expect(overdueDeadlines(answered, L('2026-03-03T09:00')).any).toBe(false);
    expect(overdueDeadlines(answered, L('2026-03-13T09:00'))).toEqual({
      firstResponse: false,
      resolution: true,
      any: true,
    });
  });

  it('nothing is overdue at the deadline itself, while paused, or once closed', () => {
    expect(overdueDeadlines(base, base.firstResponseDue).any).toBe(false);
    expect(overdueDeadlines({ ...base, paused: true }, L('2026-03-13T09:00')).any).toBe(false);
    expect(overdueDeadlines({ ...base, open: false }, L('2026-03-13T09:00')).any).toBe(false);
  });
});

describe('MAX_SLA_PAUSE_MS', () => {
  it('is 7 days', () => expect(MAX_SLA_PAUSE_MS).toBe(7 * 24 * 3_600_000));
});
