/**
 * Deadlines (sla-watch): reminders at 50 % and 80 % of each deadline to the responsible chat; on a breach,
 * one escalation to the sector block's chat and personally to the block's head and the curator; waiting for
 * the citizen stops the clock (paused incidents are skipped and their deadlines move when it restarts);
 * the morning digest per chat (open, due today, overdue) on working days. All arithmetic is on the regional
 * calendar; every message is keyed, so a second pass of sla-watch sends nothing twice.
 */
import type { Calendar } from '../domain/calendar.ts';
import { slaProgress, type SlaUnit } from '../domain/sla.ts';
import type { IncidentRow } from '../store/incident.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import type { StaffStore } from '../store/staff.store.ts';
import { formatDateTime, incidentNumber, sectorName } from './format.ts';
import { notifyStaff, responsibleChat, type NotifyDeps } from './notify.ts';

export interface EscalationDeps extends NotifyDeps {
  staff?: StaffStore;
  calendar: () => Promise<Calendar>;
  /** Local hour (Barnaul) from which the morning digest goes out. @defaultValue 9 */
  digestHour?: number;
}

const WHICH_RU = { first_response: 'первого ответа', resolution: 'решения' } as const;

function unitOf(inc: IncidentRow, ref: ReferenceSnapshot, which: 'first_response' | 'resolution'): SlaUnit {
  const p = ref.slaPolicies.get(inc.channelKind) ?? ref.slaPolicies.get('api');
  return (which === 'first_response' ? p?.firstResponse.unit : p?.resolution.unit) ?? 'working_hours';
}

/** 50 % and 80 % reminders; returns how many were sent. */
export async function remindDeadlines(deps: EscalationDeps, now: Date, open: IncidentRow[]): Promise<number> {
  const [ref, cal] = await Promise.all([deps.reference(), deps.calendar()]);
  let sent = 0;
  for (const inc of open) {
    if (inc.pausedAt) continue;
    for (const which of ['first_response', 'resolution'] as const) {
      if (which === 'first_response' && inc.firstRespondedAt) continue;
      const due = which === 'first_response' ? inc.firstResponseDue : inc.resolutionDue;
      const share = slaProgress(inc.createdAt, due, now, cal, unitOf(inc, ref, which));
      if (share >= 1 || share < 0.5) continue;
      const pct = share >= 0.8 ? 80 : 50;
      const created = await notifyStaff(deps, {
        key: `incident:${inc.id}:remind:${which}:${pct}`,
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

export async function escalateBreaches(deps: EscalationDeps, now: Date, batch = 200): Promise<number> {
  const ref = await deps.reference();
  let escalated = 0;
  for (const inc of await deps.incidents.newlyBreached(now, batch)) {
    const which = !inc.firstRespondedAt && inc.firstResponseDue < now ? 'first_response' : 'resolution';
    if (!(await deps.incidents.markBreached(inc.id, now, which))) continue;
    const due = which === 'first_response' ? inc.firstResponseDue : inc.resolutionDue;
    const text =
      `Просрочен срок ${WHICH_RU[which]} по инциденту ${incidentNumber(inc.id)} (${sectorName(inc.sector)}). ` +
      `Срок был: ${formatDateTime(due)}. Ответственный: ${
        (inc.agencyId && ref.agencies.get(inc.agencyId)?.shortName) || 'не назначен'
      }. Суть: ${inc.summary}`;
    await notifyStaff(deps, {
      key: `incident:${inc.id}:breach:${which}`,
      incidentId: inc.id,
      recipient: ref.sectorBlocks.get(inc.sector)?.telegramChatId ?? null,
      kind: 'sla_breach',
      text,
    });
    // Personally to the head of the sector block and the curator.
    for (const person of (await deps.staff?.withRoles(['sector_head', 'curator'], inc.sector)) ?? []) {
      await notifyStaff(deps, {
        key: `incident:${inc.id}:breach:${which}:user:${person.id}`,
        incidentId: inc.id,
        recipient: person.telegramUserId,
        kind: 'sla_breach_personal',
        text: `${person.name}, ${text.charAt(0).toLowerCase()}${text.slice(1)}`,
      });
    }
    escalated++;
  }
  return escalated;
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
    const overdue = list.filter((i) => !i.pausedAt && i.resolutionDue < now);
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

export async function watchDeadlines(deps: EscalationDeps, now: Date) {
  const escalated = await escalateBreaches(deps, now);
  const open = await deps.incidents.openIncidents(5000);
  const reminded = await remindDeadlines(deps, now, open);
  const digests = await sendDigests(deps, now, open);
  return { escalated, reminded, digests };
}
