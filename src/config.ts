/**
 * Configuration: parsed from the environment once, validated, frozen (STYLE.md, habit 11).
 * Nothing else in the project reads process.env.
 */
import path from 'node:path';
import { ConfigError } from './domain/errors.ts';

type Parser<T> = (raw: string) => T;

interface VarSpec<T> {
  default?: T;
  parse: Parser<T>;
  doc: string;
  secret?: boolean;
}

const str: Parser<string> = (raw) => raw;
const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
const num =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`must be a number, got "${raw}"`);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    if (!(values as string[]).includes(raw))
      throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
const url =
  (...protocols: string[]): Parser<string> =>
  (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`must be a URL, got "${redactUrl(raw)}"`);
    }
    if (!protocols.includes(u.protocol)) throw new Error(`must start with ${protocols.join(' or ')}`);
    return raw;
  };
const token: Parser<string> = (raw) => {
  if (raw.length < 16) throw new Error('must be at least 16 characters long');
  return raw;
};
const list: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@');
}

/** The table of environment variables (also rendered into the README). */
export const ENV_SPEC = {
  PORT: { default: 3000, parse: int(0, 65535), doc: 'HTTP port of the API and web UI' },
  HOST: { default: '127.0.0.1', parse: str, doc: 'Interface to listen on' },
  DATA_DIR: {
    default: './data',
    parse: str,
    doc: 'Embedded PGlite database, private Redis and generated secrets',
  },
  DATABASE_URL: {
    parse: url('postgres:', 'postgresql:'),
    doc: 'PostgreSQL server; unset → embedded PGlite under DATA_DIR',
    secret: true,
  },
  REDIS_URL: {
    parse: url('redis:', 'rediss:'),
    doc: 'Redis server; unset → a private redis-server from PATH (AOF under DATA_DIR)',
    secret: true,
  },
  REDIS_SERVER_BIN: { default: 'redis-server', parse: str, doc: 'Binary used when REDIS_URL is unset' },
  QUEUE_PREFIX: {
    default: 'otklik',
    parse: str,
    doc: 'BullMQ key prefix (several installations can share one Redis)',
  },
  ROLES: {
    default: ['api', 'workers', 'connectors'],
    parse: (raw: string) => {
      const roles = list(raw);
      for (const r of roles)
        if (!['api', 'workers', 'connectors', 'demo'].includes(r))
          throw new Error(`unknown role "${r}" (api, workers, connectors, demo)`);
      return roles;
    },
    doc: 'What this process runs: comma list of api, workers, connectors, demo',
  },
  INGEST_TOKEN: {
    parse: token,
    doc: 'Bearer token for POST /api/v1/messages; unset → generated once into DATA_DIR/secrets.json',
    secret: true,
  },
  API_TOKEN: {
    parse: token,
    doc: 'Bearer token for the read API; unset → generated once into DATA_DIR/secrets.json',
    secret: true,
  },
  LOG_LEVEL: {
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    doc: 'pino log level',
  },
  LOG_FORMAT: {
    default: 'auto',
    parse: oneOf('auto', 'pretty', 'json'),
    doc: 'auto = pretty in a terminal, JSON otherwise',
  },
  DEMO: {
    default: 'auto',
    parse: oneOf('auto', 'on', 'off'),
    doc: 'Demo region: a trickle of sample messages; auto = on when no bot tokens are set',
  },
  DEMO_INTERVAL_MS: { default: 4000, parse: int(50, 3_600_000), doc: 'Mean pause between demo messages' },
  GROUPING_WINDOW_HOURS: {
    default: 72,
    parse: num(1, 24 * 90),
    doc: 'A message joins an open incident last touched within this window',
  },
  GROUPING_THRESHOLD: {
    default: 0.5,
    parse: num(0.05, 1),
    doc: 'Term similarity (Jaccard) at which two messages are near-duplicates',
  },
  ANALYZER: {
    default: 'auto',
    parse: oneOf('auto', 'classic', 'transformer', 'ensemble'),
    doc: 'Text analysis: auto = the combination chosen by `npm run eval` (models/shipped.json)',
  },
  REVIEW_THRESHOLD: {
    default: 0.45,
    parse: num(0, 1),
    doc: 'Sector confidence below which a message is marked for human review',
  },
  ANALYZE_CONCURRENCY: { default: 2, parse: int(1, 64), doc: 'Parallel analyze jobs per worker process' },
  ROUTE_CONCURRENCY: { default: 4, parse: int(1, 64), doc: 'Parallel route jobs per worker process' },
  INGEST_BATCH_MAX: {
    default: 200,
    parse: int(1, 5000),
    doc: 'Most messages written in one INSERT by the ingest batcher',
  },
  INGEST_BATCH_WAIT_MS: {
    default: 5,
    parse: int(0, 1000),
    doc: 'How long the ingest batcher waits to fill a batch',
  },
  SWEEP_INTERVAL_MS: {
    default: 15_000,
    parse: int(100, 3_600_000),
    doc: 'How often the sweeper looks for messages stuck in a state',
  },
  SWEEP_STUCK_AFTER_MS: {
    default: 60_000,
    parse: int(100, 86_400_000),
    doc: 'A message not moving for this long is re-enqueued',
  },
  WORKER_LOCK_MS: {
    default: 30_000,
    parse: int(1000, 600_000),
    doc: 'Job lock; a job of a killed worker is taken over after about this long',
  },
  SLA_WATCH_EVERY_MS: { default: 60_000, parse: int(1000, 3_600_000), doc: 'Period of the sla-watch job' },
  CARD_REFRESH_WINDOW_MS: {
    default: 30_000,
    parse: int(100, 600_000),
    doc: 'New messages edit an incident card at most once per this window',
  },
  PUBLIC_URL: {
    default: 'http://127.0.0.1:3000',
    parse: url('http:', 'https:'),
    doc: 'Base URL of the web workspace, used in links on cards',
  },
  TELEGRAM_BOT_TOKEN: {
    parse: (raw: string) => {
      const tokens = list(raw);
      for (const t of tokens)
        if (!/^\d+:[\w-]{20,}$/.test(t))
          throw new Error('must be bot tokens like 123456789:AA… (comma-separated for several bots)');
      return tokens;
    },
    doc: "Telegram bot tokens, comma-separated for several bots (e.g. the governor's and the ЦУР's); unset → no Telegram",
    secret: true,
  },
  STAFF_BOT_TOKEN: {
    parse: (raw: string) => {
      if (!/^\d+:[\w-]{20,}$/.test(raw)) throw new Error('must be a bot token like 123456789:AA…');
      return raw;
    },
    doc: 'Telegram staff bot: incident cards with buttons, reminders, digests in the chats of blocks and agencies',
    secret: true,
  },
  DIGEST_HOUR: {
    default: 9,
    parse: int(0, 23),
    doc: 'Local (Barnaul) hour of the morning digest in staff chats',
  },
  TELEGRAM_API_ROOT: {
    default: 'https://api.telegram.org',
    parse: url('http:', 'https:'),
    doc: 'Bot API server (a local Bot API server or a test emulator)',
  },
  TELEGRAM_WEBHOOK_URL: {
    parse: url('https:', 'http:'),
    doc: 'Public base URL for webhooks (…/webhooks/telegram/<bot id> is appended); unset → long polling',
  },
  TELEGRAM_WEBHOOK_SECRET: {
    parse: (raw: string) => {
      if (!/^[A-Za-z0-9_-]{16,256}$/.test(raw))
        throw new Error('must be 16–256 characters of A-Z a-z 0-9 _ -');
      return raw;
    },
    doc: 'Secret behind X-Telegram-Bot-Api-Secret-Token; unset → generated once into DATA_DIR/secrets.json',
    secret: true,
  },
  TELEGRAM_POLL_TIMEOUT_S: { default: 25, parse: int(0, 50), doc: 'Long-polling timeout of getUpdates' },
  TELEGRAM_RATE_PER_CHAT_MS: {
    default: 1000,
    parse: int(0, 60_000),
    doc: 'Least time between two messages to one Telegram chat',
  },
  TELEGRAM_RATE_PER_SECOND: {
    default: 30,
    parse: int(1, 1000),
    doc: 'Most messages per second per Telegram bot',
  },
  VK_GROUP_TOKEN: {
    parse: list,
    doc: 'VK community tokens, comma-separated, in the order of VK_GROUP_ID; unset → no VK',
    secret: true,
  },
  VK_GROUP_ID: {
    parse: (raw: string) =>
      list(raw).map((v) => {
        if (!/^\d+$/.test(v)) throw new Error(`must be community ids (numbers), got "${v}"`);
        return Number(v);
      }),
    doc: 'VK community ids, comma-separated, one per token in VK_GROUP_TOKEN',
  },
  VK_API_BASE_URL: {
    default: 'https://api.vk.com/method',
    parse: url('http:', 'https:'),
    doc: 'VK API base URL (a proxy or a test emulator)',
  },
  VK_CALLBACK_SECRET: {
    parse: str,
    doc: 'Secret key of the Callback API, checked on every event (required with VK_CONFIRMATION)',
    secret: true,
  },
  VK_CONFIRMATION: {
    parse: list,
    doc: 'Callback API confirmation string(s), one per community; set → Callback API, unset → Bots Long Poll',
  },
  VK_API_LIMIT: { default: 20, parse: int(1, 100), doc: 'VK API requests per second per community' },
  VK_FLOOD_WAIT_MS: {
    default: 5000,
    parse: int(100, 600_000),
    doc: 'Pause before retrying after VK «flood control» (error 9), which names no retry time',
  },
  VK_POLL_WAIT_S: { default: 25, parse: int(1, 90), doc: 'Bots Long Poll wait' },
  SEND_CONCURRENCY: {
    default: 8,
    parse: int(1, 256),
    doc: 'Parallel send jobs (messages to citizens) per worker process',
  },
} satisfies Record<string, VarSpec<unknown>>;

