/**
 * Personal data (152-ФЗ) outside the store: masking of contacts and names in what roles without access to
 * personal data read, and the retention job (anonymise what has outlived its period, audit the pass).
 *
 * Masking is for display and exports only — nothing stored is changed. What it hides in a text: phone
 * numbers (+7 913 123-45-67 → «+7 *** ***-**-67»), e-mail addresses (ivanov@mail.ru → «i***@mail.ru»),
 * Telegram @usernames and profile links (vk.com/id123, t.me/name), and, where the author is known, their
 * name as the platform gave it.
 */
import type { Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { AuditEntry } from '../store/auth.store.ts';
import type { PrivacyStore, RetentionCounts } from '../store/privacy.store.ts';
import type { JobData } from '../workers/queues.ts';

const SEP = String.raw`[\s\-‐–—()]*`;
/**
 * One pass over the text, alternatives in priority order: an e-mail before a @username (its «@domain» is
 * not a username), a profile link, then phone numbers — Russian with +7/8/7 (11 digits), a bare mobile
 * number (10 digits from 9), a foreign one (+ and 9–14 digits), a local one (12-34-56).
 */
const CONTACTS = new RegExp(
  [
    String.raw`(?<email>(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,})`,
    String.raw`(?<link>(?:https?:\/\/)?(?:www\.|m\.)?(?:vk\.com|vk\.ru|t\.me|telegram\.me|ok\.ru)\/[\w.@-]+)`,
    String.raw`(?<user>(?<![\p{L}\p{N}_@.])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_]))`,
    String.raw`(?<ru>(?<![\d+])(?:\+\s?7|8|7)(?:${SEP}\d){10}(?!\d))`,
    String.raw`(?<mobile>(?<![\d+])9\d\d(?:${SEP}\d){7}(?!\d))`,
    String.raw`(?<intl>(?<![\d+])\+[1-69]\d?(?:${SEP}\d){8,13}(?!\d))`,
    String.raw`(?<local>(?<![\d-])\d{2,3}-\d\d-\d\d(?![\d-]))`,
  ].join('|'),
  'gu',
);

const lastTwo = (s: string) => s.replace(/\D/g, '').slice(-2);

/** Phone numbers, e-mails, @usernames and profile links of a text, masked (see the top of the file). */
export function maskContacts(text: string): string {
  return text.replace(CONTACTS, (...args: unknown[]) => {
    const g = args[args.length - 1] as Record<string, string | undefined>;
    if (g.email) {
      const at = g.email.lastIndexOf('@');
      return `${[...g.email.slice(0, at)][0] ?? ''}***${g.email.slice(at)}`;
    }
    if (g.link) return `${g.link.slice(0, g.link.indexOf('/', g.link.indexOf('.')) + 1)}***`;
    if (g.user) return '@***';
    if (g.ru || g.mobile) return `+7 *** ***-**-${lastTwo(g.ru ?? g.mobile!)}`;
    if (g.intl) return `+*** ***-**-${lastTwo(g.intl)}`;
    return `**-**-${lastTwo(g.local!)}`;
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Names as the platforms gave them: one, several (an incident's authors), or none. */
export type Names = string | null | undefined | readonly (string | null | undefined)[];

/** The words of the names (3 letters and more) as whole words of the text, replaced by «***». */
export function maskName(text: string, names: Names): string {
  const all = (Array.isArray(names) ? names : [names]).filter(Boolean).join(' ');
  const words = all.match(/[\p{L}][\p{L}\p{M}'’-]{2,}/gu);
  if (!words?.length) return text;
  const re = new RegExp(
    String.raw`(?<![\p{L}\p{N}])(?:${[...new Set(words)]
      .sort((a, b) => b.length - a.length)
      .map(escape)
      .join('|')})(?![\p{L}\p{N}])`,
    'giu',
  );
  return text.replace(re, '***');
}

/** A citizen's text as a role without access to personal data reads it. */
export const maskText = (text: string, names?: Names): string => maskContacts(maskName(text, names));

/** A message (as `messageView` shows it) for a role without access to personal data. */
export function maskMessage<
  T extends {
    text: string;
    authorId: number | null;
    externalId: string;
    url: string | null;
    parentExternalId: string | null;
    attachments: unknown[];
  },
>(
  v: T,
  names?: Names,
): Omit<T, 'externalId'> & { externalId: string | null; authorId: null; attachments: { type: string }[] } {
  return {
    ...v,
    text: maskText(v.text, names),
    authorId: null,
    // Platform message ids carry the chat (the citizen's account in a private chat); links lead to profiles.
    externalId: null,
    parentExternalId: null,
    url: null,
    // Only what kind of thing was attached: file ids, photo links, captions and coordinates are the citizen's.
    attachments: v.attachments.map((a) => ({
      type: String((a as { type?: unknown } | null)?.type ?? 'other'),
    })),
  };
}

export interface RetentionDeps {
  store: PrivacyStore;
  audit: (e: AuditEntry) => Promise<void>;
  log: Pick<Logger, 'info'>;
}

/** One retention pass; audited (counts only) when it changed anything. */
export async function runRetention(
  deps: RetentionDeps,
  opts: { now?: Date; actor?: string; ip?: string | null } = {},
): Promise<RetentionCounts & { settings: Awaited<ReturnType<PrivacyStore['settings']>> }> {
  const settings = await deps.store.settings();
  const counts = await deps.store.applyRetention(settings, opts.now ?? new Date());
  const changed = Object.values(counts).some((n) => n > 0);
  if (changed || opts.actor) {
    await deps.audit({
      actor: opts.actor ?? 'system:privacy',
      action: 'privacy.retention',
      entity: 'settings',
      entityId: 'privacy',
      before: null,
      after: { ...counts, settings },
      ip: opts.ip ?? null,
    });
    deps.log.info({ ...counts }, 'retention: personal data past their period anonymised');
  }
  return { ...counts, settings };
}

/** privacy (repeatable, installed by the sweeper): the retention pass. */
export const privacyProcessor =
  (deps: RetentionDeps): Processor<JobData['privacy']> =>
  async () => {
    await runRetention(deps);
  };
