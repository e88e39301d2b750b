import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { storableCopy } from '../domain/storable.ts';
import { createPoisonGuard, MAX_UPDATE_TRIES, updateAuthor, type SetAsideUpdate } from './poison.ts';

const log = pino({ level: 'silent' });
const boom = new Error('boom');

describe('poison guard of a long poll', () => {
  it('sets an update aside after MAX_UPDATE_TRIES failures while the database answers, once', async () => {
    const kept: SetAsideUpdate[] = [];
    const g = createPoisonGuard(
      { databaseAnswers: async () => true, setAside: async (u) => void kept.push(u) },
      'telegram:1',
      log,
    );
    for (let i = 1; i < MAX_UPDATE_TRIES; i++)
      expect(await g.failed('7', 'message', { a: 1 }, boom)).toBe(false);
    expect(await g.failed('7', 'message', { a: 1 }, boom)).toBe(true);
    expect(kept).toEqual([
      { source: 'telegram:1', updateId: '7', kind: 'message', error: 'boom', payload: { a: 1 } },
    ]);
    // The next update starts its own count.
    expect(await g.failed('8', 'message', {}, boom)).toBe(false);
  });

  it('never sets aside while the database does not answer (an outage: the poll waits, nothing is skipped)', async () => {
    const kept: SetAsideUpdate[] = [];
    const g = createPoisonGuard(
      {
        databaseAnswers: async () => Promise.reject(new Error('ECONNREFUSED')),
        setAside: async (u) => void kept.push(u),
      },
      'vk:1',
      log,
    );
    for (let i = 0; i < MAX_UPDATE_TRIES * 3; i++)
      expect(await g.failed('e1', 'message_new', {}, boom)).toBe(false);
    expect(kept).toEqual([]);
  });

  it('a success in between starts the count again; without a database probe nothing is set aside', async () => {
    const g = createPoisonGuard({ databaseAnswers: async () => true }, 'telegram:1', log);
    for (let i = 1; i < MAX_UPDATE_TRIES; i++) await g.failed('9', 'message', {}, boom);
    g.succeeded();
    expect(await g.failed('9', 'message', {}, boom)).toBe(false);
    const bare = createPoisonGuard({}, 'telegram:1', log);
    for (let i = 0; i < MAX_UPDATE_TRIES * 2; i++)
      expect(await bare.failed('1', 'message', {}, boom)).toBe(false);
  });

  it('keeps a copy PostgreSQL can store: NUL and lone surrogates, in keys too, become U+FFFD', () => {
    expect(storableCopy({ 'a\u0000': ['x\uD800y', 'ok 😀', 1, null, true] })).toEqual({
      'a\uFFFD': ['x\uFFFDy', 'ok 😀', 1, null, true],
    });
  });

  it('names the citizen of a set-aside update, so that erasing their data finds it', () => {
    expect(updateAuthor('telegram:1', { update_id: 5, message: { from: { id: 42 }, text: 'x' } })).toBe(
      'telegram:42',
    );
    expect(updateAuthor('telegram:1', { callback_query: { from: { id: 7 }, data: 'x' } })).toBe('telegram:7');
    expect(updateAuthor('telegram:1', { poll_answer: { user: { id: 8 } } })).toBe('telegram:8');
    expect(updateAuthor('vk:2', { type: 'message_new', object: { message: { from_id: 9 } } })).toBe('vk:9');
    expect(updateAuthor('vk:2', { type: 'wall_reply_new', object: { from_id: 10 } })).toBe('vk:10');
    expect(updateAuthor('telegram:1', { channel_post: { chat: { id: -1 } } })).toBeUndefined();
    expect(updateAuthor('vk:2', null)).toBeUndefined();
  });
});
