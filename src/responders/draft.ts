/**
 * The first reply draft of an incident: an acknowledgement in official, polite Russian with its slots
 * filled, checked before it is offered to SMM. Templates per sector and situation come with the
 * workflow issue; this one is the common acknowledgement.
 */
import type { IncidentRow, IncidentStore } from '../store/incident.store.ts';
import type { OutboxStore } from '../store/outbox.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import { formatDate, incidentNumber, sectorName } from './format.ts';

export interface DraftDeps {
  incidents: IncidentStore;
  outbox: OutboxStore;
  reference: () => Promise<ReferenceSnapshot>;
}

export interface DraftCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

const ACK_TEMPLATE =
  'Здравствуйте! Ваше обращение зарегистрировано под номером {number} и передано в {agency}. ' +
  '{object}Ответ будет дан не позднее {deadline}. Спасибо, что сообщили о проблеме.';

export function fillTemplate(template: string, slots: Record<string, string | null | undefined>) {
  const missing: string[] = [];
  const text = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = slots[name];
    if (v === undefined || v === null) {
      missing.push(name);
      return `{${name}}`;
    }
    return v;
  });
  return { text, missing };
}

export function acknowledgementDraft(inc: IncidentRow, ref: ReferenceSnapshot) {
  const agency = inc.agencyId ? ref.agencies.get(inc.agencyId) : undefined;
  const { text, missing } = fillTemplate(ACK_TEMPLATE, {
    number: incidentNumber(inc.id),
    agency: agency?.name ?? `профильный блок «${sectorName(inc.sector)}»`,
    object: inc.address ? `Адрес: ${inc.address}. ` : '',
    deadline: formatDate(inc.resolutionDue),
  });
  const checks: DraftCheck[] = [
    {
      name: 'slots_filled',
      ok: missing.length === 0,
      detail: missing.length ? missing.join(', ') : undefined,
    },
    { name: 'deadline_stated', ok: /не позднее \d/.test(text) },
    {
      name: 'object_mentioned',
      ok: !inc.address || text.includes(inc.address),
      detail: inc.address ?? 'адрес не указан гражданином',
    },
  ];
  return { text, checks };
}

export async function draftAcknowledgement(
  deps: DraftDeps,
  incidentId: number,
): Promise<'drafted' | 'already_done' | 'no_incident'> {
  const inc = await deps.incidents.get(incidentId);
  if (!inc) return 'no_incident';
  const { text, checks } = acknowledgementDraft(inc, await deps.reference());
  const created = await deps.outbox.addDraft({ incidentId: inc.id, kind: 'acknowledgement', text, checks });
  await deps.incidents.markOnce(inc.id, 'draftedAt');
  if (created) await deps.incidents.addEvent(inc.id, 'draft_prepared', 'system', { kind: 'acknowledgement' });
  return created ? 'drafted' : 'already_done';
}
