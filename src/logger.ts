/**
 * One pino root logger; pretty in a terminal, JSON otherwise; secrets redacted.
 *
 * Secrets never reach a log line, by two means. Known paths (request headers, config fields, `*.password`…)
 * are censored by pino's redaction. Everything else logged — merge objects, errors (message, stack, nested
 * causes and responses), child bindings and message strings — goes through `scrubSecrets`: values under secret
 * keys (authorization, cookie, tokens, passwords, secrets, the CSRF and webhook secret headers) are censored,
 * and strings lose bot tokens in URLs (`/bot<id>:<token>/`), bearer tokens, `?access_token=`-style query
 * values and the password of `scheme://user:password@host` URLs (DATABASE_URL, REDIS_URL).
 */
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

export const CENSOR = '[скрыто]';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.password',
  '*.secret',
  '*.apiToken',
  '*.ingestToken',
  '*.access_token',
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

/** Keys whose values are secrets wherever they appear (compared lower-case, `-` and `_` ignored). */
const SECRET_KEYS = new Set(
  [
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-csrf-token',
    'csrf-token',
    'x-telegram-bot-api-secret-token',
    'x-api-key',
    'api-key',
    'password',
    'passwd',
    'new-password',
    'password-hash',
    'secret',
    'client-secret',
    'token',
    'access-token',
    'refresh-token',
    'api-token',
    'ingest-token',
    'bot-token',
    'session-id',
  ].map((k) => k.replace(/[-_]/g, '')),
);
const isSecretKey = (key: string) => {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEYS.has(k) || /(token|secret|password)$/.test(k);
};

const STRING_RULES: [RegExp, string][] = [
  // Telegram bot tokens, in API and file URLs (/bot123:AA…/, /file/bot123:AA…/) or bare.
  [/(\/(?:file\/)?bot)\d{5,}:[\w-]{20,}/g, `$1${CENSOR}`],
  [/\b\d{5,}:AA[\w-]{30,}\b/g, CENSOR],
  // VK user and community tokens (vk1.a.…).
  [/\bvk1\.a\.[\w-]{20,}/g, CENSOR],
  // Bearer / Basic credentials in a header line or an error.
  [/\b(Bearer|Basic)\s+[\w.~+/=-]{8,}/gi, `$1 ${CENSOR}`],
  // Query and form values of secret names: ?access_token=…, &secret=…, password=…
  [
    /([?&;\s"'](?:access_token|token|secret|password|passwd|api_key|apikey|key|sig|signature|client_secret|csrf_token)=)[^&#\s"']+/gi,
    `$1${CENSOR}`,
  ],
  // scheme://user:password@host (PostgreSQL, Redis and other URLs).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@/\s]+@/gi, `$1${CENSOR}@`],
];

/** A string with the secrets it may carry replaced by «[скрыто]». */
export function scrubString(s: string): string {
  let out = s;
  for (const [re, to] of STRING_RULES) out = out.replace(re, to);
  return out;
}

const MAX_DEPTH = 8;
/** The prototype of errors as pino serialises them (nested ones come out of `stdSerializers.err` so). */
const SERIALIZED_ERROR = Object.getPrototypeOf(stdSerializers.err(new Error('x'))) as unknown;

/**
 * A copy of a logged value without secrets. Plain objects, arrays and errors are walked (errors serialised
 * the way pino does); other objects (requests, buffers, dates) are left to pino's serializers and redaction.
 */
export function scrubSecrets(value: unknown, depth = 0, path = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  // A cycle (an object inside itself) or a very deep value: cut there.
  if (path.has(value) || depth > MAX_DEPTH)
    return value instanceof Error ? scrubString(String(value)) : '[…]';
  const proto = Object.getPrototypeOf(value) as unknown;
  const plain = proto === Object.prototype || proto === null || proto === SERIALIZED_ERROR;
  if (!(value instanceof Error) && !Array.isArray(value) && !plain) return value;
  path.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, depth + 1, path));
    const obj = (value instanceof Error ? stdSerializers.err(value) : value) as unknown as Record<
      string,
      unknown
    >;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj))
      out[k] =
        isSecretKey(k) && v !== null && v !== undefined && v !== ''
          ? CENSOR
          : scrubSecrets(v, depth + 1, path);
    return out;
  } finally {
    path.delete(value);
  }
}

/** A request as logged: method, URL without secrets, host, peer (never headers or body). */
function requestSummary(req: unknown): unknown {
  if (req === null || typeof req !== 'object') return req;
  const r = req as {
    method?: string;
    url?: string;
    host?: string;
    ip?: string;
    headers?: Record<string, unknown>;
    socket?: { remoteAddress?: string; remotePort?: number };
  };
  return {
    method: r.method,
    url: typeof r.url === 'string' ? scrubString(r.url) : undefined,
    host: r.host ?? r.headers?.host,
    remoteAddress: r.ip ?? r.socket?.remoteAddress,
    remotePort: r.socket?.remotePort,
  };
}

export function createLogger(opts: {
  level: string;
  format: 'auto' | 'pretty' | 'json';
  /** Where JSON lines go (tests capture them); default stdout. */
  destination?: DestinationStream;
}): Logger {
  const pretty =
    !opts.destination &&
    (opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true));
  const options = {
    level: opts.level,
    name: 'otklik',
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: {
      // Replaces fastify's request serializer (it logs the URL as it came, query string included).
      req: requestSummary,
      // `formatters.log` has serialised and scrubbed errors already; pino's own would serialise them again.
      err: (e: unknown) => (e instanceof Error ? scrubSecrets(e) : e),
    },
    formatters: {
      log: (obj: Record<string, unknown>) => scrubSecrets(obj) as Record<string, unknown>,
      bindings: (b: Record<string, unknown>) => scrubSecrets(b) as Record<string, unknown>,
    },
    hooks: {
      // Message strings (and an error given first, whose message pino would log as it is).
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        const [first, ...rest] = args;
        if (first instanceof Error)
          return method.apply(this, [
            { err: first },
            scrubString(typeof rest[0] === 'string' ? rest[0] : first.message),
            ...rest.slice(typeof rest[0] === 'string' ? 1 : 0).map((a) => scrubSecrets(a)),
          ]);
        return method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? scrubString(a) : a)),
        );
      },
    },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
