/**
 * Gazetteer: which municipality of Altai Krai a message names.
 *
 * All inflected forms of every name are generated once at module load into hash maps, so a lookup is
 * one regex pass over the text plus a Map probe per word (no per-call regex building).
 *
 * Rules:
 * - A city noun in any case means the urban okrug («в Бийске» → Бийск); the centre of a rural unit
 *   means that unit («в Тальменке» → Тальменский район).
 * - An adjective followed by район / р-н / округ / МО / ЦРБ / районный (optionally with
 *   «муниципальный», «национальный» in between) means the rural unit («Бийского района»).
 *   A distinctive adjective alone also counts («Тальменская школа»); for a city-derived adjective alone
 *   it means the city («Бийский вокзал»). Generic adjectives («Советский», «Первомайский», «Павловский»,
 *   «Алтайский», Barnaul's «Ленинский» …) count only with the district word.
 * - Names that are ordinary words («Ключи», «Горняк», «Табуны», «Советское», «Камень» …) count only
 *   after a settlement prefix (г., с., п., пос., р.п., село …).
 * - A name right after a street word (ул., проспект, тракт …) or an adjective right before one is a
 *   street («ул. Советская», «ул. Бийская», «Павловский тракт»), not a municipality.
 * The first mention in the text wins.
 */
import { MUNICIPALITIES, type Municipality } from '../domain/municipalities.ts';

export interface MunicipalityMatch {
  code: string;
  /** The fragment of the text that named it, as written («Бийского района», «Тальменке»). */
  matched: string;
}

const fold = (s: string): string => s.toLowerCase().replace(/ё/g, 'е');

// ---------------------------------------------------------------------------------------------
// Inflection of names (nominative → all case forms, lower case).

const words = (list: string): string[] => list.split(/\s+/u).filter(Boolean);

const ADJ_ENDINGS = words('ий ый ой ого ому им ым ом ая ую ое ие ые их ых ими ыми ей ею ою ее ем');
const VELAR_OR_SIBILANT = /[гкхжшчщ]$/u;

function isAdjective(word: string): boolean {
  return /(?:ий|ый|ой|ое|ее|ая)$/u.test(word) && word.length > 4;
}

function adjectiveForms(word: string): string[] {
  const stem = word.slice(0, -2);
  return ADJ_ENDINGS.map((e) => stem + e);
}

/** Case forms of an adjective-shaped place name in its own gender («Яровое» → «Ярового», not «яровые»). */
function placeAdjectiveForms(word: string): string[] {
  const stem = word.slice(0, -2);
  const end = word.slice(-2);
  if (end === 'ое' || end === 'ее') return [word, stem + 'ого', stem + 'ому', stem + 'ом'];
  if (end === 'ая') return [word, stem + 'ой', stem + 'ую', stem + 'ою'];
  return [word, stem + 'ого', stem + 'ому', stem + 'ом', stem + (end === 'ий' ? 'им' : 'ым')];
}

/**
 * Case forms of a noun-like place name. `inPhrase` allows full declension of neuter -о nouns
 * («Степное Озеро» → «Степном Озере»); a single-word -ово/-ино village is kept indeclinable,
 * as people write it («в Шипуново»), because its declined forms collide with surnames («Мамонтова»).
 */
function nounForms(word: string, inPhrase: boolean): string[] {
  const irregular = IRREGULAR[word];
  if (irregular) return irregular;
  const dash = word.lastIndexOf('-');
  if (dash > 0 && !word.endsWith('-на-оби')) {
    // Усть-Калманка, Верх-Суетка: only the last part declines.
    const head = word.slice(0, dash + 1);
    return nounForms(word.slice(dash + 1), inPhrase).map((f) => head + f);
  }
  if (isAdjective(word)) return placeAdjectiveForms(word);
  const last = word.slice(-1);
  const stem = word.slice(0, -1);
  switch (last) {
    case 'а':
      return [
        word,
        stem + (VELAR_OR_SIBILANT.test(stem) ? 'и' : 'ы'),
        stem + 'е',
        stem + 'у',
        stem + 'ой',
        stem + 'ою',
      ];
    case 'я':
      return [word, stem + 'и', stem + 'е', stem + 'ю', stem + 'ей'];
    case 'ь':
      return [word, stem + 'и', stem + 'ью'];
    case 'о':
      return inPhrase ? [word, stem + 'а', stem + 'е', stem + 'у', stem + 'ом'] : [word];
    case 'ы':
      return [word, stem + 'ов', stem + 'ам', stem + 'ах', stem + 'ами'];
    case 'и':
      return [word, stem + 'ей', stem + 'ов', stem + 'ам', stem + 'ах', stem + 'ами'];
    default:
      return [word, word + 'а', word + 'у', word + 'ом', word + 'е'];
  }
}

const IRREGULAR: Record<string, string[]> = {
  'камень-на-оби': ['камень-на-оби', 'камня-на-оби', 'камне-на-оби', 'камню-на-оби', 'камнем-на-оби'],
  камень: ['камень', 'камня', 'камне', 'камню', 'камнем'],
  озеро: ['озеро', 'озера', 'озере', 'озеру', 'озером'],
};

