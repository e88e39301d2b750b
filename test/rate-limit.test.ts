/**
 * The send-slot limiter on the real Redis: Telegram's «one message a second per chat, thirty a second per
 * bot» hold across concurrent callers (as if they were several worker processes), and a 429 pushes back.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createSendLimiter } from '../src/connectors/rate-limit.ts';
import { REDIS_URL } from './helpers.ts';

const redis = new Redis(REDIS_URL);
const prefix = `rl${randomBytes(4).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('send limiter', () => {
  const limits = { perChatMs: 1000, globalMs: Math.ceil(1000 / 30) };

  it('spaces messages to one chat a second apart, and the whole bot at 30 a second', async () => {
    const limiter = createSendLimiter(redis, prefix);
    // 5 messages to one chat and 60 to 60 other chats, asked for all at once. The slots are the moments
    // reserved on Redis's clock, so the spacing is exact.
    const oneChat = Array.from({ length: 5 }, () => limiter.reserveSlot('telegram:1', 'chat-a', limits));
    const many = Array.from({ length: 60 }, (_, i) => limiter.reserveSlot('telegram:1', `c${i}`, limits));
    const slotsA = (await Promise.all(oneChat)).map((x) => x.at).sort((a, b) => a - b);
    for (let i = 1; i < slotsA.length; i++) expect(slotsA[i]! - slotsA[i - 1]!).toBeGreaterThanOrEqual(1000);
    const all = [...(await Promise.all(many)).map((x) => x.at), ...slotsA].sort((a, b) => a - b);
    // No two slots of the bot closer than 1/30 s: 65 messages take at least 64/30 s.
    for (let i = 1; i < all.length; i++)
      expect(all[i]! - all[i - 1]!).toBeGreaterThanOrEqual(limits.globalMs);
    expect(all.at(-1)! - all[0]!).toBeGreaterThanOrEqual(4000); // the fifth message to chat-a
  });

  it('keeps bots apart, and a 429 moves the chat back by retry_after', async () => {
    const limiter = createSendLimiter(redis, prefix);
    expect(await limiter.reserve('telegram:2', 'x', limits)).toBe(0);
    expect(await limiter.reserve('telegram:3', 'x', limits)).toBe(0); // another bot: its own limits
    await limiter.pushBack('telegram:2', 'y', 5000);
    const w = await limiter.reserve('telegram:2', 'y', limits);
    expect(w).toBeGreaterThan(4900);
    expect(w).toBeLessThanOrEqual(5000);
  });
});
