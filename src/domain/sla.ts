/**
 * SLA policies and deadlines. Every channel kind has two targets, counted from the receipt of the first
 * message of an incident: the first response (a reply, even an interim one, reaches the citizen) and the
 * resolution (the incident is resolved).
 *
 * Defaults (DEFAULT_SLA_POLICIES):
 * | channel kind      | first response           | resolution                        |
 * |-------------------|--------------------------|-----------------------------------|
 * | messenger         | 24 calendar hours        | 8 working days                    |
 * | social            | 24 calendar hours        | 8 working days                    |
 * | api               | 24 calendar hours        | 8 working days                    |
 * | feedback_platform | 8 working days           | 720 calendar hours (30 days)      |
 *
 * Messengers, social networks and HTTP/CSV ingest follow the incident practice of the ЦУР: a public
 * post gets a first reaction within a day, weekends included, and is worked off in 8 working days. The
 * feedback platform (ПОС) has its own rules: an answer within 8 working days, and an appeal under
 * 59-ФЗ is considered within 30 days of registration.
 *
 * Pauses (waiting for the citizen) stop the clock: a deadline moves by the paused time measured in the
 * target's own unit — wall-clock time for calendar hours, working time for working hours and days (a pause
 * over a weekend does not move a working-time deadline). A pause ends when a citizen who was asked writes
 * again, or by itself after MAX_SLA_PAUSE_MS.
 *
 * A reopened incident gets a fresh resolution deadline counted from the reopening (same target, same
 * calendar); the first-response deadline keeps counting from the first message.
 */

import { addCalendarHours, type Calendar } from './calendar.ts';
import type { ChannelKind } from './types.ts';

export type SlaUnit = 'calendar_hours' | 'working_hours' | 'working_days';

export interface SlaTarget {
  /** Positive; a whole number for `working_days`. */
  amount: number;
  unit: SlaUnit;
}

export interface SlaPolicy {
  channelKind: ChannelKind;
  firstResponse: SlaTarget;
  resolution: SlaTarget;
}

/** A stretch of time when the SLA clock is stopped; `to: null` while it still lasts. */
export interface SlaPause {
  from: Date;
  to: Date | null;
}

export interface SlaDeadlines {
  firstResponseDue: Date;
  resolutionDue: Date;
}

const incidentPractice = (channelKind: ChannelKind): SlaPolicy => ({
  channelKind,
  firstResponse: { amount: 24, unit: 'calendar_hours' },
  resolution: { amount: 8, unit: 'working_days' },
});

/** The longest the clock stands still waiting for the citizen: then sla-watch restarts it (7 days). */
export const MAX_SLA_PAUSE_MS = 7 * 24 * 3_600_000;

export const DEFAULT_SLA_POLICIES: Readonly<Record<ChannelKind, SlaPolicy>> = {
  messenger: incidentPractice('messenger'),
  social: incidentPractice('social'),
  api: incidentPractice('api'),
  feedback_platform: {
    channelKind: 'feedback_platform',
    firstResponse: { amount: 8, unit: 'working_days' },
    resolution: { amount: 30 * 24, unit: 'calendar_hours' },
  },
};

/** The due time of one target from `start`, without pauses. A non-positive or fractional-day amount throws. */
export function computeDue(target: SlaTarget, start: Date, calendar: Calendar): Date {
  const { amount, unit } = target;
  if (!Number.isFinite(amount) || amount <= 0 || (unit === 'working_days' && !Number.isInteger(amount))) {
    throw new RangeError(`sla: bad target ${amount} ${unit}`);
  }
  switch (unit) {
    case 'calendar_hours':
      return addCalendarHours(start, amount);
    case 'working_hours':
      return calendar.addWorkingHours(start, amount);
    case 'working_days':
      return calendar.addWorkingDays(start, amount);
  }
}

/**
 * Both deadlines of an incident received at `receivedAt`, moved by the pauses. A pause counts from
 * `max(from, receivedAt)`; one that starts at or after a deadline does not move it (the deadline had
 * passed); overlapping pauses count once. An open pause (`to: null`) lasts until `now`, so it needs `now`:
 * while it lasts the deadlines keep moving and are never breached.
 */
