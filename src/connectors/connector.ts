/**
 * The connector contract: a connector turns platform payloads into `InboundMessage`s and hands them to
 * `ingest`; it reports its state for /health. Nothing platform-specific leaks past src/connectors/.
 */
import type { PoisonDeps } from './poison.ts';
import type { Logger } from 'pino';
import type { InboundMessage, OutboundMessage } from '../domain/types.ts';
import type { ConnectorAlerts } from './alerts.ts';
import type { CitizenDialog, DialogInput, DialogReply } from './citizen-dialog.ts';

export interface ConnectorStatus {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface Connector {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ConnectorStatus;
}

/** What a connector receives from the app: the one way into the platform. */
export type IngestFn = (msg: InboundMessage) => Promise<{ id: number; created: boolean }>;

/** What every bot connector (Telegram, VK, …) gets from the app. */
export interface BotConnectorDeps {
  dialog: CitizenDialog;
  ingest: IngestFn;
  /** Stores a durable reply in the outbox (sent by the send queue). */
  deliver: (reply: DialogReply, input: DialogInput, index: number) => Promise<void>;
  /** Sends at once, through the shared limiter, storing nothing (replies before consent). */
  sendDirect: (msg: OutboundMessage) => Promise<void>;
  /** Registers the bot's two sources (messenger and `:public`). */
  registerSources: (bot: { source: string; username?: string }) => Promise<void>;
  alerts: ConnectorAlerts;
  log: Logger;
  /** An update of a long poll that fails every time is set aside after a few tries (see poison.ts). */
  poison?: PoisonDeps;
}

/** Delivers the dialog's replies to one input: stored ones through the outbox, the others at once. */
export async function deliverReplies(
  deps: Pick<BotConnectorDeps, 'deliver' | 'sendDirect'>,
  input: DialogInput,
  replies: readonly DialogReply[],
  skip: (reply: DialogReply) => Promise<boolean> = async () => false,
): Promise<void> {
  for (const [i, r] of replies.entries()) {
    if (await skip(r)) continue;
    if (r.durable) await deps.deliver(r, input, i);
    else
      await deps.sendDirect({
        source: input.source,
        chatId: input.chatId,
        text: r.text,
        buttons: r.buttons,
        idempotencyKey: `direct:${input.source}:${input.externalId}:${i}`,
      });
  }
}
