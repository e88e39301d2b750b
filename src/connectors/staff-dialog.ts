/**
 * The staff bot: what happens when someone presses a button on an incident card or answers the bot's
 * question in a sector block's or agency's chat. Only a registered staff member whose role and scope cover
 * the incident may act, and only in the incident's responsible chat (the center's curators and heads
 * anywhere). Answers that need words («Решено» asks for the result, «Нужны уточнения» for the question)
 * are awaited per chat and person.
 */
import { can } from '../domain/permissions.ts';
import type { Button } from '../domain/types.ts';
import { incidentNumber } from '../responders/format.ts';
import { responsibleChat } from '../responders/notify.ts';
import type { StaffActionName, Workflow } from '../responders/workflow.ts';
import type { CitizenStore } from '../store/citizen.store.ts';
import type { IncidentStore } from '../store/incident.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import type { StaffMember, StaffStore } from '../store/staff.store.ts';

export interface StaffInput {
  source: string;
  chatId: string;
  user: { id: string; name?: string };
  externalId: string;
  /** A pressed button's data. */
  data?: string;
  text?: string;
}

export interface StaffReply {
  text: string;
  buttons?: Button[][];
}

export interface StaffOutcome {
  /** Shown to the presser only (a callback alert). */
  alert?: string;
  /** Posted in the chat. */
  replies: StaffReply[];
}

export interface StaffHandler {
  button(input: StaffInput): Promise<StaffOutcome>;
  text(input: StaffInput): Promise<StaffOutcome>;
}

export interface StaffDialogDeps {
  staff: StaffStore;
  citizens: CitizenStore;
  incidents: IncidentStore;
  reference: () => Promise<ReferenceSnapshot>;
  workflow: Workflow;
}

const EVERYWHERE = ['curator', 'center_head', 'responsible_executive'];

export function createStaffDialog(deps: StaffDialogDeps): StaffHandler {
  const key = (i: StaffInput) => `${i.chatId}:${i.user.id}`;

  async function who(i: StaffInput): Promise<StaffMember | undefined> {
    return deps.staff.byTelegramId(i.user.id);
  }

  async function perform(
    i: StaffInput,
    member: StaffMember,
    incidentId: number,
    action: StaffActionName,
    payload?: { result?: string; agencyId?: string; question?: string },
  ): Promise<StaffOutcome> {
    const r = await deps.workflow.act(member, incidentId, action, payload);
    if (!r.ok) return { alert: r.reason, replies: [] };
    return { replies: [{ text: r.message }] };
  }

  return {
    async button(i) {
      const m = /^inc:(\d+):(accept|work|done|other|details|to:([\w-]+))$/.exec(i.data ?? '');
      if (!m) return { alert: 'Кнопка устарела', replies: [] };
      const incidentId = Number(m[1]);
      const member = await who(i);
      if (!member)
        return {
          alert: 'Вы не зарегистрированы как сотрудник в системе ЦУР. Обратитесь к администратору.',
          replies: [],
        };
      const inc = await deps.incidents.get(incidentId);
      if (!inc) return { alert: `Инцидент ${incidentNumber(incidentId)} не найден`, replies: [] };
      const ref = await deps.reference();
      const scope = { sector: inc.sector, agencyId: inc.agencyId, municipality: inc.municipality };
      if (!can(member.grants, 'handle', scope))
        return { alert: 'У вас нет прав на действия с этим инцидентом', replies: [] };
      const inChat =
        responsibleChat(inc, ref) === i.chatId || member.grants.some((g) => EVERYWHERE.includes(g.role));
      if (!inChat)
        return { alert: 'Действовать можно только в чате ответственного исполнителя', replies: [] };

      const action = m[2]!;
      if (action.startsWith('to:')) return perform(i, member, incidentId, 'other', { agencyId: m[3] });
      if (action === 'done' || action === 'details') {
        await deps.citizens.setDialog(
          i.source,
          key(i),
          action === 'done' ? 'await_result' : 'await_question',
          { incidentId },
        );
        return {
          replies: [
            {
              text:
                action === 'done'
                  ? `${member.name}, опишите кратко одним сообщением, что сделано по инциденту ${incidentNumber(incidentId)}. Заявитель увидит это в ответе после проверки SMM.`
                  : `${member.name}, напишите одним сообщением, что нужно уточнить у заявителя по инциденту ${incidentNumber(incidentId)}.`,
            },
          ],
        };
      }
      if (action === 'other') {
        const choices = await deps.workflow.handOverChoices(incidentId);
        if (!choices.length)
          return { alert: 'Нет других ведомств этой сферы; передайте через куратора', replies: [] };
        return {
          replies: [
            {
              text: `Кому передать инцидент ${incidentNumber(incidentId)}?`,
              buttons: choices.map((c) => [{ text: c.shortName, data: `inc:${incidentId}:to:${c.id}` }]),
            },
          ],
        };
      }
      return perform(i, member, incidentId, action as StaffActionName);
    },

    async text(i) {
      const d = await deps.citizens.dialog(i.source, key(i));
      if (!d || !i.text?.trim()) return { replies: [] }; // ordinary chat in the group
      const incidentId = Number((d.data as { incidentId?: number }).incidentId);
      await deps.citizens.clearDialog(i.source, key(i));
      const member = await who(i);
      if (!member) return { replies: [] };
      if (d.state === 'await_result')
        return perform(i, member, incidentId, 'done', { result: i.text.trim() });
      if (d.state === 'await_question')
        return perform(i, member, incidentId, 'details', { question: i.text.trim() });
      return { replies: [] };
    },
  };
}