export function computeDeadlines(
  policy: SlaPolicy,
  receivedAt: Date,
  calendar: Calendar,
  pauses: readonly SlaPause[] = [],
  now?: Date,
): SlaDeadlines {
  const stretches = mergePauses(receivedAt, pauses, now);
  return {
    firstResponseDue: withPauses(policy.firstResponse, receivedAt, calendar, stretches),
    resolutionDue: withPauses(policy.resolution, receivedAt, calendar, stretches),
  };
}

/**
 * Share of the SLA time used at `now`: 0 at receipt, 1 at the deadline, above 1 after it (the 50 % and 80 %
 * reminders compare against it). Time is measured like the target: pass the target's `unit` (working time
 * unless it is `calendar_hours`). Paused time counts on both sides, so the share still reaches 1 at `due`.
 */
export function slaProgress(
  receivedAt: Date,
  due: Date,
  now: Date,
  calendar: Calendar,
  unit: SlaUnit = 'working_hours',
): number {
  const measure = (a: Date, b: Date): number =>
    unit === 'calendar_hours' ? b.getTime() - a.getTime() : calendar.workingMillisBetween(a, b);
  const total = measure(receivedAt, due);
  if (total <= 0) return now.getTime() >= due.getTime() ? 1 : 0;
  return Math.max(0, measure(receivedAt, now)) / total;
}

/** Whether the deadline is missed: done after `due`, or not done and `now` is past `due`. */
export function isBreached(due: Date, now: Date, doneAt: Date | null = null): boolean {
  return (doneAt ?? now).getTime() > due.getTime();
}

/** What decides whether an incident is overdue (a subset of the stored incident). */
export interface DeadlineFacts {
  /** The status is an open one (not resolved, rejected, …). */
  open: boolean;
  /** The clock stands (waiting for the citizen): nothing is overdue meanwhile. */
  paused: boolean;
  firstResponseDue: Date;
  firstRespondedAt: Date | null;
  resolutionDue: Date;
}

/**
 * Which deadlines of an incident are missed at `now`: the first response while there is none yet, the
 * resolution while it is open. A closed or paused incident is overdue on neither.
 */
export function overdueDeadlines(
  f: DeadlineFacts,
  now: Date,
): { firstResponse: boolean; resolution: boolean; any: boolean } {
  const running = f.open && !f.paused;
  const firstResponse =
    running && f.firstRespondedAt === null && f.firstResponseDue.getTime() < now.getTime();
  const resolution = running && f.resolutionDue.getTime() < now.getTime();
  return { firstResponse, resolution, any: firstResponse || resolution };
}

/** Pauses clipped to start at receipt, closed at `now` when open, sorted and merged; as [from, to] ms. */
function mergePauses(
  receivedAt: Date,
  pauses: readonly SlaPause[],
  now: Date | undefined,
): [number, number][] {
  const stretches: [number, number][] = [];
  for (const p of pauses) {
    const from = p.from.getTime();
    let to: number;
    if (p.to !== null) to = p.to.getTime();
    else if (now !== undefined) to = Math.max(from, now.getTime());
    else throw new Error('sla: an open pause needs `now`');
    if (Number.isNaN(from) || Number.isNaN(to) || to < from)
      throw new RangeError('sla: a pause ends before it starts');
    const start = Math.max(from, receivedAt.getTime());
    if (to > start) stretches.push([start, to]);
  }
  stretches.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const s of stretches) {
    const last = merged.at(-1);
    if (last !== undefined && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}

function withPauses(
  target: SlaTarget,
  receivedAt: Date,
  calendar: Calendar,
  stretches: [number, number][],
): Date {
  let due = computeDue(target, receivedAt, calendar);
  for (const [from, to] of stretches) {
    if (from >= due.getTime()) break;
    // The clock stops at `from` with the time left until `due`, and runs it off again from `to`.
    if (target.unit === 'calendar_hours') {
      due = new Date(to + (due.getTime() - from));
    } else {
      const left = calendar.workingMillisBetween(new Date(from), due);
      due = calendar.addWorkingMillis(new Date(to), left);
    }
  }
  return due;
}
