/**
 * Deadlines (sla-watch): reminders at 50 % and 80 % of each deadline to the responsible chat; on a breach
 * of each deadline (first response, resolution), one escalation to the sector block's chat and personally to
 * the block's head and the curator; waiting for the citizen stops the clock (paused incidents are skipped and
 * their deadlines move when it restarts; a pause longer than `maxPauseMs` is ended here); the morning digest
 * per chat (open, due today, overdue) on working days. A reopened incident has a new resolution clock, with
 * reminders and a breach of its own. All arithmetic is on the regional calendar; every message is keyed, so
 * a second pass of sla-watch sends nothing twice.
 */
import type { Calendar } from '../domain/calendar.ts';
import { MAX_SLA_PAUSE_MS, overdueDeadlines, slaProgress, type SlaUnit } from '../domain/sla.ts';
import { isOpenStatus, type IncidentStatus } from '../domain/incident-status.ts';
import type { IncidentRow } from '../store/incident.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import type { StaffStore } from '../store/staff.store.ts';
import { formatDateTime, incidentNumber, sectorName } from './format.ts';
import { notifyStaff, refreshCards, responsibleChat, type NotifyDeps } from './notify.ts';

export interface EscalationDeps extends NotifyDeps {
  staff?: StaffStore;
  calendar: () => Promise<Calendar>;
  /** Local hour (Barnaul) from which the morning digest goes out. @defaultValue 9 */
  digestHour?: number;
  /**
   * The longest a question to the citizen stops the clock; then sla-watch restarts it.
   * @defaultValue MAX_SLA_PAUSE_MS (7 days)
   */
  maxPauseMs?: number;
}

type Which = 'first_response' | 'resolution';

const WHICH_RU = { first_response: 'первого ответа', resolution: 'решения' } as const;

function unitOf(inc: IncidentRow, ref: ReferenceSnapshot, which: Which): SlaUnit {
  const p = ref.slaPolicies.get(inc.channelKind) ?? ref.slaPolicies.get('api');
  return (which === 'first_response' ? p?.firstResponse.unit : p?.resolution.unit) ?? 'working_hours';
}

/** Where the deadline's clock started: the incident's creation, or its last reopening (resolution). */
const clockStart = (inc: IncidentRow, which: Which): Date =>
  (which === 'resolution' && inc.resolutionStartedAt) || inc.createdAt;

/**
 * Key part of one resolution clock: empty for the first (so keys sent before reopenings existed stay the
 * same), the reopening moment after one — reminders and the breach come again for the new deadline.
 */
const clockKey = (inc: IncidentRow, which: Which): string =>
  which === 'resolution' && inc.resolutionStartedAt ? `:r${inc.resolutionStartedAt.getTime()}` : '';

/** 50 % and 80 % reminders; returns how many were sent. */
export async function remindDeadlines(deps: EscalationDeps, now: Date, open: IncidentRow[]): Promise<number> {
  const [ref, cal] = await Promise.all([deps.reference(), deps.calendar()]);
  let sent = 0;
  for (const inc of open) {
    if (inc.pausedAt) continue;
    for (const which of ['first_response', 'resolution'] as const) {
      if (which === 'first_response' && inc.firstRespondedAt) continue;
      const due = which === 'first_response' ? inc.firstResponseDue : inc.resolutionDue;
      const share = slaProgress(clockStart(inc, which), due, now, cal, unitOf(inc, ref, which));
      if (share >= 1 || share < 0.5) continue;
      const pct = share >= 0.8 ? 80 : 50;
      const created = await notifyStaff(deps, {
        key: `incident:${inc.id}:remind:${which}:${pct}${clockKey(inc, which)}`,
        incidentId: inc.id,
        recipient: responsibleChat(inc, ref),
        kind: 'sla_reminder',
        text:
          `Напоминание: по инциденту ${incidentNumber(inc.id)} (${sectorName(inc.sector)}) прошло ${pct} % срока ` +
          `${WHICH_RU[which]}. Срок: ${formatDateTime(due)} (время барнаульское). Суть: ${inc.summary}`,
      });
      if (created) sent++;
    }
  }
  return sent;
}

/**
 * Each missed deadline (first response, resolution) is escalated once on its own: the store flags it
 * atomically, so of two workers only one escalates; the outbox keys make a repeat harmless. Returns how many
 * deadlines were escalated.
 */
export async function escalateBreaches(deps: EscalationDeps, now: Date, batch = 200): Promise<number> {
  const ref = await deps.reference();
  let escalated = 0;
  for (const inc of await deps.incidents.newlyBreached(now, batch)) {
    const missed: Which[] = [];
    if (!inc.firstResponseBreachedAt && !inc.firstRespondedAt && inc.firstResponseDue < now)
      missed.push('first_response');
    if (!inc.resolutionBreachedAt && inc.resolutionDue < now) missed.push('resolution');
    for (const which of missed) {
      if (!(await deps.incidents.markBreached(inc.id, now, which))) continue;
      await escalate(deps, ref, inc, which);
      escalated++;
    }
  }
  return escalated;
}

