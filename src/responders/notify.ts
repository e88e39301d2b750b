/**
 * Staff notifications: the incident card for the chat of the responsible agency or sector block, reminders,
 * escalations and digests. Each is written to `notifications` (the record, unique by key) and, when a
 * staff bot is configured and the chat is known, to the outbox of the send queue. A card carries the
 * action buttons and is edited in place whenever the incident changes.
 */
import { INCIDENT_STATUS_LABELS, type IncidentStatus } from '../domain/incident-status.ts';
import type { Button } from '../domain/types.ts';
import type { IncidentRow, IncidentStore } from '../store/incident.store.ts';
import type { OutboundStore } from '../store/outbound.store.ts';
import type { OutboxStore } from '../store/outbox.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import type { Queues } from '../workers/queues.ts';
import { formatDateTime, incidentNumber, sectorName } from './format.ts';
import { queueOutbound } from './outbound.ts';

export interface NotifyDeps {
  incidents: IncidentStore;
  outbox: OutboxStore;
  reference: () => Promise<ReferenceSnapshot>;
  publicUrl: string;
  /** The staff bot's source id; unset → notifications are recorded, not sent. */
  staffSource?: string;
  outbound?: OutboundStore;
  queues?: Queues;
}

const SENTIMENT_LINE = (inc: IncidentRow) =>
  inc.messageCount
    ? `Тональность: негативных ${inc.negativeCount} из ${inc.messageCount}`
    : 'Тональность: не определена';

export function renderIncidentCard(inc: IncidentRow, ref: ReferenceSnapshot, publicUrl: string): string {
  const agency = inc.agencyId ? ref.agencies.get(inc.agencyId) : undefined;
  const muni = inc.municipality ? ref.municipalities.get(inc.municipality) : undefined;
  const lines = [
    `Инцидент ${incidentNumber(inc.id)} — ${INCIDENT_STATUS_LABELS[inc.status as IncidentStatus] ?? inc.status}`,
    `Сфера: ${sectorName(inc.sector)}`,
    `Территория: ${muni?.shortName ?? 'не определена'}`,
    `Ответственный: ${agency?.shortName ?? `блок «${sectorName(inc.sector)}» (исполнитель не назначен)`}`,
    inc.address ? `Адрес/объект: ${inc.address}` : null,
    `Суть: ${inc.summary}`,
    `Сообщений: ${inc.messageCount}, авторов: ${inc.authorCount}`,
    SENTIMENT_LINE(inc),
    inc.pausedAt
      ? `Срок приостановлен: ждём уточнений от заявителя (с ${formatDateTime(inc.pausedAt)})`
      : `Первый ответ до: ${formatDateTime(inc.firstResponseDue)} (время барнаульское)`,
    inc.pausedAt ? null : `Решение до: ${formatDateTime(inc.resolutionDue)}`,
    inc.result ? `Результат: ${inc.result}` : null,
    `Открыть: ${publicUrl.replace(/\/$/, '')}/#/incidents/${inc.id}`,
  ];
  return lines.filter((l): l is string => l !== null).join('\n');
}

/** The buttons of a card for the incident's status (none once it is finished). */
export function cardButtons(inc: IncidentRow): Button[][] {
  const b = (text: string, action: string): Button => ({ text, data: `inc:${inc.id}:${action}` });
  switch (inc.status as IncidentStatus) {
    case 'new':
    case 'assigned':
      return [
        [b('Принять', 'accept'), b('В работе', 'work')],
        [b('Решено', 'done')],
        [b('Не наша компетенция', 'other'), b('Нужны уточнения', 'details')],
      ];
    case 'in_progress':
    case 'reopened':
    case 'answered':
      return [[b('Решено', 'done')], [b('Не наша компетенция', 'other'), b('Нужны уточнения', 'details')]];
    default:
      return [];
  }
}

/** The chat responsible for an incident: its agency's, else its sector block's. */
export function responsibleChat(inc: IncidentRow, ref: ReferenceSnapshot): string | null {
  const agency = inc.agencyId ? ref.agencies.get(inc.agencyId) : undefined;
  return agency?.telegramChatId ?? ref.sectorBlocks.get(inc.sector)?.telegramChatId ?? null;
}

