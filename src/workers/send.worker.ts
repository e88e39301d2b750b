/**
 * send: one outbox row → one platform message. Limits are kept before sending (a shared slot limiter:
 * Telegram's 1 message/s per chat and 30/s per bot, VK's requests/s); a «slow down» answer (Telegram 429,
 * VK 6/9) moves the job back by the time asked without using an attempt, so a flood storm delays replies
 * but never drops or duplicates them. A row already sent is never sent again.
 *
 * Issue 9, «Faults»: the row is claimed (`sending`) right before the platform is called, and a success is
 * recorded with retries, never by sending again. A row found `sending` by a later run was interrupted
 * mid-send (a killed worker, a database restart before the answer was written): it is sent again only where
 * the platform drops a repeat (VK by random_id/guid, an edit, stopping a poll), else it becomes `uncertain`.
 * A platform outage (5xx, VK 10) is waited out with a backoff growing to a minute for `temporaryRetryMs`
 * (BullMQ's own 6 attempts were spent in ~30 s, and a minute of 5xx marked replies `failed`).
 *
 * Outreach: a poll's messages wait in the outbox while the poll goes out at the platforms' pace. A citizen
 * who unsubscribes, withdraws consent or is found to have blocked the bot meanwhile has their waiting poll
 * rows marked `skipped` in the same transaction (the trigger of migration 0014); such a row is never sent,
 * even when its job already read it as pending, since the claim takes only pending rows. Replies to appeals
 * and the other purposes go to everyone who wrote to us, subscribed or not.
 */
import { DelayedError, UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { ConnectorAlerts } from '../connectors/alerts.ts';
import { ownerSource, SendError, type PlatformSender } from '../connectors/platform.ts';
import type { SendLimiter } from '../connectors/rate-limit.ts';
import type { OutboundMessage } from '../domain/types.ts';
import type { OutboundRow, OutboundStore } from '../store/outbound.store.ts';
import type { AttachmentRef } from '../store/schema.ts';
import type { JobData } from './queues.ts';

export interface SendDeps {
  outbound: OutboundStore;
  /** The sender of a bot or community by its messenger source id. */
  sender: (source: string) => PlatformSender | undefined;
  limiter: SendLimiter;
  alerts: ConnectorAlerts;
  log: Logger;
  /** Waits up to this long inside the job; longer waits move the job to delayed. @defaultValue 2000 */
  maxInlineWaitMs?: number;
  /** How long to wait after «authorization failed» before trying again. @defaultValue 60000 */
  authRetryMs?: number;
  /** How long after its creation a row is still retried on temporary faults. @defaultValue 3600000 */
  temporaryRetryMs?: number;
  /** Loads the file an outbox row attaches (a stored report); undefined when it is gone. */
  attachment?: (ref: AttachmentRef) => Promise<OutboundMessage['document'] | undefined>;
  /**
   * Called once a row was sent (official replies are checked for conflicts; a poll records its message and
   * Telegram's poll id); a failure is only logged.
   */
  onSent?: (row: OutboundRow, sent: { externalId: string; pollId?: string }) => Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sending it again is harmless: VK drops a repeat (random_id/guid from the key); an edit or a poll stop is the same again. */
const repeatable = (row: OutboundRow) =>
  ownerSource(row.sourceId).startsWith('vk:') ||
  Boolean(row.editExternalId) ||
  (row.attachment?.kind === 'poll' && Boolean(row.attachment.stop));

/** A write that must not be lost after the platform took the message: retried through a database restart. */
async function persist(write: () => Promise<void>, forMs = 30_000): Promise<void> {
  const until = Date.now() + forMs;
  for (let wait = 200; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await write();
    } catch (err) {
      if (Date.now() + wait > until) throw err;
      await sleep(wait);
    }
  }
}

async function later(job: Job, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(1, Math.ceil(ms)), token);
  throw new DelayedError();
}