async function escalate(deps: EscalationDeps, ref: ReferenceSnapshot, inc: IncidentRow, which: Which) {
  const due = which === 'first_response' ? inc.firstResponseDue : inc.resolutionDue;
  const again = which === 'resolution' && inc.resolutionStartedAt ? ' (после возобновления)' : '';
  const text =
    `Просрочен срок ${WHICH_RU[which]}${again} по инциденту ${incidentNumber(inc.id)} (${sectorName(inc.sector)}). ` +
    `Срок был: ${formatDateTime(due)}. Ответственный: ${
      (inc.agencyId && ref.agencies.get(inc.agencyId)?.shortName) || 'не назначен'
    }. Суть: ${inc.summary}`;
  const key = `incident:${inc.id}:breach:${which}${clockKey(inc, which)}`;
  await notifyStaff(deps, {
    key,
    incidentId: inc.id,
    recipient: ref.sectorBlocks.get(inc.sector)?.telegramChatId ?? null,
    kind: 'sla_breach',
    text,
  });
  // Personally to the head of the sector block and the curator.
  for (const person of (await deps.staff?.withRoles(['sector_head', 'curator'], inc.sector)) ?? []) {
    await notifyStaff(deps, {
      key: `${key}:user:${person.id}`,
      incidentId: inc.id,
      recipient: person.telegramUserId,
      kind: 'sla_breach_personal',
      text: `${person.name}, ${text.charAt(0).toLowerCase()}${text.slice(1)}`,
    });
  }
}

/**
 * Ends pauses longer than `maxPauseMs` (the citizen never answered): the clock restarts at the pause's
 * limit, the deadlines move by exactly that, and `sla_resumed` is recorded by `system`. Returns how many.
 */
export async function resumeLongPauses(deps: EscalationDeps, now: Date, batch = 200): Promise<number> {
  const max = deps.maxPauseMs ?? MAX_SLA_PAUSE_MS;
  const stale = await deps.incidents.pausedSince(new Date(now.getTime() - max), batch);
  if (!stale.length) return 0;
  const [ref, calendar] = await Promise.all([deps.reference(), deps.calendar()]);
  let resumed = 0;
  for (const inc of stale) {
    if (!inc.pausedAt) continue;
    const at = new Date(Math.min(now.getTime(), inc.pausedAt.getTime() + max));
    if (!(await deps.incidents.resume(inc.id, 'system', { ref, calendar }, at, { reason: 'max_pause' })))
      continue;
    resumed++;
    await refreshCards(deps, inc.id);
  }
  return resumed;
}

/** The morning digest per responsible chat, once a working day after `digestHour`. */
export async function sendDigests(deps: EscalationDeps, now: Date, open: IncidentRow[]): Promise<number> {
  const [ref, cal] = await Promise.all([deps.reference(), deps.calendar()]);
  const localHour = new Date(now.getTime() + cal.utcOffsetMinutes * 60_000).getUTCHours();
  if (!cal.isWorkingDay(now) || localHour < (deps.digestHour ?? 9)) return 0;
  const day = cal.localDate(now);
  const byChat = new Map<string, IncidentRow[]>();
  for (const inc of open) {
    const chat = responsibleChat(inc, ref);
    if (!chat) continue;
    byChat.set(chat, [...(byChat.get(chat) ?? []), inc]);
  }
  let sent = 0;
  for (const [chat, list] of byChat) {
    const dueToday = list.filter(
      (i) => !i.pausedAt && cal.localDate(i.resolutionDue) === day && i.resolutionDue >= now,
    );
    const overdue = list.filter((i) => overdueDeadlines(deadlineFacts(i), now).any);
    const lines = [
      `Сводка на ${day.split('-').reverse().join('.')}: открыто ${list.length}, срок сегодня ${dueToday.length}, просрочено ${overdue.length}.`,
      ...overdue.slice(0, 10).map((i) => `Просрочен: ${incidentNumber(i.id)} — ${i.summary.slice(0, 80)}`),
      ...dueToday
        .slice(0, 10)
        .map(
          (i) =>
            `Сегодня до ${formatDateTime(i.resolutionDue).slice(-5)}: ${incidentNumber(i.id)} — ${i.summary.slice(0, 80)}`,
        ),
    ];
    if (
      await notifyStaff(deps, {
        key: `digest:${chat}:${day}`,
        incidentId: null,
        recipient: chat,
        kind: 'digest',
        text: lines.join('\n'),
      })
    )
      sent++;
  }
  return sent;
}

/** What `overdueDeadlines` needs of a stored incident. */
export const deadlineFacts = (i: IncidentRow) => ({
  open: isOpenStatus(i.status as IncidentStatus),
  paused: i.pausedAt !== null,
  firstResponseDue: i.firstResponseDue,
  firstRespondedAt: i.firstRespondedAt,
  resolutionDue: i.resolutionDue,
});

export async function watchDeadlines(deps: EscalationDeps, now: Date) {
  // Long pauses end first, so the deadlines they moved are checked in the same pass.
  const resumed = await resumeLongPauses(deps, now);
  const escalated = await escalateBreaches(deps, now);
  const open = await deps.incidents.openIncidents(5000);
  const reminded = await remindDeadlines(deps, now, open);
  const digests = await sendDigests(deps, now, open);
  return { resumed, escalated, reminded, digests };
}
