/**
 * Everything the platform says to citizens goes through here: the row is committed to the outbox first,
 * then a `send` job is added (a lost job is re-added by the sweeper), so nothing is lost and, the row being
 * unique by its idempotency key, nothing is sent twice.
 */
import type { IncidentStatus } from '../domain/incident-status.ts';
import type { CitizenStore, Recipient } from '../store/citizen.store.ts';
import type { IncidentStore } from '../store/incident.store.ts';
import type { OutboundInsert, OutboundStore } from '../store/outbound.store.ts';
import type { Queues } from '../workers/queues.ts';
import { appealNumber, citizenStatus, incidentNumber } from './format.ts';
import * as T from './citizen-texts.ts';

export interface OutboundDeps {
  outbound: OutboundStore;
  queues: Queues;
}

export async function queueOutbound(
  deps: OutboundDeps,
  row: OutboundInsert,
): Promise<{ id: number; created: boolean }> {
  const r = await deps.outbound.add(row);
  if (r.created)
    await deps.queues.add('send', { outboundId: r.id }).catch(() => {
      /* Redis down: the row is committed and the sweeper enqueues it */
    });
  return r;
}

export interface CitizenNotifyDeps extends OutboundDeps {
  citizens: CitizenStore;
  incidents: IncidentStore;
}

/** Statuses a citizen is told about, with an optional explanation. */
const TOLD: Partial<Record<IncidentStatus, string | undefined>> = {
  assigned: undefined,
  in_progress: undefined,
  rejected: undefined,
  reopened: 'Мы снова работаем над ним.',
};

/** One message per chat, about its first appeal in the incident. */
function byChat(recipients: Recipient[]): Recipient[] {
  const seen = new Set<string>();
  return recipients.filter((r) => {
    const k = `${r.sourceId}\u0000${r.chatId}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Tells the citizens who wrote to a bot about an incident that its status changed (private chats only:
 * public threads get replies, not status noise). `changeKey` makes a repeated call a no-op.
 */
export async function notifyCitizensOfStatus(
  deps: CitizenNotifyDeps,
  incidentId: number,
  to: IncidentStatus,
  changeKey: string,
  reason?: string,
): Promise<number> {
  if (!(to in TOLD)) return 0;
  const inc = await deps.incidents.get(incidentId);
  if (!inc) return 0;
  const recipients = byChat(
    (await deps.citizens.recipients(incidentId)).filter((r) => r.channelKind === 'messenger'),
  );
  let queued = 0;
  for (const r of recipients) {
    const detail = to === 'rejected' && reason ? `Причина: ${reason}` : TOLD[to];
    const { created } = await queueOutbound(deps, {
      idempotencyKey: `status:${incidentId}:${changeKey}:${r.sourceId}:${r.chatId}`,
      sourceId: r.sourceId,
      chatId: r.chatId,
      replyToExternalId: r.externalId,
      text: T.statusChanged(appealNumber(r.messageId), citizenStatus('routed', to), detail),
      purpose: 'status',
      incidentId,
      messageId: r.messageId,
    });
    if (created) queued++;
  }
  if (queued)
    await deps.incidents.addEvent(incidentId, 'citizens_notified', 'system', { status: to, chats: queued });
  return queued;
}

/**
 * An official reply to everyone who wrote about the incident through a bot or a watched public thread,
 * each in the place they wrote: a reply in their chat, a reply in the group, a comment under the post.
 */
export async function deliverReply(
  deps: CitizenNotifyDeps,
  incidentId: number,
  text: string,
  actor: string,
  replyKey: string,
): Promise<{ queued: number; recipients: number }> {
  // A private chat gets the reply once, about its first appeal in the incident (a citizen who answered a
  // question has two messages there); in public threads each comment gets its own reply, where it was written.
  const all = await deps.citizens.recipients(incidentId);
  const recipients = [
    ...byChat(all.filter((r) => r.channelKind === 'messenger')),
    ...all.filter((r) => r.channelKind !== 'messenger'),
  ];
  let queued = 0;
  for (const r of recipients) {
    // Staff write under the incident's number; a citizen who wrote to a bot knows their appeal by its own
    // number (from the confirmation and /status), so the reply names that one wherever the text names the
    // incident. In public threads nobody was given a number: the text stays as approved.
    const own =
      r.channelKind === 'messenger'
        ? text.replaceAll(incidentNumber(incidentId), appealNumber(r.messageId))
        : text;
    const { created } = await queueOutbound(deps, {
      idempotencyKey: `reply:${incidentId}:${replyKey}:${r.messageId}`,
      sourceId: r.sourceId,
      chatId: r.chatId,
      replyToExternalId: r.externalId,
      text: r.channelKind === 'messenger' ? T.officialReply(appealNumber(r.messageId), own) : own,
      purpose: 'reply',
      incidentId,
      messageId: r.messageId,
    });
    if (created) queued++;
  }
  if (queued) await deps.incidents.addEvent(incidentId, 'reply_queued', actor, { recipients: queued, text });
  return { queued, recipients: recipients.length };
}