type Spec = typeof ENV_SPEC;
type ValueOf<K extends keyof Spec> = ReturnType<Spec[K]['parse']>;
export type Config = {
  readonly [K in keyof Spec]: Spec[K] extends { default: unknown } ? ValueOf<K> : ValueOf<K> | undefined;
} & { readonly dataDir: string };

/** Parse and validate; throws ConfigError listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV_SPEC) as [string, VarSpec<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = spec.parse(raw);
    } catch (err) {
      problems.push(`${name} ${(err as Error).message}`);
    }
  }
  if (!problems.length) problems.push(...crossChecks(out));
  if (problems.length) throw new ConfigError(problems);
  out.dataDir = path.resolve(out.DATA_DIR as string);
  return Object.freeze(out) as Config;
}

/** Rules that involve several variables. */
function crossChecks(c: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const tokens = (c.VK_GROUP_TOKEN as string[] | undefined) ?? [];
  const ids = (c.VK_GROUP_ID as number[] | undefined) ?? [];
  const confirmations = (c.VK_CONFIRMATION as string[] | undefined) ?? [];
  if (tokens.length !== ids.length)
    problems.push(
      `VK_GROUP_ID must list one community id per token in VK_GROUP_TOKEN (${tokens.length} tokens, ${ids.length} ids)`,
    );
  if (confirmations.length && confirmations.length !== 1 && confirmations.length !== ids.length)
    problems.push('VK_CONFIRMATION must be one string, or one per community in VK_GROUP_ID');
  if (confirmations.length && !c.VK_CALLBACK_SECRET)
    problems.push(
      'VK_CALLBACK_SECRET must be set with VK_CONFIRMATION: every Callback API event is checked against it',
    );
  const bots = (c.TELEGRAM_BOT_TOKEN as string[] | undefined) ?? [];
  const botIds = bots.map((t) => t.split(':')[0]);
  if (new Set(botIds).size !== botIds.length) problems.push('TELEGRAM_BOT_TOKEN lists the same bot twice');
  const staff = c.STAFF_BOT_TOKEN as string | undefined;
  if (staff && botIds.includes(staff.split(':')[0]))
    problems.push(
      'STAFF_BOT_TOKEN must be a bot of its own, not one of TELEGRAM_BOT_TOKEN (citizens must never see staff cards)',
    );
  return problems;
}

/** For commands: the config, or the list of problems on stderr and exit code 2 (no stack trace). */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Markdown table of the variables, for the README (`otklik env`). */
export function envTable(): string {
  const rows = Object.entries(ENV_SPEC as Record<string, VarSpec<unknown>>).map(([name, s]) => {
    const def =
      s.default === undefined ? '—' : Array.isArray(s.default) ? s.default.join(',') : String(s.default);
    return `| \`${name}\` | ${def} | ${s.doc} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
