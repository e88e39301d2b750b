/**
 * The incident status machine. An incident groups the messages about one problem; its status only moves
 * along the edges of `TRANSITIONS`, and every move becomes a `status_changed` event (the audit trail).
 *
 * Main path:  new → assigned → in_progress → answered → resolved → closed
 *
 * | from        | to                                   | meaning                                                  |
 * |-------------|--------------------------------------|----------------------------------------------------------|
 * | new         | assigned, rejected*, spam            | routed to an agency; or declined / junk before routing   |
 * | assigned    | in_progress, rejected*, spam         | the agency takes it; or declines it / it is junk         |
 * | in_progress | answered, resolved, assigned         | a reply went out; fixed (the reply follows); or handed on |
 * | answered    | resolved, reopened*                  | the problem is fixed; or the citizen says it is not      |
 * | resolved    | closed, reopened*                    | confirmed (survey / timeout); or the problem is back     |
 * | closed      | reopened*                            | final, except that a problem can come back               |
 * | rejected    | reopened*                            | final, except to correct a wrong rejection               |
 * | spam        | reopened*                            | final, except to correct a wrong spam mark               |
 * | reopened    | assigned, in_progress                | back to work: to a (new) agency or straight on with it   |
 *
 * `*` — the move needs a non-empty `reason` (why it was declined / reopened), as staff and auditors read it.
 * A move to the same status is never a transition (a change of agency is its own event, not a status).
 * Once answered, an incident is not rejected or marked spam any more: it is reopened or resolved.
 */

export const INCIDENT_STATUSES = [
  'new',
  'assigned',
  'in_progress',
  'answered',
  'resolved',
  'closed',
  'rejected',
  'spam',
  'reopened',
] as const;

export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Russian display labels (an incident, «инцидент», is masculine). */
export const INCIDENT_STATUS_LABELS: Readonly<Record<IncidentStatus, string>> = {
  new: 'Новый',
  assigned: 'Назначен',
  in_progress: 'В работе',
  answered: 'Дан ответ',
  resolved: 'Решён',
  closed: 'Закрыт',
  rejected: 'Отклонён',
  spam: 'Спам',
  reopened: 'Возобновлён',
};

/** The legal moves: status → the statuses it may go to (see the table above). */
export const TRANSITIONS: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  new: ['assigned', 'rejected', 'spam'],
  assigned: ['in_progress', 'rejected', 'spam'],
  in_progress: ['answered', 'resolved', 'assigned'],
  answered: ['resolved', 'reopened'],
  resolved: ['closed', 'reopened'],
  closed: ['reopened'],
  rejected: ['reopened'],
  spam: ['reopened'],
  reopened: ['assigned', 'in_progress'],
};

/** Target statuses whose transition must carry a reason. */
export const STATUSES_REQUIRING_REASON: readonly IncidentStatus[] = ['rejected', 'reopened'];

const CLOSED_STATUSES: ReadonlySet<IncidentStatus> = new Set(['resolved', 'closed', 'rejected', 'spam']);

export function isIncidentStatus(value: unknown): value is IncidentStatus {
  return typeof value === 'string' && (INCIDENT_STATUSES as readonly string[]).includes(value);
}

/** Open = still someone's work, and SLA clocks run: anything but resolved, closed, rejected or spam. */
export function isOpenStatus(status: IncidentStatus): boolean {
  return !CLOSED_STATUSES.has(status);
}

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The event row a status change produces; the store adds ids and the incident reference. */
export interface IncidentEventDraft {
  type: 'status_changed';
  from: IncidentStatus;
  to: IncidentStatus;
  /** Who made the change: a staff user id, or a system actor such as `system:router`. */
  actor: string;
  at: Date;
  reason: string | null;
  /** Russian line for the incident history, e.g. «Статус: «Новый» → «Назначен»». */
  description: string;
}

export interface TransitionContext {
  actor: string;
  at: Date;
  reason?: string;
}

export type TransitionResult = { ok: true; event: IncidentEventDraft } | { ok: false; reason: string };

/**
 * Checks a status change and returns its event. A refused change gives a Russian `reason` fit for the UI;
 * the API turns it into an `IllegalTransitionError`. An empty actor or an invalid date is a caller bug and throws.
 */
export function transition(
  current: IncidentStatus,
  target: IncidentStatus,
  ctx: TransitionContext,
): TransitionResult {
  if (ctx.actor.trim() === '') throw new Error('transition: actor must not be empty');
  if (Number.isNaN(ctx.at.getTime())) throw new Error('transition: invalid date');

  const from = INCIDENT_STATUS_LABELS[current];
  const to = INCIDENT_STATUS_LABELS[target];
  if (current === target) return { ok: false, reason: `Инцидент уже в статусе «${to}»` };
  if (!canTransition(current, target)) {
    return { ok: false, reason: `Переход из статуса «${from}» в статус «${to}» недопустим` };
  }
  const reason = ctx.reason?.trim() || null;
  if (reason === null && STATUSES_REQUIRING_REASON.includes(target)) {
    return { ok: false, reason: `Для перехода в статус «${to}» укажите причину` };
  }
  return {
    ok: true,
    event: {
      type: 'status_changed',
      from: current,
      to: target,
      actor: ctx.actor,
      at: ctx.at,
      reason,
      description: `Статус: «${from}» → «${to}»${reason === null ? '' : `. Причина: ${reason}`}`,
    },
  };
}
