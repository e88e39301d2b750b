import { describe, expect, it } from 'vitest';
import {
  INCIDENT_STATUSES,
  INCIDENT_STATUS_LABELS,
  STATUSES_REQUIRING_REASON,
  canTransition,
  isIncidentStatus,
  isOpenStatus,
  transition,
  type IncidentStatus,
} from './incident-status.ts';

const at = new Date('2025-11-05T03:00:00Z');
const ctx = { actor: 'user:42', at, reason: 'проверка' };

/** The table of the README, written out independently of TRANSITIONS. */
const LEGAL: readonly (readonly [IncidentStatus, IncidentStatus])[] = [
  ['new', 'assigned'],
  ['new', 'rejected'],
  ['new', 'spam'],
  ['assigned', 'in_progress'],
  ['assigned', 'rejected'],
  ['assigned', 'spam'],
  ['in_progress', 'answered'],
  ['in_progress', 'resolved'],
  ['in_progress', 'assigned'],
  ['answered', 'resolved'],
  ['answered', 'reopened'],
  ['resolved', 'closed'],
  ['resolved', 'reopened'],
  ['closed', 'reopened'],
  ['rejected', 'reopened'],
  ['spam', 'reopened'],
  ['reopened', 'assigned'],
  ['reopened', 'in_progress'],
];
const isLegal = (from: IncidentStatus, to: IncidentStatus) => LEGAL.some(([f, t]) => f === from && t === to);
const ALL_PAIRS = INCIDENT_STATUSES.flatMap((from) => INCIDENT_STATUSES.map((to) => [from, to] as const));

describe('incident statuses', () => {
  it('lists nine statuses, each with a Russian label', () => {
    expect(INCIDENT_STATUSES).toHaveLength(9);
    for (const s of INCIDENT_STATUSES) expect(INCIDENT_STATUS_LABELS[s]).toMatch(/^[А-ЯЁ][а-яё ]+$/);
    expect(INCIDENT_STATUS_LABELS.in_progress).toBe('В работе');
  });

  it('knows its statuses', () => {
    expect(isIncidentStatus('answered')).toBe(true);
    expect(isIncidentStatus('done')).toBe(false);
    expect(isIncidentStatus(3)).toBe(false);
  });

  it.each(
    INCIDENT_STATUSES.map((s) => [s, !['resolved', 'closed', 'rejected', 'spam'].includes(s)] as const),
  )('isOpenStatus(%s) = %s', (s, open) => expect(isOpenStatus(s)).toBe(open));
});

describe('transition: every legal move', () => {
  it.each(LEGAL)('%s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    const r = transition(from, to, ctx);
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'status_changed',
        from,
        to,
        actor: 'user:42',
        at,
        reason: 'проверка',
        description: `Статус: «${INCIDENT_STATUS_LABELS[from]}» → «${INCIDENT_STATUS_LABELS[to]}». Причина: проверка`,
      },
    });
  });
});

describe('transition: every illegal move', () => {
  const illegal = ALL_PAIRS.filter(([from, to]) => !isLegal(from, to));

  it('covers the other 64 of the 81 pairs', () => expect(illegal).toHaveLength(81 - LEGAL.length));

  it.each(illegal)('%s → %s is refused', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    const r = transition(from, to, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(`«${INCIDENT_STATUS_LABELS[to]}»`);
  });

  it('explains a move to the same status and a forbidden move in Russian', () => {
    expect(transition('assigned', 'assigned', ctx)).toEqual({
      ok: false,
      reason: 'Инцидент уже в статусе «Назначен»',
    });
    expect(transition('closed', 'in_progress', ctx)).toEqual({
      ok: false,
      reason: 'Переход из статуса «Закрыт» в статус «В работе» недопустим',
    });
  });

  it('keeps the important refusals', () => {
    expect(canTransition('closed', 'assigned')).toBe(false); // closed only reopens
    expect(canTransition('new', 'resolved')).toBe(false); // no skipping the work
    expect(canTransition('answered', 'spam')).toBe(false); // answered is not junk any more
    expect(canTransition('in_progress', 'rejected')).toBe(false);
    expect(canTransition('reopened', 'closed')).toBe(false);
    expect(canTransition('spam', 'assigned')).toBe(false); // a correction goes through reopened
  });
});

describe('transition: reasons', () => {
  it('requires a reason to reject and to reopen', () => {
    expect(STATUSES_REQUIRING_REASON).toEqual(['rejected', 'reopened']);
    for (const [from, to] of LEGAL.filter(([, t]) => STATUSES_REQUIRING_REASON.includes(t))) {
      for (const reason of [undefined, '', '   ']) {
        const r = transition(from, to, { actor: 'user:1', at, ...(reason === undefined ? {} : { reason }) });
        expect(r).toEqual({
          ok: false,
          reason: `Для перехода в статус «${INCIDENT_STATUS_LABELS[to]}» укажите причину`,
        });
      }
    }
  });

  it('takes other moves without a reason and stores null', () => {
    const r = transition('new', 'assigned', { actor: 'system:router', at });
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'status_changed',
        from: 'new',
        to: 'assigned',
        actor: 'system:router',
        at,
        reason: null,
        description: 'Статус: «Новый» → «Назначен»',
      },
    });
    expect(transition('new', 'spam', { actor: 'user:1', at }).ok).toBe(true);
  });

  it('trims the reason', () => {
    const r = transition('closed', 'reopened', {
      actor: 'user:1',
      at,
      reason: '  житель сообщил, что яма снова появилась ',
    });
    expect(r.ok && r.event.reason).toBe('житель сообщил, что яма снова появилась');
  });
});

describe('transition: broken invariants throw', () => {
  it('needs an actor and a valid date', () => {
    expect(() => transition('new', 'assigned', { actor: ' ', at })).toThrow(/actor/);
    expect(() => transition('new', 'assigned', { actor: 'user:1', at: new Date('nope') })).toThrow(/date/);
  });
});
