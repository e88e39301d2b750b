/**
 * Reply drafts, the pure part: pick a template (reply-templates.ts), fill its slots, check the result
 * before SMM sees it, and find similar replies SMM approved before. No I/O.
 */
import { jaccard } from '../domain/grouping.ts';
import type { DraftKind, ReplyTemplate } from './reply-templates.ts';

// ───────────────────────────── templates and slots ─────────────────────────────

/** The template of `kind` for `sector`, else the common one (sector null); the first in list order wins. */
export function pickTemplate(
  templates: readonly ReplyTemplate[],
  kind: DraftKind,
  sector: string,
): ReplyTemplate | undefined {
  return (
    templates.find((t) => t.kind === kind && t.sector === sector) ??
    templates.find((t) => t.kind === kind && t.sector === null)
  );
}

const SLOT = /\{(\w+)\}/g;
const SLOT_WITH_STOP = /\{(\w+)\}(\.)?/g;
const SENTENCE_END = /[.!?…]/;
const CLOSERS = /[»")\]]/;

/**
 * Splits into sentences, each with its trailing whitespace, so that joining them gives the text back.
 * A sentence ends at `.`, `!`, `?` or `…` followed by whitespace or the end (closing quotes and brackets
 * stay with it), or at a line break; the whitespace after it (line breaks included) goes with it.
 */
function splitSentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    let end = -1;
    if (ch === '\n') {
      end = i + 1;
    } else if (SENTENCE_END.test(ch)) {
      let j = i + 1;
      while (j < text.length && (SENTENCE_END.test(text[j] as string) || CLOSERS.test(text[j] as string)))
        j++;
      if (j === text.length || /\s/.test(text[j] as string)) end = j;
      else i = j - 1;
    }
    if (end >= 0) {
      while (end < text.length && /\s/.test(text[end] as string)) end++;
      out.push(text.slice(start, end));
      start = end;
      i = end;
    } else {
      i++;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

const isEmpty = (v: string | null | undefined): v is null | undefined | '' => v == null || v.trim() === '';

/**
 * Fills `{slot}`s. A slot with no value (unknown, null, empty or blank) stays as `{name}` and is listed
 * in `missing` (once, in order of appearance) — except `{object}`: a sentence holding `{object}` is
 * dropped when the citizen gave no address, so nobody reads «по адресу: {object}».
 */
export function fillSlots(
  template: string,
  slots: Record<string, string | null | undefined>,
): { text: string; missing: string[] } {
  let source = template;
  if (isEmpty(slots.object) && source.includes('{object}')) {
    const kept = splitSentences(source).filter((s) => !s.includes('{object}'));
    source = kept.join('').trimEnd();
  }
  const missing: string[] = [];
  // A value that ends a sentence itself («5 декабря 2026 г.») takes the place of the template's full stop.
  const text = source.replace(SLOT_WITH_STOP, (whole, name: string, stop: string | undefined) => {
    const value = Object.hasOwn(slots, name) ? slots[name] : undefined;
    if (isEmpty(value)) {
      if (!missing.includes(name)) missing.push(name);
      return whole;
    }
    return stop && /[.!?…]$/.test(value) ? value : value + (stop ?? '');
  });
  return { text, missing };
}

// ───────────────────────────── checks ─────────────────────────────

export interface DraftCheck {
  name: 'slots_filled' | 'polite' | 'object_mentioned' | 'promise_has_date';
  ok: boolean;
  detail?: string;
  /**
   * No approval overrides it: a `{slot}` left unfilled, or rude words from the list. Capitals, exclamation
   * marks and the toxicity score are remarks an approver may accept (an agency's name is often in capitals).
   */
  blocking?: boolean;
}

export interface DraftCheckContext {
  /** The address or object as the citizen gave it, or null. */
  address: string | null;
  /** The municipality name («Бийск», «Бийский район»), or null. */
  municipalityName: string | null;
  /** Toxicity of the draft from the text analysis, 0..1, when it was scored. */
  toxicScore?: number;
}

/** Lower case and ё → е; keeps the length, so indices map back to the original text. */
const fold = (s: string) => s.toLowerCase().replaceAll('ё', 'е');

/** Start of a word (lookbehind: no letter before). */
const W = '(?<!\\p{L})';
/** End of a word. */
const E = '(?!\\p{L})';

/**
 * Rude words and dismissive phrases, over folded text (lower case, ё → е). Stems are anchored at the start
 * of a word where a plain substring would hit ordinary words («страхуйте», «требует», «тупик»).
 */
const RUDE_SOURCES: readonly string[] = [
  // Obscene stems.
  `${W}(?:на|по|от|до|за|вы|ни|о)?ху(?:й|е|я|и|ю)`,
  'пизд',
  `${W}(?:за|вы|на|у|до|по|при|раз|разъ|от|отъ|съ|подъ|объ|въ|пере)?еб(?:а|е|и|л|н|у|ы|ок)`,
  'долбоеб',
  `${W}бля(?!х)`,
  `${W}(?:сука|суки|суке|суку|сукой|сучар\\p{L}*)${E}`,
  `${W}муд(?:ак|ач|ил|озвон)`,
  `${W}г[ао]ндон`,
  `${W}пид(?:о|а)?р`,
  'залуп',
  `${W}шлюх`,
  `${W}говн`,
  `${W}дерьм`,
  `${W}жоп`,
  `${W}(?:за|об|обо|на|по)?сра(?:н|ть|л)`,
  // Insults.
  `${W}идиот`,
  `${W}дебил`,
  `${W}кретин`,
  `${W}имбецил`,
  `${W}придур`,
  `${W}недоум`,
  `${W}дура(?:к|ц|ч)`,
  `${W}дур(?:а|ы|е|ой)${E}`,
  `${W}урод`,
  `${W}быдл`,
  `${W}скотин`,
  `${W}мраз`,
  `${W}твар(?:ь|и|ей|ью)${E}`,
  `${W}ничтожеств`,
  `${W}болван`,
  `${W}олух`,
  `${W}отморо[зж]`,
  `${W}бездар`,
  `${W}дармоед`,
  `${W}туп(?:ой|ая|ое|ые|ого|ых|ым|ыми|ица|ицы|орыл\\p{L}*)${E}`,
  `${W}лох(?:и|а|у|ом|ов)?${E}`,
  `${W}козел${E}`,
  `${W}заткн`,
  `${W}отвал(?:и|ите)${E}`,
  `${W}пош(?:ел|ли)\\s+вон`,
  `${W}вон\\s+отсюда`,
  // Dismissive bureaucratic phrases.
  `${W}не\\s+ваше\\s+дело`,
  `${W}(?:обращайтесь|жалуйтесь|пишите|идите|звоните)\\s+куда\\s+хотите`,
  `${W}сам(?:и|а)?\\s+виноват`,
  `${W}(?:это\\s+)?(?:ваши|твои)\\s+проблемы`,
  `${W}не\\s+наш(?:а|и|е)?\\s+(?:проблем|дело|забот)`,
  `${W}(?:нас\\s+это|это\\s+нас)\\s+не\\s+касается`,
  `${W}не\\s+мешайте\\s+(?:нам\\s+)?работать`,
  `${W}(?:хватит|нечего|перестаньте)\\s+(?:жаловаться|писать|ныть)`,
  `${W}надо\\s+было\\s+(?:раньше\\s+)?думать`,
  `${W}(?:разбирайтесь\\s+сами|сами\\s+разбирайтесь)`,
  `${W}(?:больше\\s+не\\s+пишите|не\\s+пишите\\s+(?:нам|сюда)\\s+больше)`,
  `${W}(?:ничем\\s+не\\s+можем\\s+помочь|помочь\\s+ничем\\s+не\\s+можем)`,
  `${W}а\\s+что\\s+вы\\s+(?:хотели|хотите)`,
  `${W}без\\s+вас\\s+(?:знаем|разберемся)`,
];
const RUDE: readonly RegExp[] = RUDE_SOURCES.map((s) => new RegExp(s, 'gu'));

/** Three or more ALL-CAPS words in a row (≥ 12 letters together): shouting, not an abbreviation like «ЖКХ». */
const CAPS_RUN = /(?:(?<!\p{L})\p{Lu}{2,}(?!\p{L})[^\p{L}]*){3,}/gu;
const EXCLAMATIONS = /!{2,}/;

function quote(fragment: string, max = 80): string {
  const s = fragment.replace(/\s+/g, ' ').trim();
  return `«${s.length > max ? `${s.slice(0, max - 1)}…` : s}»`;
}

export function politeCheck(text: string, toxicScore?: number): DraftCheck {
  const found: string[] = [];
  const folded = fold(text);
  let rude = false;
  for (const re of RUDE) {
    for (const m of folded.matchAll(re)) {
      // Quote the word around the match from the original text.
      let a = m.index;
      let b = m.index + m[0].length;
      while (a > 0 && /\p{L}/u.test(text[a - 1] as string)) a--;
      while (b < text.length && /\p{L}/u.test(text[b] as string)) b++;
      const q = quote(text.slice(a, b));
      rude = true;
      if (!found.includes(q)) found.push(q);
    }
  }
  for (const m of text.matchAll(CAPS_RUN)) {
    const letters = m[0].replace(/\P{L}/gu, '').length;
    if (letters >= 12) found.push(`текст заглавными буквами ${quote(m[0])}`);
  }
  const letters = text.replace(/\P{L}/gu, '');
  const upper = letters.replace(/\P{Lu}/gu, '');
  if (
    letters.length >= 20 &&
    upper.length / letters.length > 0.5 &&
    !found.some((f) => f.startsWith('текст'))
  ) {
    found.push('текст заглавными буквами');
  }
  if (EXCLAMATIONS.test(text)) found.push('несколько восклицательных знаков подряд');
  if (toxicScore !== undefined && toxicScore >= 0.5)
    found.push(`оценка токсичности ${toxicScore.toFixed(2)}`);
  return found.length
    ? {
        name: 'polite',
        ok: false,
        detail: `найдено: ${found.join(', ')}`,
        ...(rude ? { blocking: true } : {}),
      }
    : { name: 'polite', ok: true };
}

// Address matching ---------------------------------------------------------------------------------

/** Street-type words, inflected forms included → one canonical token. */
const STREET_TYPES: ReadonlyMap<string, string> = new Map(
  (
    [
      ['ул', ['ул', 'улица', 'улицы', 'улице', 'улицу', 'улицей']],
      [
        'пр-т',
        ['пр', 'пр-т', 'пр-кт', 'просп', 'проспект', 'проспекта', 'проспекте', 'проспекту', 'проспектом'],
      ],
      ['пер', ['пер', 'переулок', 'переулка', 'переулке', 'переулку', 'переулком']],
      ['пл', ['пл', 'площадь', 'площади', 'площадью']],
      ['б-р', ['б-р', 'бул', 'бульвар', 'бульвара', 'бульваре', 'бульвару']],
      ['ш', ['ш', 'шоссе']],
      ['пр-д', ['пр-д', 'проезд', 'проезда', 'проезде', 'проезду']],
      ['тракт', ['тракт', 'тракта', 'тракте', 'тракту']],
      ['мкр', ['мкр', 'мкрн', 'микрорайон', 'микрорайона', 'микрорайоне']],
    ] as const
  ).flatMap(([canonical, forms]) => forms.map((f) => [f, canonical] as const)),
);
/** Building words, dropped on both sides: «д. 5» = «дом 5» = «5». */
const BUILDING_WORDS: ReadonlySet<string> = new Set(['д', 'дом', 'корп', 'корпус', 'к', 'стр', 'строение']);
/** In the address only: dropped together with the token after them (a flat, an office, the town). */
const DROP_WITH_NEXT: ReadonlySet<string> = new Set(['кв', 'квартира', 'офис', 'оф', 'г', 'город']);

const addressTokens = (s: string) =>
  fold(s)
    .split(/[^\p{L}\p{N}/-]+/u)
    .map((t) => t.replace(/^[-/]+|[-/]+$/g, '').replace(/^(\d+)-(\p{L})$/u, '$1$2'))
    .filter((t) => t !== '');

interface Core {
  words: string[];
  types: Set<string>;
}

/** The address as matchable words (street name, house number…) plus the street types it names. */
function addressCore(address: string): Core {
  const words: string[] = [];
  const types = new Set<string>();
  const tokens = addressTokens(address);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as string;
    if (DROP_WITH_NEXT.has(tok)) {
      i++;
      continue;
    }
    const type = STREET_TYPES.get(tok);
    if (type) types.add(type);
    else if (BUILDING_WORDS.has(tok)) continue;
    else if (/^\p{L}$/u.test(tok) && /^\d+$/.test(words.at(-1) ?? ''))
      words[words.length - 1] += tok; // «5 а»
    else words.push(tok);
  }
  return { words, types };
}

interface TextWord {
  word: string;
  /** Street types written right before or right after this word. */
  types: Set<string>;
}

function textWords(text: string): TextWord[] {
  const out: TextWord[] = [];
  let pending: string[] = [];
  for (const tok of addressTokens(text)) {
    const type = STREET_TYPES.get(tok);
    if (type) {
      out.at(-1)?.types.add(type); // «Ленина ул.»
      pending.push(type); // «ул. Ленина»
    } else if (!BUILDING_WORDS.has(tok)) {
      out.push({ word: tok, types: new Set(pending) });
      pending = [];
    }
  }
  return out;
}

/** Does `text` name the address: the same words in a row, the same house number, no other street type? */
function mentionsAddress(text: string, core: Core): boolean {
  const words = textWords(text);
  for (let start = 0; start < words.length; start++) {
    let i = start;
    const seen = new Set<string>();
    let ok = true;
    for (const want of core.words) {
      const got = words[i];
      if (!got) {
        ok = false;
        break;
      }
      for (const t of got.types) seen.add(t);
      if (got.word === want) {
        i++;
        continue;
      }
      // «5а» in the address, «5 а» in the text.
      const split = /^(\d+)(\p{L})$/u.exec(want);
      if (split && got.word === split[1] && words[i + 1]?.word === split[2]) {
        i += 2;
        continue;
      }
      ok = false;
      break;
    }
    if (!ok) continue;
    if (core.types.size && seen.size && ![...seen].some((t) => core.types.has(t))) continue;
    return true;
  }
  return false;
}

/** A crude stem: trailing vowels, «й» and «ь» cut while ≥ 5 letters stay («Бийском» ~ «бийск»). */
function crudeStem(word: string): string {
  let w = word;
  for (let cut = 0; cut < 3 && w.length > 5 && /[аеиоуыэюяйь]$/.test(w); cut++) w = w.slice(0, -1);
  return w;
}

function mentionsMunicipality(text: string, name: string): boolean {
  const words = fold(name)
    .split(/[^\p{L}]+/u)
    .filter((w) => w.length >= 3 && !['город', 'село', 'поселок'].includes(w));
  if (words.length === 0) return true;
  const folded = fold(text);
  return words.every((w) => folded.includes(crudeStem(w)));
}

function objectCheck(text: string, ctx: DraftCheckContext): DraftCheck {
  const name = 'object_mentioned' as const;
  const address = ctx.address?.trim() ? ctx.address : null;
  const core = address ? addressCore(address) : null;
  if (address && core && core.words.length) {
    return mentionsAddress(text, core)
      ? { name, ok: true, detail: address }
      : { name, ok: false, detail: `в тексте нет адреса ${quote(address)}` };
  }
  const municipality = ctx.municipalityName?.trim() ? ctx.municipalityName : null;
  if (municipality) {
    return mentionsMunicipality(text, municipality)
      ? { name, ok: true, detail: municipality }
      : { name, ok: false, detail: `в тексте не упомянут населённый пункт ${quote(municipality)}` };
  }
  return { name, ok: true, detail: 'адрес не указан гражданином' };
}

// Promises and dates ---------------------------------------------------------------------------------

/** Future action, over folded text. */
const PROMISE =
  /(?<!\p{L})(?:буд(?:ет|ут)\s+(?:\p{L}+\s+)?\p{L}+(?:ен|ан|ян|ит|ыт|от|ят)(?:а|о|ы)?(?!\p{L})|(?:устран|исправ|замен|восстанов|выполн|провер|очист|почист|почин|установ)(?:им|ят)(?!\p{L})|(?:провед|вывез|убер)(?:ем|ут)(?!\p{L})|(?:отремонтиру|сдела)(?:ем|ют)(?!\p{L})|(?:реш|подключ)(?:им|ат)(?!\p{L})|примем\s+меры|планиру(?:ется|ются|ем)|запланирован\p{L}*|в\s+ближайшее\s+время|в\s+ближайшие\s+(?:дни|сроки)|в\s+кратчайшие\s+сроки|в\s+скором\s+времени|как\s+можно\s+скорее)/gu;

const MONTHS_GEN = 'января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря';
const MONTHS_PREP = 'январе|феврале|марте|апреле|мае|июне|июле|августе|сентябре|октябре|ноябре|декабре';
const NUMERALS =
  'одного|одних|двух|трех|четырех|пяти|шести|семи|восьми|девяти|десяти|\\p{L}+надцати|двадцати|тридцати|сорока';
/** A concrete date or term, over folded text. */
const DATE = new RegExp(
  [
    '(?<!\\d)\\d{1,2}\\.\\d{2}(?:\\.(?:\\d{4}|\\d{2}))?(?![\\d.]\\d)', // 05.12.2026, 05.12.26, 05.12
    `(?<!\\d)\\d{1,2}\\s+(?:${MONTHS_GEN})${E}`, // 5 декабря
    `${W}(?:до|к)\\s+(?:конца|началу|начала|середины)\\s+(?:${MONTHS_GEN})${E}`, // до конца декабря
    `${W}в\\s+(?:конце|начале|середине)\\s+(?:${MONTHS_GEN})${E}`,
    `${W}(?:${MONTHS_PREP})\\s+\\d{4}`, // в декабре 2026
    `${W}в\\s+течение\\s+(?:\\d+|${NUMERALS})\\s+(?:(?:рабочих|календарных)\\s+)?(?:дн|суток|час|недел|месяц)`,
    '(?<!\\d)[1-4]\\s*(?:-?(?:й|го|м))?\\s+квартал\\p{L}*\\s+\\d{4}', // 2 квартале 2027
    `${W}в\\s+\\d{4}\\s+году`,
    `${W}(?:сегодня|завтра|послезавтра)${E}`,
  ].join('|'),
  'u',
);

function promiseCheck(text: string): DraftCheck {
  const name = 'promise_has_date' as const;
  const sentences = splitSentences(text).map((s) => s.trim());
  const undated: string[] = [];
  sentences.forEach((s, i) => {
    const f = fold(s);
    const promises = [...f.matchAll(PROMISE)].map((m) => quote(s.slice(m.index, m.index + m[0].length)));
    if (promises.length === 0) return;
    // The date may stand in the same sentence or the next one («Работы запланированы. Срок — 5 декабря.»).
    if (DATE.test(f) || DATE.test(fold(sentences[i + 1] ?? ''))) return;
    undated.push(`${promises.join(', ')} в ${quote(s, 120)}`);
  });
  return undated.length
    ? { name, ok: false, detail: `обещание без срока: ${undated.join('; ')}` }
    : { name, ok: true };
}

/**
 * Checks a draft before it is offered to SMM; the order is fixed: slots_filled, polite, object_mentioned,
 * promise_has_date.
 */
export function checkDraft(text: string, ctx: DraftCheckContext): DraftCheck[] {
  const left = [...new Set([...text.matchAll(SLOT)].map((m) => m[0]))];
  return [
    left.length
      ? { name: 'slots_filled', ok: false, detail: left.join(', '), blocking: true }
      : { name: 'slots_filled', ok: true },
    politeCheck(text, ctx.toxicScore),
    objectCheck(text, ctx),
    promiseCheck(text),
  ];
}

// ───────────────────────────── similar approved replies ─────────────────────────────

export interface ApprovedReply {
  draftId: number;
  incidentId: number;
  kind: string;
  sector: string;
  text: string;
  /** Terms of the incident the reply answered (src/nlp/text.ts `terms`). */
  terms: string[];
}

export interface Suggestion {
  draftId: number;
  incidentId: number;
  text: string;
  /** Jaccard of the terms plus the same-sector bonus, at most 1, rounded to 2 decimals. */
  similarity: number;
}

/** Bonus for a reply approved in the same sector. */
export const SAME_SECTOR_BONUS = 0.1;
/** Below this Jaccard of terms (without the bonus) a reply is not suggested. */
export const MIN_SIMILARITY = 0.15;

/**
 * Replies SMM approved before, for the same kind of draft, most similar first: Jaccard of terms plus
 * SAME_SECTOR_BONUS for the same sector. A reply needs a Jaccard of at least MIN_SIMILARITY on its own —
 * the bonus reorders, it does not let an unrelated reply in. Ties go to the newer draft (greater id); the
 * same text approved again is suggested once (its newest draft).
 */
export function similarApprovedReplies(
  terms: readonly string[],
  kind: string,
  sector: string,
  approved: readonly ApprovedReply[],
  k = 3,
): Suggestion[] {
  if (k <= 0 || terms.length === 0) return [];
  const scored = approved
    .filter((a) => a.kind === kind)
    .map((a) => ({ a, j: jaccard(terms, a.terms) }))
    .filter(({ j }) => j >= MIN_SIMILARITY - 1e-9)
    .map(({ a, j }) => ({
      a,
      similarity: Math.round(Math.min(1, j + (a.sector === sector ? SAME_SECTOR_BONUS : 0)) * 100) / 100,
    }))
    .sort((x, y) => y.similarity - x.similarity || y.a.draftId - x.a.draftId);
  const out: Suggestion[] = [];
  const texts = new Set<string>();
  for (const { a, similarity } of scored) {
    const key = fold(a.text).replace(/\s+/g, ' ').trim();
    if (texts.has(key)) continue;
    texts.add(key);
    out.push({ draftId: a.draftId, incidentId: a.incidentId, text: a.text, similarity });
    if (out.length === k) break;
  }
  return out;
}
