/**
 * Deadline breaches: each open incident past its first-response or resolution deadline is flagged once
 * (an `sla_breached` event) and an escalation is written for the chat of the sector block.
 */
import type { IncidentStore } from '../store/incident.store.ts';
import type { OutboxStore } from '../store/outbox.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import { formatDateTime, incidentNumber, sectorName } from './format.ts';

export interface EscalationDeps {
  incidents: IncidentStore;
  outbox: OutboxStore;
  reference: () => Promise<ReferenceSnapshot>;
}

export async function escalateBreaches(deps: EscalationDeps, now: Date, batch = 200): Promise<number> {
  const ref = await deps.reference();
  let escalated = 0;
  for (const inc of await deps.incidents.newlyBreached(now, batch)) {
    const which = !inc.firstRespondedAt && inc.firstResponseDue < now ? 'first_response' : 'resolution';
    if (!(await deps.incidents.markBreached(inc.id, now, which))) continue;
    const due = which === 'first_response' ? inc.firstResponseDue : inc.resolutionDue;
    const recipient = ref.sectorBlocks.get(inc.sector)?.telegramChatId ?? null;
    await deps.outbox.addNotification({
      idempotencyKey: `incident:${inc.id}:breach:${which}`,
      incidentId: inc.id,
      channel: 'telegram',
      recipient,
      kind: 'sla_breach',
      text:
        `Просрочен ${which === 'first_response' ? 'первый ответ' : 'срок решения'} по инциденту ${incidentNumber(inc.id)} ` +
        `(${sectorName(inc.sector)}). Срок был: ${formatDateTime(due)}. Суть: ${inc.summary}`,
      status: recipient ? 'pending' : 'no_recipient',
    });
    escalated++;
  }
  return escalated;
}
