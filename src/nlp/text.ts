/**
 * Russian text normalisation, tokenising and stemming shared by the classic classifier, the
 * near-duplicate grouping (`terms`) and the trainer.
 *
 * Stemming uses natural's PorterStemmerRu. We load that one module directly instead of
 * `import natural from 'natural'`: natural is CommonJS, so the default import does work under Node ESM
 * (it is `module.exports`), but the package index eagerly requires its storage back-ends, which call
 * `require('dotenv').config()` five times — that reads `.env` from the current directory into
 * `process.env` and prints dotenv banners to stdout (our pino log stream), and costs ~1 s of start-up.
 * The stemmer module alone loads in a few milliseconds and has no side effects.
 */
import { createRequire } from 'node:module';

interface Stemmer {
  stem(token: string): string;
}

const require = createRequire(import.meta.url);
const porterRu = require('natural/lib/natural/stemmers/porter_stemmer_ru.js') as Stemmer;

const URL_RE =
  /\b(?:https?:\/\/|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:ru|com|org|net|su|info|рф)(?:\/\S*)?|[а-я0-9-]+\.рф(?:\/\S*)?/giu;
const EMAIL_RE = /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/gu;
// Russian phone numbers in the usual spellings: +7 (3852) 12-34-56, 8-913-123-45-67, 89131234567.
const PHONE_RE = /(?:\+7|\b8)[\s(-]*\d{3,4}[\s)-]*\d{1,3}[\s-]*\d{2}[\s-]*\d{2}\b|\b\d{3}-\d{2}-\d{2}\b/gu;

/** Lower case and ё→е, nothing else. */
export function foldCase(text: string): string {
  return text.toLowerCase().replace(/ё/g, 'е');
}

/** Lower case, ё→е, URLs, e-mail addresses and phone numbers replaced by a space. */
export function normalize(text: string): string {
  return foldCase(text.replace(URL_RE, ' ').replace(EMAIL_RE, ' ').replace(PHONE_RE, ' '));
}

const TOKEN_RE = /[a-zа-я0-9]+/gu;

/** Word tokens (letters/digits runs) of already normalised text. Hyphenated words are split. */
export function tokenize(normalized: string): string[] {
  return normalized.match(TOKEN_RE) ?? [];
}

const CYRILLIC_RE = /[а-я]/u;
const stemCache = new Map<string, string>();
const STEM_CACHE_LIMIT = 200_000;

/** Russian Porter stem of one lower-case token; non-Cyrillic tokens are returned unchanged. Memoised. */
export function stem(token: string): string {
  let s = stemCache.get(token);
  if (s === undefined) {
    s = CYRILLIC_RE.test(token) ? porterRu.stem(token) : token;
    if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
    stemCache.set(token, s);
  }
  return s;
}

/** Negations: kept by the classifier (they carry sentiment and meaning), dropped from `terms`. */
export const NEGATIONS: ReadonlySet<string> = new Set(['не', 'нет', 'ни', 'нету', 'без']);

/**
 * Function words and fillers of appeals. natural's own Russian list is not used: it contains
 * words that carry sentiment («хорошо», «никогда») and misses the greeting formulas every appeal has.
 * Lower case with е for ё.
 */
export const STOP_WORDS_RU: ReadonlySet<string> = new Set(
  (
    'а и или но да же ли бы ведь вот то это эта этот эти этого этой этом этим этих тот та те того той тем ' +
    'в во на с со к ко о об обо от до по за из изо у при про для под над перед между через без около возле ' +
    'после кроме вместо среди вокруг сквозь ' +
    'я мы ты вы он она оно они меня мне мной нас нам нами тебя тебе тобой вас вам вами его ему им ним него нему ' +
    'ее ей ней нее их них себя себе собой мой моя мое мои моего моей моих наш наша наше наши нашего нашей ' +
    'наших ваш ваша ваше ваши вашего вашей ваших свой своя свое свои своего своей своих ' +
    'кто что какой какая какое какие который которая которое которые которого которой которых чей ' +
    'где куда откуда когда как почему зачем сколько столько так также тоже там тут здесь туда сюда ' +
    'уже еще ещё вообще просто только даже лишь именно либо нибудь то-то ' +
    'быть был была было были есть будет будут будем является являются ' +
    'весь вся все всё всех всем всеми всего всей сам сама само сами самый ' +
    'очень более менее можно нужно надо ' +
    'здравствуйте добрый день доброе утро вечер уважаемый уважаемая уважаемые пожалуйста прошу просим спасибо ' +
    'заранее благодарю г гор ул д дом кв пр'
  )
    .split(/\s+/)
    .filter(Boolean),
);

/** Content stems of already tokenised text, in order, without stop words, negations and one-letter tokens. */
export function contentStemsOfTokens(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (t.length < 2 || STOP_WORDS_RU.has(t) || NEGATIONS.has(t)) continue;
    // Long digit runs (ids, dates glued together) are noise; house/bus/school numbers are kept.
    if (t.length > 4 && /^\d+$/u.test(t)) continue;
    out.push(stem(t));
  }
  return out;
}

/** Stems of the content words of a text, in order, without stop words, negations and one-letter tokens. */
export function contentStems(text: string): string[] {
  return contentStemsOfTokens(tokenize(normalize(text)));
}

/** Deduplicated content stems in order of first occurrence, for near-duplicate grouping. */
export function terms(text: string): string[] {
  return [...new Set(contentStems(text))];
}
