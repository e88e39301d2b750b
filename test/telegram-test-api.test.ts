/**
 * One full citizen conversation against `telegram-test-api`, a Telegram Bot API emulator written outside
 * this project, so the bot is checked against a server whose behaviour we did not choose.
 */
import testApi from 'telegram-test-api';
import type { TelegramServer } from 'telegram-test-api/lib/telegramServer.js';

// A CommonJS module whose typings declare an ES default export: at run time the class is `.default`.
const Server = ((testApi as unknown as { default?: typeof TelegramServer }).default ??
  testApi) as unknown as typeof TelegramServer;
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestApp, waitFor, type TestApp } from './helpers.ts';

const TOKEN = '700100400:AAtest-third-party-emulator-0123';

interface BotMessage {
  message: {
    chat_id: string | number;
    text: string;
    reply_markup?: { inline_keyboard?: { callback_data: string }[][] };
  };
  messageId: number;
}

describe('the citizen bot against telegram-test-api', () => {
  let server: TelegramServer;
  let t: TestApp;

  beforeAll(async () => {
    const port = await freePort();
    server = new Server({ port, host: '127.0.0.1', storage: 'RAM', storeTimeout: 600 });
    await server.start();
    t = await startTestApp({
      roles: ['api', 'workers', 'connectors'],
      env: {
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: server.config.apiURL,
        TELEGRAM_POLL_TIMEOUT_S: '1',
      },
    });
  });
  afterAll(async () => {
    // The emulator answers getUpdates at once whatever the timeout: stop the bot before the server.
    await t?.close();
    await server?.stop();
  });

  it('greets, takes consent, registers an appeal with its municipality and lists it in /status', async () => {
    const client = server.getClient(TOKEN, {
      userId: 4242,
      chatId: 4242,
      firstName: 'Мария',
      userName: 'maria',
    });
    const received: BotMessage[] = [];
    const expectReply = (match: RegExp) =>
      waitFor(
        async () => {
          received.push(...((await client.getUpdates()).result as unknown as BotMessage[]));
          return received.find((m) => match.test(m.message.text));
        },
        { what: `a bot message matching ${match}`, timeoutMs: 20_000 },
      );

    await client.sendCommand(client.makeCommand('/start'));
    const greeting = await expectReply(/152-ФЗ/);
    expect(greeting.message.reply_markup?.inline_keyboard?.flat().map((b) => b.callback_data)).toEqual([
      'consent:yes',
      'consent:no',
    ]);

    await client.sendCallback(
      client.makeCallbackQuery('consent:yes', { message: { message_id: greeting.messageId } }) as never,
    );
    await expectReply(/согласие получено/);

    await client.sendMessage(
      client.makeMessage('В Камне-на-Оби на улице Пушкина, 12 течёт крыша, заливает квартиру'),
    );
    const conf = await expectReply(/зарегистрировано/);
    expect(conf.message.text).toMatch(/№ \d{6} \(Каменский район\)/); // Камень-на-Оби is the centre of the district;
    const id = Number(/№ (\d{6})/.exec(conf.message.text)![1]);
    const row = await waitFor(async () => {
      const [r] = await t.app.database.query<{ state: string; incident_id: number | null }>(
        `select state, incident_id from messages where id = $1`,
        [id],
      );
      return r?.state === 'routed' ? r : undefined;
    });
    expect(row.incident_id).not.toBeNull();

    await client.sendCommand(client.makeCommand('/status'));
    const st = await expectReply(/Ваши обращения/);
    expect(st.message.text).toContain(`№ ${String(id).padStart(6, '0')}`);
  });
});
