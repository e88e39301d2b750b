/**
 * A long poll hands updates over in order and moves on only past the ones handled: an update whose handling
 * fails every time (a bug, data no one foresaw) would hold the poll for ever, and every citizen of that bot
 * would wait behind it. So the update at the head of a poll is tried MAX_UPDATE_TRIES times; if it still
 * fails while the database answers (a failure then is the update's, not an outage: during an outage nothing
 * is set aside and the poll waits as before), it is set aside — logged, and kept with its payload and error
 * in the audit trail (`connector.update_set_aside`, for the technical administrators) — and the poll goes on.
 */
import type { Logger } from 'pino';

export const MAX_UPDATE_TRIES = 5;

export interface SetAsideUpdate {
  source: string;
  /** The platform's id of the update (Telegram update_id, VK event_id). */
  updateId: string;
  /** What it was (message, callback_query, message_new…). */
  kind: string;
  error: string;
  payload: unknown;
}

export interface PoisonDeps {
  /** True when the database answers. */
  databaseAnswers?: () => Promise<boolean>;
  /** Keeps a set-aside update where staff can find it. */
  setAside?: (u: SetAsideUpdate) => Promise<void>;
}

export interface PoisonGuard {
  /** After a failure of `updateId`: true when it is set aside now (the caller skips it), else rethrow. */
  failed(updateId: string, kind: string, payload: unknown, err: unknown): Promise<boolean>;
  /** After an update was handled. */
  succeeded(): void;
}

export function createPoisonGuard(deps: PoisonDeps, source: string, log: Logger): PoisonGuard {
  let head: { id: string; tries: number } | undefined;
  return {
    async failed(updateId, kind, payload, err) {
      head = head?.id === updateId ? { id: updateId, tries: head.tries + 1 } : { id: updateId, tries: 1 };
      if (head.tries < MAX_UPDATE_TRIES || !deps.databaseAnswers) return false;
      if (!(await deps.databaseAnswers().catch(() => false))) return false;
      const error = err instanceof Error ? err.message : String(err);
      log.error(
        { err, source, updateId, kind, tries: head.tries },
        'an update failed every time while the database answers: set aside, the poll goes on',
      );
      head = undefined;
      await deps
        .setAside?.({ source, updateId, kind, error: error.slice(0, 2000), payload })
        .catch((e: unknown) => log.error({ err: e, updateId }, 'could not keep the set-aside update'));
      return true;
    },
    succeeded() {
      head = undefined;
    },
  };
}

/**
 * Who sent a set-aside update, as `<platform>:<user id>` (Telegram `from.id`, VK `from_id`), so that erasing
 * a citizen's data (152-ФЗ) finds the updates of theirs kept in the audit trail.
 */
export function updateAuthor(source: string, payload: unknown): string | undefined {
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  const p = obj(payload);
  const platform = source.split(':')[0];
  let id: unknown;
  if (platform === 'telegram') {
    for (const kind of ['message', 'edited_message', 'callback_query', 'poll_answer', 'my_chat_member']) {
      const from = obj(obj(p?.[kind])?.[kind === 'poll_answer' ? 'user' : 'from']);
      if (from?.id !== undefined) {
        id = from.id;
        break;
      }
    }
  } else {
    const o = obj(p?.object);
    id = obj(o?.message)?.from_id ?? o?.from_id ?? o?.user_id;
  }
  return typeof id === 'number' || (typeof id === 'string' && id) ? `${platform}:${id}` : undefined;
}
