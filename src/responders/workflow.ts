/**
 * What staff do to an incident (from the card buttons in Telegram, or the API): accept it, take it into
 * work, resolve it with a result, hand it to another agency, ask the citizen for details. Each action is
 * checked against the actor's role and scope, becomes incident events, prepares the matching reply draft
 * for SMM, tells the citizens where that applies, and updates the cards in place.
 */
import { can, type IncidentScope } from '../domain/permissions.ts';
import { INCIDENT_STATUS_LABELS, type IncidentStatus } from '../domain/incident-status.ts';
import type { CitizenStore } from '../store/citizen.store.ts';
import type { IncidentRow, RouteContext } from '../store/incident.store.ts';
import type { OutboundStore } from '../store/outbound.store.ts';
import type { SectorCode } from '../domain/types.ts';
import type { StaffMember } from '../store/staff.store.ts';
import type { Queues } from '../workers/queues.ts';
import { appealNumber, formatDate, incidentNumber } from './format.ts';
import { notifyStaff, postIncidentCard, refreshCards, responsibleChat, type NotifyDeps } from './notify.ts';
import { notifyCitizensOfStatus, queueOutbound } from './outbound.ts';
import type { DraftKind } from './reply-templates.ts';

export type StaffActionName = 'accept' | 'work' | 'done' | 'other' | 'details';

export interface WorkflowDeps extends NotifyDeps {
  queues: Queues;
  outbound: OutboundStore;
  citizens: CitizenStore;
  routeContext: () => Promise<RouteContext>;
}

export type ActResult =
  | { ok: true; message: string; incident: IncidentRow }
  | { ok: false; reason: string; code: 'not_found' | 'forbidden' | 'illegal' | 'missing' };

export const actorOf = (m: StaffMember) => `staff:${m.login}`;
const scopeOf = (inc: IncidentRow): IncidentScope => ({
  sector: inc.sector,
  agencyId: inc.agencyId,
  municipality: inc.municipality,
});

export interface Workflow {
  act(
    member: StaffMember,
    incidentId: number,
    action: StaffActionName,
    payload?: { result?: string; agencyId?: string; question?: string },
  ): Promise<ActResult>;
  /** Agencies an incident can be handed to (same sector, the municipality's administration), current first excluded. */
  /**
   * Agencies the incident may be handed to, the likeliest first: of the sector staff corrected a message to,
   * then of its own sector, then of its municipality, then the rest (a wrong sector is a reason to hand over).
   */
  handOverChoices(
    incidentId: number,
    limit?: number,
  ): Promise<{ id: string; shortName: string; sector: string | null; suggested: boolean }[]>;
  queueDraft(incidentId: number, kind: DraftKind, key: string, slots?: Record<string, string>): Promise<void>;
  askSatisfaction(incidentId: number): Promise<number>;
  /** A citizen said the problem is not solved: the incident is reopened and its chat told. */
  reopenByCitizen(incidentId: number, score: number): Promise<boolean>;
}

