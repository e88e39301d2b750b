/**
 * The text of a campaign: Telegram's HTML subset (b, i, u, s, a href, code), checked and normalised once
 * when staff save it, rendered as Telegram HTML, as VK plain text (links kept as «текст (адрес)»), and as
 * tokens for the workspace preview. Pure functions, no imports: the web workspace uses them too.
 */

/** Languages of address a subscriber may choose (ISO 639-1 codes; Russian first, the default). */
export const LANGUAGES: readonly { code: string; name: string }[] = [
  { code: 'ru', name: 'Русский' },
  { code: 'kk', name: 'Қазақша' },
  { code: 'de', name: 'Deutsch' },
];
export const languageName = (code: string | null | undefined) =>
  LANGUAGES.find((l) => l.code === code)?.name ?? LANGUAGES[0]!.name;

export const CAMPAIGN_TAGS = ['b', 'i', 'u', 's', 'a', 'code'] as const;
/** Telegram's limits: a message text, and a photo caption. */
export const TEXT_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;
export const MAX_BUTTONS = 6;

export type TextToken =
  | { kind: 'text'; text: string }
  | { kind: 'open'; tag: (typeof CAMPAIGN_TAGS)[number]; href?: string }
  | { kind: 'close'; tag: (typeof CAMPAIGN_TAGS)[number] };

export interface CheckedText {
  /** Normalised HTML: stray `<`, `>` and `&` escaped, tag names lower-case, `href` in double quotes. */
  html: string;
  /** Problems in Russian (for staff); empty when the text can be sent. */
  errors: string[];
  tokens: TextToken[];
  /** The text as the reader sees it (no tags, entities decoded). */
  plain: string;
}

const ENTITY = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-f]{1,6});/i;
const TAG = /^<(\/?)([a-z][a-z0-9]*)((?:\s[^<>]*)?)>/i;
const HREF = /^\s+href\s*=\s*(?:"([^"]*)"|'([^']*)')\s*$/i;

export function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-f]{1,6});/gi, (_, e: string) => {
    const k = e.toLowerCase();
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'amp') return '&';
    if (k === 'quot') return '"';
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

export const isHttpUrl = (s: string) => {
  if (!/^https?:\/\/\S+$/i.test(s)) return false;
  try {
    return ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
};

/** Checks and normalises a campaign text; `withPhoto` applies the caption limit. */
export function checkCampaignText(input: string, withPhoto = false): CheckedText {
  const errors: string[] = [];
  const tokens: TextToken[] = [];
  const stack: (typeof CAMPAIGN_TAGS)[number][] = [];
  let html = '';
  let plain = '';
  let buf = '';
  const flush = () => {
    if (!buf) return;
    tokens.push({ kind: 'text', text: buf });
    plain += buf;
    html += escapeText(buf);
    buf = '';
  };
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === '&') {
      const m = ENTITY.exec(input.slice(i, i + 12));
      buf += m ? decodeEntities(m[0]) : '&';
      i += m ? m[0].length : 1;
      continue;
    }
    if (ch === '<' && /[a-z/]/i.test(input[i + 1] ?? '')) {
      const m = TAG.exec(input.slice(i, i + 2100));
      if (!m) {
        errors.push(`Знак «<» в позиции ${i + 1} не начинает тег: замените его на &lt;.`);
        buf += '<';
        i++;
        continue;
      }
      const closing = m[1] === '/';
      const name = m[2]!.toLowerCase();
      const attrs = m[3] ?? '';
      i += m[0].length;
      if (!(CAMPAIGN_TAGS as readonly string[]).includes(name)) {
        errors.push(`Тег <${name}> не поддерживается: можно b, i, u, s, a, code.`);
        continue;
      }
      const tag = name as (typeof CAMPAIGN_TAGS)[number];
      flush();
      if (closing) {
        if (attrs.trim()) errors.push(`У закрывающего тега </${tag}> не бывает атрибутов.`);
        if (stack[stack.length - 1] !== tag) {
          errors.push(
            stack.length
              ? `Теги вложены неправильно: </${tag}> закрывает <${stack[stack.length - 1]}>.`
              : `Лишний закрывающий тег </${tag}>.`,
          );
          continue;
        }
        stack.pop();
        tokens.push({ kind: 'close', tag });
        html += `</${tag}>`;
        continue;
      }
      if (tag === 'a') {
        const h = HREF.exec(attrs);
        const href = h ? decodeEntities(h[1] ?? h[2] ?? '') : '';
        if (!h || !isHttpUrl(href)) {
          errors.push('Ссылке <a> нужен адрес: <a href="https://…">текст</a>.');
          continue;
        }
        if (stack.includes('a')) errors.push('Ссылка не может быть внутри другой ссылки.');
        stack.push(tag);
        tokens.push({ kind: 'open', tag, href });
        html += `<a href="${escapeAttr(href)}">`;
        continue;
      }
      if (attrs.trim()) errors.push(`У тега <${tag}> не бывает атрибутов.`);
      stack.push(tag);
      tokens.push({ kind: 'open', tag });
      html += `<${tag}>`;
      continue;
    }
    buf += ch;
    i++;
  }
  flush();
  for (const t of stack.reverse()) errors.push(`Тег <${t}> не закрыт.`);
  if (!plain.trim()) errors.push('Текст рассылки пуст.');
  const limit = withPhoto ? CAPTION_LIMIT : TEXT_LIMIT;
  if (plain.length > limit)
    errors.push(
      withPhoto
        ? `Подпись к фото длиннее ${CAPTION_LIMIT} знаков (${plain.length}): сократите текст или уберите фото.`
        : `Текст длиннее ${TEXT_LIMIT} знаков (${plain.length}).`,
    );
  return { html, errors: [...new Set(errors)], tokens, plain };
}

/** VK has no formatting: the reader's text, links kept as «текст (адрес)». */
export function plainForVk(tokens: readonly TextToken[]): string {
  let out = '';
  let link: { href: string; text: string } | undefined;
  for (const t of tokens) {
    if (t.kind === 'text') {
      if (link) link.text += t.text;
      else out += t.text;
    } else if (t.kind === 'open' && t.tag === 'a') link = { href: t.href ?? '', text: '' };
    else if (t.kind === 'close' && t.tag === 'a' && link) {
      const label = link.text.trim();
      out += !label || label === link.href ? link.href : `${link.text} (${link.href})`;
      link = undefined;
    }
  }
  if (link) out += link.text;
  return out;
}

/** Campaign states as staff read them. */
export const CAMPAIGN_STATUS_LABELS: Record<string, string> = {
  draft: 'Черновик',
  pending_approval: 'На согласовании',
  approved: 'Согласована',
  running: 'Идёт рассылка',
  paused: 'Приостановлена',
  cancelled: 'Отменена',
  done: 'Завершена',
};

/** Delivery states as staff read them. */
export const DELIVERY_STATUS_LABELS: Record<string, string> = {
  pending: 'в очереди',
  sending: 'отправляется',
  sent: 'доставлено',
  failed: 'ошибка',
  blocked: 'бот заблокирован',
  skipped: 'отписался',
  uncertain: 'не известно',
};

export const CHANNEL_LABELS: Record<string, string> = {
  telegram: 'Telegram',
  vk: 'ВКонтакте',
  all: 'Telegram и ВКонтакте',
};