// ---------------------------------------------------------------------------------------------
// Policy lists.

/** Place names that are ordinary words too: only after a settlement prefix. */
const NEEDS_PREFIX = new Set(
  words(
    'ключи горняк табуны камень сибирский алтайское советское троицкое смоленское михайловское красногорское ' +
      'зональное целинное петропавловское белоярск',
  ),
);

/** Upper case in the original text required (the lower-case form is a common word: «зато»). */
const NEEDS_UPPER = new Set(['зато']);

/** Adjective stems (nominative masc. minus the ending) that count only with a district word. */
const GENERIC_ADJ_STEMS = new Set(
  words(
    'алтайск советск первомайск троицк михайловск смоленск красногорск зональн целинн каменск ключевск павловск ' +
      'романовск петропавловск благовещенск егорьевск мамонтовск родинск угловск немецк локтевск третьяковск ' +
      'баевск индустриальн железнодорожн ленинск октябрьск центральн',
  ),
);

const DISTRICT_WORDS = new Set([
  ...nounForms('район', false),
  ...['районы', 'районов', 'районам', 'районах'],
  ...['р-н', 'р-на', 'р-не', 'р-ну', 'р-ном', 'рн', 'р-он', 'р-оне', 'р-она'],
  ...nounForms('округ', false),
  'мо',
  'црб',
  ...adjectiveForms('районный'),
]);

/** Words allowed between the adjective and the district word. */
const DISTRICT_FILLERS = /^(?:муниципальн|национальн|городск|сельск)/u;

const SETTLEMENT_PREFIXES = new Set(
  words(
    'г гор город города городе городу городом с село села селе селу селом п пос поселок поселка поселке поселку ' +
      'пгт рп д дер деревня деревни деревне ст станция станции нп зато',
  ),
);
/** One-letter prefixes that are also prepositions («с», «п» …) count only with a dot: «с. Ключи». */
const PREFIXES_NEEDING_DOT = new Set(['с', 'п', 'д', 'г', 'ст']);

const STREET_WORDS = new Set([
  ...words(
    'ул пр пр-т пр-кт пр-д пер переулок переулка переулке переулку пл б-р бул шоссе ш наб мкр мкрн тупик',
  ),
  ...words('аллея аллеи аллее линия линии'),
  ...['улица', 'проспект', 'площадь', 'бульвар', 'проезд', 'тракт', 'микрорайон'].flatMap((w) =>
    nounForms(w, false),
  ),
  ...adjectiveForms('набережная'),
]);

// ---------------------------------------------------------------------------------------------
// Compiled lookups.

interface AdjectiveEntry {
  /** Unit meant when a district word follows. */
  withDistrictWord: string;
  /** Unit meant when the adjective stands alone, or null when that is not enough. */
  alone: string | null;
  /** City meant with «городской округ». */
  city: string | null;
}

interface SettlementEntry {
  code: string;
  needsPrefix: boolean;
  needsUpper: boolean;
  /** Forms of the following words of a multi-word name («Быстрый Исток»). */
  rest: ReadonlySet<string>[];
}

const ADJECTIVES = new Map<string, AdjectiveEntry>();
const SETTLEMENTS = new Map<string, SettlementEntry[]>();

function addAdjective(adj: string, m: Municipality, asCity: boolean): void {
  const stem = adj.slice(0, -2);
  const generic = GENERIC_ADJ_STEMS.has(stem);
  for (const form of adjectiveForms(adj)) {
    const prev = ADJECTIVES.get(form);
    const entry: AdjectiveEntry = prev ?? { withDistrictWord: m.code, alone: null, city: null };
    if (asCity) {
      // A city adjective («Бийский») names the city alone; with a district word the district of the
      // same name wins if there is one (registered separately).
      entry.city = m.code;
      if (!generic) entry.alone = m.code;
      if (!prev) entry.withDistrictWord = m.code;
    } else {
      entry.withDistrictWord = m.code;
      if (!generic && entry.alone === null) entry.alone = m.code;
    }
    ADJECTIVES.set(form, entry);
  }
}

function addSettlement(name: string, m: Municipality): void {
  const words = fold(name).split(/\s+/u);
  const first = words[0]!;
  const inPhrase = words.length > 1;
  const entry: SettlementEntry = {
    code: m.code,
    needsPrefix: NEEDS_PREFIX.has(fold(name)),
    needsUpper: NEEDS_UPPER.has(first) && !inPhrase,
    rest: words.slice(1).map((w) => new Set(nounForms(w, true))),
  };
  for (const form of nounForms(first, inPhrase)) {
    const list = SETTLEMENTS.get(form) ?? [];
    // Cities are compiled first, so for a shared name («Бийск») the city entry comes first and wins.
    if (list.some((e) => e.code === m.code)) continue;
    list.push(entry);
    SETTLEMENTS.set(form, list);
  }
}

