/**
 * Staff notification of a new incident: the card text for the chat of the responsible agency or
 * sector block, written to the outbox (the Telegram staff bot delivers it; see the workflow issue).
 */
import type { IncidentRow, IncidentStore } from '../store/incident.store.ts';
import type { OutboxStore } from '../store/outbox.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import { formatDateTime, incidentNumber, sectorName } from './format.ts';

export interface NotifyDeps {
  incidents: IncidentStore;
  outbox: OutboxStore;
  reference: () => Promise<ReferenceSnapshot>;
  publicUrl: string;
}

export function renderIncidentCard(inc: IncidentRow, ref: ReferenceSnapshot, publicUrl: string): string {
  const agency = inc.agencyId ? ref.agencies.get(inc.agencyId) : undefined;
  const muni = inc.municipality ? ref.municipalities.get(inc.municipality) : undefined;
  const lines = [
    `Новый инцидент ${incidentNumber(inc.id)}`,
    `Сфера: ${sectorName(inc.sector)}`,
    `Территория: ${muni?.shortName ?? 'не определена'}`,
    `Ответственный: ${agency?.shortName ?? `блок «${sectorName(inc.sector)}» (исполнитель не назначен)`}`,
    inc.address ? `Адрес/объект: ${inc.address}` : null,
    `Суть: ${inc.summary}`,
    `Сообщений: ${inc.messageCount}, авторов: ${inc.authorCount}, негативных: ${inc.negativeCount}`,
    `Первый ответ до: ${formatDateTime(inc.firstResponseDue)} (время барнаульское)`,
    `Решение до: ${formatDateTime(inc.resolutionDue)}`,
    `Открыть: ${publicUrl.replace(/\/$/, '')}/incidents/${inc.id}`,
  ];
  return lines.filter((l): l is string => l !== null).join('\n');
}

export type NotifyResult = 'sent_to_outbox' | 'already_done' | 'no_incident';

/** Idempotent: the idempotency key is per incident and kind. */
export async function notifyIncidentCreated(deps: NotifyDeps, incidentId: number): Promise<NotifyResult> {
  const inc = await deps.incidents.get(incidentId);
  if (!inc) return 'no_incident';
  const ref = await deps.reference();
  const agency = inc.agencyId ? ref.agencies.get(inc.agencyId) : undefined;
  const recipient = agency?.telegramChatId ?? ref.sectorBlocks.get(inc.sector)?.telegramChatId ?? null;
  const created = await deps.outbox.addNotification({
    idempotencyKey: `incident:${inc.id}:created`,
    incidentId: inc.id,
    channel: 'telegram',
    recipient,
    kind: 'incident_card',
    text: renderIncidentCard(inc, ref, deps.publicUrl),
    status: recipient ? 'pending' : 'no_recipient',
  });
  await deps.incidents.markOnce(inc.id, 'notifiedAt');
  if (created)
    await deps.incidents.addEvent(inc.id, 'notification_queued', 'system', {
      recipient,
      to: agency?.id ?? `sector:${inc.sector}`,
    });
  return created ? 'sent_to_outbox' : 'already_done';
}
