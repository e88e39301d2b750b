/**
 * What the rest of the platform sees of a messaging platform: a sender of `OutboundMessage`s with its
 * limits, and the errors it may raise, classified so the send queue knows whether to wait, retry or stop.
 */
import type { OutboundMessage } from '../domain/types.ts';

export type SendErrorKind =
  /** The platform asked us to slow down (Telegram 429, VK 6/9): wait `retryAfterMs`, try again, no attempt used. */
  | 'rate_limited'
  /** A server or network fault (5xx, VK 10): retry with backoff. */
  | 'temporary'
  /** The token is not accepted (Telegram 401, VK 5): alert in /health, keep the message, retry later. */
  | 'auth'
  /** The platform refused this message for good (bot blocked, chat gone, bad request): mark it failed. */
  | 'rejected';

export class SendError extends Error {
  readonly kind: SendErrorKind;
  readonly retryAfterMs?: number;
  readonly code?: number;
  /** A `rejected` send because the person blocked the bot or does not accept its messages (Telegram 403, VK 900–902). */
  readonly recipientBlocked?: boolean;
  /** No answer came (network error, timeout): the platform may or may not have delivered the message. */
  readonly noAnswer?: boolean;
  constructor(
    kind: SendErrorKind,
    message: string,
    opts: {
      retryAfterMs?: number;
      code?: number;
      cause?: unknown;
      recipientBlocked?: boolean;
      noAnswer?: boolean;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'SendError';
    this.kind = kind;
    this.retryAfterMs = opts.retryAfterMs;
    this.code = opts.code;
    if (opts.recipientBlocked) this.recipientBlocked = true;
    if (opts.noAnswer) this.noAnswer = true;
  }
}

export interface SendLimits {
  /** Least time between two messages to one chat. */
  perChatMs: number;
  /** Least time between two messages of the whole bot / community. */
  globalMs: number;
}

/** One bot or community, as seen by the send queue. */
export interface PlatformSender {
  /** The messenger source id of the bot (`telegram:<bot id>`, `vk:<group id>`); its `:public`/`:wall` twin shares it. */
  readonly source: string;
  readonly limits: SendLimits;
  /** Sends one message; throws SendError. Returns the platform's id of what was sent (and of a native poll). */
  send(msg: OutboundMessage): Promise<{ externalId: string; pollId?: string }>;
}

/** `telegram:123:public` → `telegram:123`: the bot or community that owns a source. */
export function ownerSource(sourceId: string): string {
  const parts = sourceId.split(':');
  return parts.slice(0, 2).join(':');
}
