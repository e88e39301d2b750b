/**
 * Webhooks of the platforms. Every request is authenticated before anything is stored: Telegram's by the
 * X-Telegram-Bot-Api-Secret-Token header (set with setWebhook), VK's Callback API by the `secret` field.
 * A forged request gets 401 and touches nothing. A request that could not be stored gets 500, so the
 * platform delivers it again.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Update } from 'telegraf/types';
import type { TelegramConnector } from '../connectors/telegram.connector.ts';
import type { VkConnector, VkEvent } from '../connectors/vk.connector.ts';
import { AuthError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { firstProblem, TelegramUpdate, VK_EVENTS } from './schemas/webhook.schema.ts';

export interface WebhookTargets {
  telegram(botId: string): TelegramConnector | undefined;
  vk(groupId: number): VkConnector | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export const webhooksRoutes: FastifyPluginAsync<{ targets: () => WebhookTargets | undefined }> = async (
  app,
  opts,
) => {
  app.post<{ Params: { botId: string } }>('/webhooks/telegram/:botId', async (req, reply) => {
    const bot = opts.targets()?.telegram(req.params.botId);
    if (!bot || bot.mode !== 'webhook') throw new NotFoundError('telegram bot', req.params.botId);
    const given = req.headers['x-telegram-bot-api-secret-token'];
    if (typeof given !== 'string' || !same(given, bot.secretToken))
      throw new AuthError('X-Telegram-Bot-Api-Secret-Token is missing or wrong', { code: 'WEBHOOK_FORGED' });
    const update = req.body as Update | undefined;
    if (
      !update ||
      typeof update !== 'object' ||
      typeof (update as { update_id?: unknown }).update_id !== 'number'
    )
      throw new ValidationError('update_id', 'a Telegram Update object is expected');
    // Signed but malformed (fields the connector reads missing or of the wrong type): 400, not a TypeError
    // in a handler answered 500 (issue 9).
    const problem = firstProblem(TelegramUpdate, update);
    if (problem) throw new ValidationError(problem[0], problem[1]);
    await bot.handleUpdate(update);
    return reply.code(200).send({ ok: true });
  });

  app.post<{ Params: { groupId: string } }>('/webhooks/vk/:groupId', async (req, reply) => {
    const community = opts.targets()?.vk(Number(req.params.groupId));
    if (!community || community.mode !== 'callback')
      throw new NotFoundError('vk community', req.params.groupId);
    const event = req.body as VkEvent | undefined;
    if (!event || typeof event !== 'object' || typeof event.type !== 'string')
      throw new ValidationError('type', 'a VK Callback API event is expected');
    if (Number(event.group_id) !== community.groupId)
      throw new ValidationError('group_id', `this endpoint serves community ${community.groupId}`);
    if (event.type === 'confirmation') return reply.type('text/plain').send(community.confirmation);
    if (typeof event.secret !== 'string' || !same(event.secret, community.callbackSecret ?? ''))
      throw new AuthError('the Callback API secret is missing or wrong', { code: 'WEBHOOK_FORGED' });
    // Signed but malformed: 400 naming the field, not a TypeError in the connector answered 500 (issue 9).
    const shape = VK_EVENTS[event.type];
    const problem =
      (event.event_id !== undefined && typeof event.event_id !== 'string'
        ? (['event_id', 'must be a string'] as [string, string])
        : undefined) ??
      (shape && firstProblem(shape.check, shape.part(event.object), shape.at));
    if (problem) throw new ValidationError(problem[0], problem[1]);
    await community.handleEvent(event);
    return reply.type('text/plain').send('ok');
  });
};