export function createWorkflow(deps: WorkflowDeps): Workflow {
  const { incidents } = deps;

  async function step(id: number, to: IncidentStatus, actor: string, reason?: string) {
    const r = await incidents.changeStatus(id, to, actor, reason);
    return r.ok ? r.incident : undefined;
  }

  /** Moves along the main path up to `to` (new → assigned → in_progress). */
  async function ensureInWork(inc: IncidentRow, actor: string): Promise<IncidentRow | undefined> {
    let cur: IncidentRow | undefined = inc;
    if (cur.status === 'new') cur = await step(cur.id, 'assigned', actor);
    if (cur && (cur.status === 'assigned' || cur.status === 'reopened'))
      cur = await step(cur.id, 'in_progress', actor);
    if (cur && cur.status === 'answered') return cur;
    return cur?.status === 'in_progress' ? cur : undefined;
  }

  const workflow: Workflow = {
    async queueDraft(incidentId, kind, key, slots = {}) {
      await deps.queues.add('draft', { incidentId, kind, key, slots });
    },

    async askSatisfaction(incidentId) {
      const inc = await incidents.get(incidentId);
      if (!inc) return 0;
      const seen = new Set<string>();
      let n = 0;
      for (const r of await deps.citizens.recipients(incidentId)) {
        if (r.channelKind !== 'messenger' || seen.has(`${r.sourceId}:${r.chatId}`)) continue;
        seen.add(`${r.sourceId}:${r.chatId}`);
        const { created } = await queueOutbound(deps, {
          idempotencyKey: `survey:${incidentId}:${inc.resolvedAt?.getTime() ?? 0}:${r.sourceId}:${r.chatId}`,
          sourceId: r.sourceId,
          chatId: r.chatId,
          replyToExternalId: r.externalId,
          text:
            `По вашему обращению ${appealNumber(r.messageId)} работы завершены.` +
            `${inc.result ? ` Результат: ${inc.result}` : ''}\n\n` +
            'Оцените, пожалуйста, как решена проблема: 1 — совсем не решена, 5 — решена полностью.',
          buttons: [[1, 2, 3, 4, 5].map((s) => ({ text: String(s), data: `sat:${incidentId}:${s}` }))],
          purpose: 'survey',
          incidentId,
          messageId: r.messageId,
        });
        if (created) n++;
      }
      if (n) await incidents.addEvent(incidentId, 'satisfaction_asked', 'system', { chats: n });
      return n;
    },

    async reopenByCitizen(incidentId, score) {
      const inc = await step(
        incidentId,
        'reopened',
        'citizen',
        `Заявитель сообщил, что проблема не решена (оценка ${score})`,
      );
      if (!inc) return false;
      const ref = await deps.reference();
      await notifyStaff(deps, {
        key: `incident:${incidentId}:reopened:${inc.updatedAt.getTime()}`,
        incidentId,
        recipient: responsibleChat(inc, ref),
        kind: 'reopened',
        text: `Инцидент ${incidentNumber(incidentId)} возобновлён: заявитель сообщил, что проблема не решена (оценка ${score} из 5). Суть: ${inc.summary}`,
      });
      await refreshCards(deps, incidentId);
      return true;
    },

    async handOverChoices(incidentId, limit = 8) {
      const inc = await incidents.get(incidentId);
      if (!inc) return [];
      const ref = await deps.reference();
      // The sector a staff member corrected a message of this incident to, the latest, when it differs.
      const corrected = (await incidents.events(incidentId))
        .filter((e) => e.type === 'analysis_corrected' && e.data?.task === 'sector')
        .map((e) => String(e.data?.to))
        .at(-1);
      const suggested = corrected && corrected !== inc.sector ? corrected : null;
      const rank = (a: { sector: string | null; municipality: string | null }) => {
        const here = inc.municipality !== null && a.municipality === inc.municipality;
        const inSuggested = suggested !== null && a.sector === suggested;
        if (inSuggested) return here ? 0 : 1;
        if (a.sector === inc.sector) return here ? 2 : 3;
        return here ? 4 : 5;
      };
      const out = [...ref.agencies.values()]
        .filter((a) => a.active && a.id !== inc.agencyId)
        .map((a) => ({ a, r: rank(a) }))
        .sort((x, y) => x.r - y.r || x.a.shortName.localeCompare(y.a.shortName, 'ru'));
      return out.slice(0, limit).map(({ a }) => ({
        id: a.id,
        shortName: a.shortName,
        sector: a.sector,
        suggested: suggested !== null && a.sector === suggested,
      }));
    },

    async act(member, incidentId, action, payload = {}) {
      const inc = await incidents.get(incidentId);
      if (!inc)
        return { ok: false, code: 'not_found', reason: `Инцидент ${incidentNumber(incidentId)} не найден` };
      if (!can(member.grants, 'handle', scopeOf(inc)))
        return { ok: false, code: 'forbidden', reason: 'У вас нет прав на действия с этим инцидентом' };
      const actor = actorOf(member);
      const number = incidentNumber(inc.id);
      let result: ActResult;
      switch (action) {
        case 'accept': {
          let cur: IncidentRow | undefined = inc;
          if (inc.status === 'new') cur = await step(inc.id, 'assigned', actor);
          if (!cur || !['assigned', 'in_progress', 'reopened', 'answered'].includes(cur.status))
            return {
              ok: false,
              code: 'illegal',
              reason: `Инцидент ${number} нельзя принять в статусе «${INCIDENT_STATUS_LABELS[inc.status as IncidentStatus] ?? inc.status}»`,
            };
          await incidents.addEvent(inc.id, 'accepted', actor, { name: member.name });
          result = { ok: true, incident: cur, message: `Инцидент ${number} принят: ${member.name}.` };
          break;
        }
        case 'work': {
          const cur = await ensureInWork(inc, actor);
          if (!cur) return { ok: false, code: 'illegal', reason: `Инцидент ${number} нельзя взять в работу` };
          await workflow.queueDraft(
            inc.id,
            'in_progress',
            `${inc.id}:in_progress:${cur.updatedAt.getTime()}`,
            {
              date: formatDate(cur.resolutionDue),
            },
          );
          await notifyCitizensOfStatus(deps, inc.id, 'in_progress', String(cur.updatedAt.getTime()));
          result = { ok: true, incident: cur, message: `Инцидент ${number} в работе: ${member.name}.` };
          break;
        }
        case 'done': {
          const text = payload.result?.trim();
          if (!text) return { ok: false, code: 'missing', reason: 'Нужен краткий результат' };
          const cur = await ensureInWork(inc, actor);
          const done = cur && (await step(cur.id, 'resolved', actor));
          if (!done)
            return {
              ok: false,
              code: 'illegal',
              reason: `Инцидент ${number} нельзя закрыть как решённый сейчас`,
            };
          const withResult = (await incidents.setFields(inc.id, { result: text.slice(0, 1000) })) ?? done;
          await incidents.addEvent(inc.id, 'resolved_with_result', actor, { result: text });
          await workflow.queueDraft(inc.id, 'resolved', `${inc.id}:resolved:${done.updatedAt.getTime()}`, {
            result: text,
          });
          await workflow.askSatisfaction(inc.id);
          result = { ok: true, incident: withResult, message: `Инцидент ${number} решён: ${text}` };
          break;
        }
        case 'other': {
          const ref = await deps.reference();
          const to = payload.agencyId ? ref.agencies.get(payload.agencyId) : undefined;
          if (!to)
            return { ok: false, code: 'missing', reason: 'Выберите ведомство, которому передать инцидент' };
          if (to.id === inc.agencyId)
            return { ok: false, code: 'illegal', reason: `Инцидент уже у «${to.shortName}»` };
          // An agency of another sector takes the incident into its sector block.
          const cur = await incidents.reassign(
            inc.id,
            to.id,
            actor,
            'Не наша компетенция',
            to.sector && to.sector !== inc.sector ? (to.sector as SectorCode) : undefined,
          );
          if (!cur) return { ok: false, code: 'not_found', reason: 'Инцидент не найден' };
          await postIncidentCard(deps, inc.id, 'rerouted');
          await workflow.queueDraft(inc.id, 'redirect', `${inc.id}:redirect:${to.id}`, {
            newAgency: to.name,
          });
          result = { ok: true, incident: cur, message: `Инцидент ${number} передан: ${to.shortName}.` };
          break;
        }
        case 'details': {
          const q = payload.question?.trim();
          if (!q) return { ok: false, code: 'missing', reason: 'Нужен вопрос к заявителю' };
          await incidents.addEvent(inc.id, 'details_requested', actor, { question: q });
          await workflow.queueDraft(inc.id, 'details_request', `${inc.id}:details:${Date.now()}`, {
            question: q,
          });
          result = {
            ok: true,
            incident: inc,
            message: `Вопрос к заявителю по инциденту ${number} передан на согласование SMM; срок остановится, когда вопрос уйдёт заявителю.`,
          };
          break;
        }
      }
      await refreshCards(deps, inc.id);
      return result;
    },
  };
  return workflow;
}