export function sendProcessor(deps: SendDeps): Processor<JobData['send']> {
  const maxInline = deps.maxInlineWaitMs ?? 2000;
  return async (job, token) => {
    const id = Number(job.data.outboundId);
    if (!Number.isSafeInteger(id) || id <= 0)
      throw new UnrecoverableError(`bad outboundId ${job.data.outboundId}`);
    const row = await deps.outbound.get(id);
    if (!row) return { result: 'no_row' };
    if (row.status === 'sending' && !repeatable(row)) {
      // The try before this one died after calling Telegram and before its answer was written: the message
      // may have been delivered, and Telegram has no idempotency key, so it is never sent again.
      await deps.outbound.markUncertain(id, 'interrupted mid-send; not resent (no idempotency key)');
      return { result: 'uncertain' };
    }
    // The citizen left before their turn (see the header): not sent, nothing to do.
    if (row.status === 'skipped') return { result: 'skipped' };
    if (row.status !== 'pending' && row.status !== 'sending') return { result: `already_${row.status}` };
    const sender = deps.sender(ownerSource(row.sourceId));
    if (!sender) {
      await deps.outbound.markFailed(id, `no connector is configured for source ${row.sourceId}`);
      return { result: 'no_connector' };
    }
    let document: OutboundMessage['document'];
    let poll: OutboundMessage['poll'];
    if (row.attachment?.kind === 'poll') {
      const { question, options, stop } = row.attachment;
      poll = { question, options, ...(stop ? { stop } : {}) };
    } else if (row.attachment) {
      document = await deps.attachment?.(row.attachment);
      if (!document) {
        await deps.outbound.markFailed(id, `attachment ${JSON.stringify(row.attachment)} is not available`);
        return { result: 'no_attachment' };
      }
    }
    // A slot further than maxInline is not taken: the job comes back about then and asks again.
    const wait = await deps.limiter.reserve(sender.source, row.chatId, sender.limits, maxInline);
    if (wait > maxInline) await later(job, token, wait);
    if (wait > 0) await sleep(wait);
    // Only a pending (or interrupted) row is claimed: one skipped while this job waited for its slot stays unsent.
    if (!(await deps.outbound.claim(id))) return { result: 'not_pending' };
    let sent: Awaited<ReturnType<PlatformSender['send']>>;
    try {
      sent = await sender.send({
        source: row.sourceId,
        chatId: row.chatId,
        text: row.text,
        buttons: row.buttons ?? undefined,
        replyToExternalId: row.replyToExternalId ?? undefined,
        editExternalId: row.editExternalId ?? undefined,
        idempotencyKey: row.idempotencyKey,
        ...(document ? { document } : {}),
        ...(poll ? { poll } : {}),
      });
    } catch (err) {
      const e =
        err instanceof SendError
          ? err
          : new SendError('temporary', err instanceof Error ? err.message : String(err), { cause: err });
      await persist(() => deps.outbound.release(id, `${e.kind}: ${e.message}`));
      switch (e.kind) {
        case 'rate_limited': {
          const ms = e.retryAfterMs ?? 1000;
          await deps.limiter.pushBack(sender.source, row.chatId, ms);
          deps.log.warn(
            { source: sender.source, retryAfterMs: ms, outboundId: id },
            'platform asked to slow down',
          );
          return later(job, token, ms);
        }
        case 'auth':
          await deps.alerts.raise(sender.source, e.message);
          deps.log.error(
            { source: sender.source, err: e },
            'platform refused the token; message kept, will retry',
          );
          return later(job, token, deps.authRetryMs ?? 60_000);
        case 'rejected':
          await deps.outbound.markFailed(id, e.message);
          return { result: 'rejected', reason: e.message };
        default: {
          // Temporary: a platform outage is waited out (backoff 1, 2, 4 … 60 s, ±20 %), without using
          // BullMQ's attempts, until the row is `temporaryRetryMs` old; then it is failed and shown.
          if (Date.now() - row.createdAt.getTime() > (deps.temporaryRetryMs ?? 3_600_000)) {
            await deps.outbound.markFailed(id, `gave up after ${row.attempts + 1} tries: ${e.message}`);
            return { result: 'failed', reason: e.message };
          }
          const backoff = Math.min(60_000, 1000 * 2 ** Math.min(row.attempts, 6));
          deps.log.warn(
            { source: sender.source, outboundId: id, err: e, retryInMs: backoff },
            'send failed; retrying',
          );
          return later(job, token, backoff * (0.8 + 0.4 * Math.random()));
        }
      }
    }
    // Delivered. From here on nothing may send it again: the answer is written through a database restart;
    // should that still fail, the row stays `sending` and the next run decides (see `repeatable`).
    const { externalId } = sent;
    await persist(() => deps.outbound.markSent(id, externalId));
    await deps
      .onSent?.(row, sent)
      .catch((err: unknown) => deps.log.warn({ err, outboundId: id }, 'onSent failed'));
    await deps.alerts.clear(sender.source).catch(() => undefined);
    return { result: 'sent', externalId };
  };
}