/**
 * Records a staff notification once (by key) and queues it to the staff bot. Returns false when the key was
 * there already (a re-run job or a second sla-watch pass adds nothing).
 */
export async function notifyStaff(
  deps: NotifyDeps,
  n: {
    key: string;
    incidentId: number | null;
    recipient: string | null;
    kind: string;
    text: string;
    buttons?: Button[][];
  },
): Promise<boolean> {
  const created = await deps.outbox.addNotification({
    idempotencyKey: n.key,
    incidentId: n.incidentId,
    channel: 'telegram',
    recipient: n.recipient,
    kind: n.kind,
    text: n.text,
    status: n.recipient ? 'pending' : 'no_recipient',
  });
  if (created && n.recipient && deps.staffSource && deps.outbound && deps.queues)
    await queueOutbound(
      { outbound: deps.outbound, queues: deps.queues },
      {
        idempotencyKey: n.key,
        sourceId: deps.staffSource,
        chatId: n.recipient,
        text: n.text,
        buttons: n.buttons?.length ? n.buttons : null,
        purpose: n.kind === 'incident_card' ? 'card' : 'staff',
        incidentId: n.incidentId,
      },
    );
  return created;
}

export type NotifyResult = 'sent_to_outbox' | 'already_done' | 'no_incident';

/**
 * Posts the card of an incident to its responsible chat: once on creation (however often the notify job
 * runs), and once per new agency after a re-route.
 */
export async function postIncidentCard(
  deps: NotifyDeps,
  incidentId: number,
  occasion: 'created' | 'rerouted' = 'created',
): Promise<NotifyResult> {
  const inc = await deps.incidents.get(incidentId);
  if (!inc) return 'no_incident';
  const ref = await deps.reference();
  const recipient = responsibleChat(inc, ref);
  const key =
    occasion === 'created'
      ? `incident:${inc.id}:created`
      : `incident:${inc.id}:card:${inc.agencyId ?? inc.sector}`;
  const created = await notifyStaff(deps, {
    key,
    incidentId: inc.id,
    recipient,
    kind: 'incident_card',
    text: renderIncidentCard(inc, ref, deps.publicUrl),
    buttons: cardButtons(inc),
  });
  await deps.incidents.markOnce(inc.id, 'notifiedAt');
  if (created)
    await deps.incidents.addEvent(inc.id, 'notification_queued', 'system', {
      recipient,
      to: inc.agencyId ?? `sector:${inc.sector}`,
    });
  return created ? 'sent_to_outbox' : 'already_done';
}

/** The incident card posted on creation (the notify job). */
export const notifyIncidentCreated = (deps: NotifyDeps, incidentId: number) =>
  postIncidentCard(deps, incidentId, 'created');

/**
 * Every card of the incident that was delivered is edited in place to show its current state and buttons
 * (one edit per card and incident version).
 */
export async function refreshCards(deps: NotifyDeps, incidentId: number): Promise<number> {
  if (!deps.outbound || !deps.queues || !deps.staffSource) return 0;
  const inc = await deps.incidents.get(incidentId);
  if (!inc) return 0;
  const ref = await deps.reference();
  const text = renderIncidentCard(inc, ref, deps.publicUrl);
  const current = responsibleChat(inc, ref);
  let n = 0;
  for (const card of await deps.outbound.byIncident(incidentId)) {
    if (card.purpose !== 'card' || card.status !== 'sent' || !card.externalId) continue;
    // A card left in the chat of a previous agency loses its buttons.
    const buttons = card.chatId === current ? cardButtons(inc) : [];
    const { created } = await queueOutbound(
      { outbound: deps.outbound, queues: deps.queues },
      {
        idempotencyKey: `card-edit:${card.id}:${inc.updatedAt.getTime()}`,
        sourceId: card.sourceId,
        chatId: card.chatId,
        editExternalId: card.externalId,
        text: card.chatId === current ? text : `${text}\n\nПередано другому исполнителю.`,
        buttons: buttons.length ? buttons : null,
        purpose: 'card_edit',
        incidentId,
      },
    );
    if (created) n++;
  }
  return n;
}
