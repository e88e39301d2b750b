/**
 * send: one outbox row → one platform message. Limits are kept before sending (a shared slot limiter:
 * Telegram's 1 message/s per chat and 30/s per bot, VK's requests/s); a «slow down» answer (Telegram 429,
 * VK 6/9) moves the job back by the time asked without using an attempt, so a flood storm delays replies
 * but never drops or duplicates them. A row already sent is never sent again.
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
  /** Loads the file an outbox row attaches (a stored report); undefined when it is gone. */
  attachment?: (ref: AttachmentRef) => Promise<OutboundMessage['document'] | undefined>;
  /**
   * Called once a row was sent (official replies are checked for conflicts; a poll records its message and
   * Telegram's poll id); a failure is only logged.
   */
  onSent?: (row: OutboundRow, sent: { externalId: string; pollId?: string }) => Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    if (row.status !== 'pending') return { result: `already_${row.status}` };
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
    const wait = await deps.limiter.reserve(sender.source, row.chatId, sender.limits);
    if (wait > maxInline) await later(job, token, wait);
    if (wait > 0) await sleep(wait);
    try {
      const sent = await sender.send({
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
      const { externalId } = sent;
      await deps.outbound.markSent(id, externalId);
      await deps
        .onSent?.(row, sent)
        .catch((err: unknown) => deps.log.warn({ err, outboundId: id }, 'onSent failed'));
      await deps.alerts.clear(sender.source).catch(() => undefined);
      return { result: 'sent', externalId };
    } catch (err) {
      if (!(err instanceof SendError)) throw err;
      await deps.outbound.attempt(id, `${err.kind}: ${err.message}`);
      switch (err.kind) {
        case 'rate_limited': {
          const ms = err.retryAfterMs ?? 1000;
          await deps.limiter.pushBack(sender.source, row.chatId, ms);
          deps.log.warn(
            { source: sender.source, retryAfterMs: ms, outboundId: id },
            'platform asked to slow down',
          );
          return later(job, token, ms);
        }
        case 'auth':
          await deps.alerts.raise(sender.source, err.message);
          deps.log.error(
            { source: sender.source, err },
            'platform refused the token; message kept, will retry',
          );
          return later(job, token, deps.authRetryMs ?? 60_000);
        case 'rejected':
          await deps.outbound.markFailed(id, err.message);
          return { result: 'rejected', reason: err.message };
        default:
          throw err; // temporary: BullMQ retries with backoff
      }
    }
  };
}
