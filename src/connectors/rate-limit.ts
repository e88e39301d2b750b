/**
 * A send-slot limiter shared by every process through Redis: each call reserves the next free moment at
 * which a message to `chat` may go out (at least `perChatMs` after the last one to that chat and `globalMs`
 * after the last one of the bot) and returns how long to wait for it. A 429 pushes the chat's next slot
 * back by the time the platform asked for. Time is Redis's own clock, so processes never disagree.
 *
 * A caller that will not wait for a far slot (the send queue moves such a job to delayed) passes `maxWaitMs`:
 * a slot beyond it is not taken, only reported. Taking it anyway made a backlog livelock (issue 9,
 * «Faults»): each delayed job held a slot it never used and, when it came back, took a new one behind
 * everybody else's — with more than `maxWaitMs / globalMs` jobs waiting (60 for Telegram) none ever sent.
 */
import type { Redis } from 'ioredis';
import type { SendLimits } from './platform.ts';

const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local g = tonumber(redis.call('GET', KEYS[2]) or '0')
local at = math.max(now, c, g)
local perChat = tonumber(ARGV[1])
local global = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[3])
if maxWait >= 0 and at - now > maxWait then return {at, now} end
redis.call('SET', KEYS[1], at + perChat, 'PX', at + perChat - now + 60000)
redis.call('SET', KEYS[2], at + global, 'PX', at + global - now + 60000)
return {at, now}
`;

const PUSH_BACK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(c, now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], at, 'PX', at - now + 60000)
return at - now
`;

export interface SendLimiter {
  /**
   * Reserves a slot; resolves with the milliseconds to wait before sending. With `maxWaitMs`, a slot further
   * away than that is not reserved: the wait is returned (more than `maxWaitMs`) and the caller comes back
   * about then to reserve again.
   */
  reserve(source: string, chat: string, limits: SendLimits, maxWaitMs?: number): Promise<number>;
  /** The same, with the slot itself (Redis clock, ms since the epoch) and the wait. */
  reserveSlot(
    source: string,
    chat: string,
    limits: SendLimits,
    maxWaitMs?: number,
  ): Promise<{ at: number; waitMs: number }>;
  /** The platform said «retry after»: no message to this chat before then (and the bot waits too when `global`). */
  pushBack(source: string, chat: string, ms: number, global?: boolean): Promise<void>;
}

export function createSendLimiter(redis: Redis, prefix: string): SendLimiter {
  const chatKey = (source: string, chat: string) => `${prefix}:rl:${source}:chat:${chat}`;
  const globalKey = (source: string) => `${prefix}:rl:${source}:all`;
  return {
    async reserveSlot(source, chat, limits, maxWaitMs) {
      const [at, now] = (await redis.eval(
        RESERVE,
        2,
        chatKey(source, chat),
        globalKey(source),
        String(limits.perChatMs),
        String(limits.globalMs),
        String(maxWaitMs ?? -1),
      )) as [number, number];
      return { at: Number(at), waitMs: Math.max(0, Number(at) - Number(now)) };
    },
    async reserve(source, chat, limits, maxWaitMs) {
      return (await this.reserveSlot(source, chat, limits, maxWaitMs)).waitMs;
    },
    async pushBack(source, chat, ms, global = false) {
      await redis.eval(PUSH_BACK, 1, chatKey(source, chat), String(Math.ceil(ms)));
      if (global) await redis.eval(PUSH_BACK, 1, globalKey(source), String(Math.ceil(ms)));
    },
  };
}
