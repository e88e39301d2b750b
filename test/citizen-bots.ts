/**
 * The citizen-bot test bench shared by the dialog test files: a Telegram Bot API emulator with one citizen
 * bot, a VK API emulator with one community, and the app (API, workers, connectors) polling both, over real
 * PostgreSQL, Redis and BullMQ — plus the helpers every such test speaks through.
 */
import { afterAll, beforeAll } from 'vitest';
import {
  nextMessage,
  startTelegramEmulator,
  type SentRecord,
  type TelegramEmulator,
} from './emulators/telegram.ts';
import { startVkEmulator, type VkEmulator } from './emulators/vk.ts';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';

type Keyboard = { inline_keyboard: { text: string; callback_data: string }[][] };
export const buttonsOf = (r: SentRecord) =>
  ((r.reply_markup as Keyboard | undefined)?.inline_keyboard ?? []).flat();
export const numberOf = (text: string) => Number(/№ (\d{6})/.exec(text)![1]);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CitizenBots {
  tg: TelegramEmulator;
  vk: VkEmulator;
  t: TestApp;
}

/**
 * Starts the bench before the file's tests and stops it after them. The returned object's fields are set
 * by the time a test runs; `firstUser` numbers the citizens `citizen()` makes.
 */
export function useCitizenBots(o: {
  bot: string;
  username: string;
  group: number;
  vkToken: string;
  firstUser: number;
}) {
  const bots = {} as CitizenBots;
  let nextUser = o.firstUser;
  beforeAll(async () => {
    bots.tg = await startTelegramEmulator();
    bots.tg.addBot(o.bot, { username: o.username });
    bots.vk = await startVkEmulator();
    bots.vk.addGroup(o.group, o.vkToken);
    bots.t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      listen: true,
      env: {
        TELEGRAM_BOT_TOKEN: o.bot,
        TELEGRAM_API_ROOT: bots.tg.url,
        TELEGRAM_POLL_TIMEOUT_S: '1',
        TELEGRAM_RATE_PER_CHAT_MS: '100',
        VK_GROUP_TOKEN: o.vkToken,
        VK_GROUP_ID: String(o.group),
        VK_API_BASE_URL: bots.vk.apiBaseUrl,
        VK_API_LIMIT: '50',
        VK_POLL_WAIT_S: '1',
      },
    });
  });
  afterAll(async () => {
    await bots.t?.close();
    await bots.tg?.close();
    await bots.vk?.close();
  });

  const q = <T>(sql: string, params: unknown[] = []) => bots.t.app.database.query<T>(sql, params);
  const mark = () => bots.tg.sent().length;
  const next = (chat: number, after: number, match?: RegExp) =>
    nextMessage(bots.tg, o.bot, chat, after, match);
  /** Messages the bot sent to `chat` since `after` whose text matches. */
  const sentTo = (chat: number, after: number, match: RegExp) =>
    bots.tg
      .sent(o.bot)
      .filter(
        (r) => r.chat_id === String(chat) && bots.tg.sent().indexOf(r) >= after && match.test(r.text ?? ''),
      );
  const push = (update: Record<string, unknown>) => bots.tg.pushUpdate(o.bot, update);
  const press = (user: { id: number }, data: string, msg: SentRecord) =>
    push(bots.tg.updates.callback(user as never, data, { chat_id: user.id, message_id: msg.message_id }));
  const newUser = (first_name = 'Житель') => ({ id: ++nextUser, first_name });

  /** The incident of stored message `id`, once it is routed. */
  const routed = (id: number) =>
    waitFor(
      async () => {
        const [r] = await q<{ incident_id: number | null; state: string }>(
          `select incident_id, state from messages where id = $1`,
          [id],
        );
        return r?.state === 'routed' && r.incident_id ? Number(r.incident_id) : undefined;
      },
      { what: `message ${id} routed` },
    );

  /** A citizen who said /start and gave consent. */
  async function citizen() {
    const user = newUser();
    let m = mark();
    push(bots.tg.updates.privateText(user, '/start'));
    const greeting = await next(user.id, m, /152-ФЗ/);
    m = mark();
    press(user, 'consent:yes', greeting);
    await next(user.id, m, /согласие получено/);
    return user;
  }

  /** A VK citizen `u` who started the bot and gave consent, and how to talk with them. */
  async function vkCitizen(u: number) {
    const say = (text: string, payload?: string) =>
      bots.vk.pushEvent(
        o.group,
        bots.vk.events.messageNew({ fromId: u, text, ...(payload ? { payload } : {}) }),
      );
    const vmark = () => bots.vk.sent().length;
    const reply = async (after: number, match: RegExp) =>
      (
        await bots.vk.waitForSent(
          (s) => s.peer_id === u && bots.vk.sent().indexOf(s) >= after && match.test(s.message),
          { timeoutMs: 15_000 },
        )
      )[0]!;
    let m = vmark();
    say('Начать', JSON.stringify({ command: 'start' }));
    await reply(m, /152-ФЗ/);
    m = vmark();
    say('Даю согласие', JSON.stringify({ d: 'consent:yes' }));
    await reply(m, /согласие получено/);
    return { say, vmark, reply };
  }

  return { bots, q, mark, next, sentTo, push, press, newUser, citizen, vkCitizen, routed };
}