/** «Бийский район» → «бийский»; «Немецкий национальный район» → «немецкий»; null for city names. */
function districtAdjective(name: string): string | null {
  const m = /^([а-яё-]+)\s+(?:[а-яё]+\s+)?(?:район|округ|муниципальный округ)$/iu.exec(name);
  return m ? fold(m[1]!) : null;
}

function compile(): void {
  // Cities first, so that a centre shared with a district («Бийск») resolves to the city.
  const ordered = [...MUNICIPALITIES].sort(
    (a, b) => Number(b.kind === 'urban_okrug') - Number(a.kind === 'urban_okrug'),
  );
  for (const m of ordered) {
    const isCity = m.kind === 'urban_okrug';
    const ownAdj = districtAdjective(m.name);
    if (ownAdj) addAdjective(ownAdj, m, false);
    if (!isCity) addSettlement(m.center, m);
    for (const alias of m.aliases) {
      const a = fold(alias);
      const aliasAdj = districtAdjective(alias);
      if (aliasAdj) {
        // «Индустриальный район» → Barnaul; «Залесовский район» → the okrug.
        addAdjective(aliasAdj, m, false);
      } else if (!a.includes(' ') && isAdjective(a) && !NEEDS_PREFIX.has(a) && /(?:ий|ый|ой)$/u.test(a)) {
        addAdjective(a, m, isCity);
      } else {
        addSettlement(alias, m);
      }
    }
  }
  // City adjectives derived from the city name itself («Бийск» → «бийский»), for «Бийская больница».
  for (const m of MUNICIPALITIES) {
    if (m.kind !== 'urban_okrug') continue;
    const noun = fold(m.shortName);
    if (!/^[а-я]+ск$/u.test(noun)) continue;
    for (const form of adjectiveForms(noun + 'ий')) {
      const e = ADJECTIVES.get(form) ?? { withDistrictWord: m.code, alone: m.code, city: m.code };
      e.alone = m.code;
      e.city = m.code;
      ADJECTIVES.set(form, e);
    }
  }
}
compile();

// ---------------------------------------------------------------------------------------------
// Matching.

const WORD_RE = /[а-яёa-z0-9]+(?:-[а-яёa-z0-9]+)*/giu;

interface Token {
  form: string;
  start: number;
  end: number;
}

function tokens(text: string): Token[] {
  const out: Token[] = [];
  WORD_RE.lastIndex = 0;
  for (let m = WORD_RE.exec(text); m !== null; m = WORD_RE.exec(text)) {
    out.push({ form: fold(m[0]), start: m.index, end: m.index + m[0].length });
  }
  return out;
}

function hasPrefix(text: string, toks: Token[], i: number): boolean {
  const prev = toks[i - 1];
  if (!prev || !SETTLEMENT_PREFIXES.has(prev.form)) return false;
  if (toks[i]!.start - prev.end > 3) return false;
  return !PREFIXES_NEEDING_DOT.has(prev.form) || text[prev.end] === '.';
}

/** «ул. Бийская», «Павловский тракт»: a street named after the place. `after` also checks the next word. */
function isStreetName(toks: Token[], i: number, lastIndex: number, after: boolean): boolean {
  const prev = toks[i - 1];
  if (prev !== undefined && STREET_WORDS.has(prev.form)) return true;
  const next = toks[lastIndex + 1];
  return after && next !== undefined && STREET_WORDS.has(next.form);
}

/** The first municipality of Altai Krai named in the text, or null. */
export function findMunicipality(text: string): MunicipalityMatch | null {
  const toks = tokens(text);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const adj = ADJECTIVES.get(t.form);
    if (adj) {
      // Look for the district word, skipping «муниципальный», «национальный».
      let j = i + 1;
      let cityWord = false;
      while (j < toks.length && j <= i + 2 && DISTRICT_FILLERS.test(toks[j]!.form)) {
        if (toks[j]!.form.startsWith('городск')) cityWord = true;
        j++;
      }
      const next = toks[j];
      if (next && DISTRICT_WORDS.has(next.form) && next.start - toks[j - 1]!.end <= 3) {
        const code = cityWord ? (adj.city ?? adj.withDistrictWord) : adj.withDistrictWord;
        return { code, matched: text.slice(t.start, next.end) };
      }
      if (adj.alone && !isStreetName(toks, i, i, true))
        return { code: adj.alone, matched: text.slice(t.start, t.end) };
    }
    const candidates = SETTLEMENTS.get(t.form);
    if (!candidates) continue;
    for (const c of candidates) {
      let last = i;
      let ok = true;
      for (const forms of c.rest) {
        const n = toks[last + 1];
        if (!n || !forms.has(n.form)) {
          ok = false;
          break;
        }
        last++;
      }
      if (!ok) continue;
      if (c.needsPrefix && !hasPrefix(text, toks, i)) continue;
      if (c.needsUpper && text.slice(t.start, t.end) !== t.form.toUpperCase()) continue;
      if (isStreetName(toks, i, last, false)) continue;
      return { code: c.code, matched: text.slice(t.start, toks[last]!.end) };
    }
  }
  return null;
}
