/** One pino root logger; pretty in a terminal, JSON otherwise; secrets redacted. */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-telegram-bot-api-secret-token"]',
  '*.token',
  '*.password',
  '*.secret',
  '*.apiToken',
  '*.ingestToken',
  'config.INGEST_TOKEN',
  'config.API_TOKEN',
  'config.TELEGRAM_BOT_TOKEN',
  'config.VK_GROUP_TOKEN',
  'config.STAFF_BOT_TOKEN',
  'config.TELEGRAM_WEBHOOK_SECRET',
  'config.VK_CALLBACK_SECRET',
  'config.DATABASE_URL',
  'config.REDIS_URL',
];

export function createLogger(opts: { level: string; format: 'auto' | 'pretty' | 'json' }): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true);
  return pino({
    level: opts.level,
    name: 'otklik',
    redact: { paths: REDACT_PATHS, censor: '[скрыто]' },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  });
}
