/**
 * Address fragment of a message: the street (with house number when given) or a numbered public
 * object (school, hospital, polyclinic, kindergarten …), as written.
 *
 * Only the street-type word (and an adjective standing before it) is put into the nominative, so the
 * fragment reads like an address: «на проспекте Строителей 12» → «проспект Строителей 12».
 * «дом 5 по улице Мира» → «улица Мира, 5». Apartment numbers are left out on purpose (personal data).
 * Priority: street with a house number, then a numbered object, then a street without a number;
 * within a priority the earliest mention wins.
 */

// Street types: inflected form → nominative. Abbreviations stay as written.
const STREET_TYPES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^улиц/u, 'улица'],
  [/^проспект/u, 'проспект'],
  [/^переул/u, 'переулок'],
  [/^площад/u, 'площадь'],
  [/^бульвар/u, 'бульвар'],
  [/^проезд/u, 'проезд'],
  [/^тракт/u, 'тракт'],
  [/^набережн/u, 'набережная'],
  [/^микрорайон/u, 'микрорайон'],
  [/^квартал/u, 'квартал'],
  [/^тупик/u, 'тупик'],
  [/^алле/u, 'аллея'],
  [/^шоссе/u, 'шоссе'],
];

const TYPE_WORD =
  'ул\\.?|улиц(?:а|ы|е|у|ей|ею)|пр-кт|пр-т|просп\\.|пр\\.|проспект(?:а|е|у|ом)?|пер\\.?|переул(?:ок|ка|ке|ку|ком)|' +
  'пл\\.|площад(?:ь|и|ью)|б-р|бул\\.|бульвар(?:а|е|у|ом)?|пр-д|проезд(?:а|е|у|ом)?|тракт(?:а|е|у|ом)?|ш\\.|шоссе|' +
  'наб\\.|набережн(?:ая|ой|ую)|мкр\\.?|мкрн\\.?|микрорайон(?:а|е|у|ом)?|кв-л|квартал(?:а|е|у|ом)?|' +
  'тупик(?:а|е|у|ом)?|алле(?:я|и|е|ю)';

/** «ул. Ленина», «по улице Мира»: the type word starts a street mention. */
const TYPE_FIRST_RE = new RegExp(`(?<![а-яёa-z0-9-])(?:${TYPE_WORD})(?![а-яё])`, 'giu');

/** «Павловский тракт», «на Красноармейском проспекте», «Советская улица»: adjective name, then the type. */
const ADJ_FIRST_RE = new RegExp(
  '(?<![а-яёa-z-])([А-ЯЁа-яё][а-яё]+(?:ий|ый|ой|ая|ого|ом|ому|ую))\\s+' +
    '(тракт(?:а|е|у|ом)?|проспект(?:а|е|у|ом)?|переул(?:ок|ка|ке|ку|ком)|бульвар(?:а|е|у|ом)?|шоссе|проезд(?:а|е|у|ом)?|' +
    'улиц(?:а|ы|е|у|ей|ею))(?![а-яё])',
  'gu',
);

/** «дом 5 по улице Мира», «д. 5 на ул. Ленина», «в доме 7 на ул. Льва Толстого». */
const HOUSE_FIRST_RE = new RegExp(
  `(?<![а-яёa-z])(?:дом(?:е|а|у)?|д\\.)\\s*(?:№\\s*)?(\\d{1,4}(?:-?[а-е](?![а-яё]))?(?:\\/\\d{1,4})?)\\s*,?\\s+(?:по|на)\\s+((?:${TYPE_WORD}))(?![а-яё])`,
  'giu',
);

// Name after the type word: «Ленина», «50 лет Октября», «1-я Западная», «Г. Исакова», «Мира», «ленина».
const NAME_START_RE =
  /[\s.]*(\d{1,3}\s+лет\s+[А-ЯЁа-яё][а-яё]+|\d{1,2}-?(?:я|й|ая|ый|ий|ой)\s+[А-ЯЁа-яё][а-яё-]+|[А-ЯЁ]\.\s?[А-ЯЁ][а-яё-]+|[А-ЯЁа-яё][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)*)/uy;
const NAME_NEXT_RE = /\s+([А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)*)/uy;

/** Words that cannot be (the start of) a street name. */
const NOT_A_NAME = new Set(
  (
    'в на у и с по к от до за не нет уже около возле рядом напротив дом дома доме домом где который которая ' +
    'которой которую это этой этот нашей нашем нашу наш наша всей всему весь вся тоже также есть был была нам ' +
    'вдоль через между перед после при со все всё ещё еще очень так там тут сегодня вчера постоянно опять снова ' +
    'эта эту этом эти я мы вы он она оно они спасибо прошу просим пожалуйста здравствуйте когда почему ' +
    'сколько помогите просьба жители администрация уважаемые добрый срочно'
  ).split(' '),
);

// House number after the name: «, 5», « 12а», «, д. 5», «, дом № 7/2», «, 5 корп. 2». Not «5 лет», «3 подъезд».
const HOUSE_RE =
  /(\s*,?\s*(?:(?:д\.|дом|д)\s*(?:№\s*)?)?)(\d{1,4}(?:-?[а-е](?![а-яё]))?(?:\s?\/\s?\d{1,4}[а-яё]?)?(?:\s*,?\s*(?:корп\.|корпус|к\.|стр\.|строение)\s*\d{1,3})?)(?![\d.,]?\d)(?!\s*(?:-?(?:й|я|го|е|х)(?![а-яё])|лет|год|дн|ден|недел|месяц|час|минут|раз|руб|тыс|%|человек|этаж|подъезд|парадн|кв|сут|градус|метр|м(?![а-яё])|км|шт))/iuy;

// Numbered public objects.
const OBJECT_RE = new RegExp(
  '(?<![а-яёa-z])' +
    '(?:(детск|городск|краев|районн|центральн|средн|стоматологическ|общеобразовательн)(?:ий|ая|ой|ого|ом|ому|ую|ая)\\s+)?' +
    '(школ(?:а|ы|е|у|ой)|сош|оош|гимнази(?:я|и|ю|ей)|лице(?:й|я|е|ю|ем)|' +
    'больниц(?:а|ы|е|у|ей)|горбольниц(?:а|ы|е|у|ей)|поликлиник(?:а|и|е|у|ой)|' +
    'сад(?:а|у|е|ом)?|детсад(?:а|у|е|ом)?|садик(?:а|у|е|ом)?|д\\/с|доу|мбдоу|мадоу|роддом(?:а|у|е|ом)?|' +
    'амбулатори(?:я|и|ю|ей))' +
    '\\s*(?:№|N|номер|#)\\s*(\\d{1,4}[а-я]?)(?![\\dа-яё])',
  'giu',
);

const OBJECT_NOUNS: ReadonlyArray<readonly [RegExp, string, 'f' | 'm']> = [
  [/^школ/u, 'школа', 'f'],
  [/^сош$/u, 'СОШ', 'f'],
  [/^оош$/u, 'ООШ', 'f'],
  [/^гимнази/u, 'гимназия', 'f'],
  [/^лице/u, 'лицей', 'm'],
  [/^горбольниц/u, 'горбольница', 'f'],
  [/^больниц/u, 'больница', 'f'],
  [/^поликлиник/u, 'поликлиника', 'f'],
  [/^детсад/u, 'детсад', 'm'],
  [/^садик/u, 'садик', 'm'],
  [/^сад/u, 'сад', 'm'],
  [/^д\/с$/u, 'д/с', 'm'],
  [/^доу$/u, 'ДОУ', 'm'],
  [/^мбдоу$/u, 'МБДОУ', 'm'],
  [/^мадоу$/u, 'МАДОУ', 'm'],
  [/^роддом/u, 'роддом', 'm'],
  [/^амбулатори/u, 'амбулатория', 'f'],
];

function nominativeType(word: string): string {
  const lower = word.toLowerCase();
  for (const [re, nom] of STREET_TYPES) if (re.test(lower)) return nom;
  return word;
}

/** «Павловском» → «Павловский», «Советской» → «Советская» (the street adjectives we meet end in -ский/-ной). */
function nominativeAdjective(word: string, feminine: boolean): string {
  const m = /^(.*?)(ий|ый|ой|ая|ого|ом|ому|ую|ей)$/u.exec(word);
  if (!m) return word;
  const stem = m[1]!;
  if (feminine) return stem + 'ая';
  if (m[2] === 'ий' || m[2] === 'ый' || m[2] === 'ой') return word;
  return stem + (/[кгхжшчщ]$/u.test(stem) ? 'ий' : 'ый');
}

interface Found {
  text: string;
  index: number;
  /** 0: street with house number, 1: numbered object, 2: street without number. */
  rank: 0 | 1 | 2;
}

function parseHouse(text: string, from: number): { house: string; end: number } | null {
  HOUSE_RE.lastIndex = from;
  const m = HOUSE_RE.exec(text);
  if (!m) return null;
  return { house: m[0], end: HOUSE_RE.lastIndex };
}

/** Type abbreviations after which people write a lower-case name without a house number: «ул ленина». */
const LOWERCASE_NAME_OK = /^(?:ул|мкр|мкрн)\.?$/iu;

function parseName(text: string, from: number): { end: number; capitalised: boolean } | null {
  NAME_START_RE.lastIndex = from;
  const m = NAME_START_RE.exec(text);
  if (!m) return null;
  if (NOT_A_NAME.has(m[1]!.toLowerCase())) return null;
  let end = NAME_START_RE.lastIndex;
  // Further capitalised words: «ул. Льва Толстого», «пр. Красноармейский». At most three words in all.
  for (let k = 0; k < 2; k++) {
    NAME_NEXT_RE.lastIndex = end;
    const n = NAME_NEXT_RE.exec(text);
    if (!n || NOT_A_NAME.has(n[1]!.toLowerCase())) break;
    end = NAME_NEXT_RE.lastIndex;
  }
  const first = m[1]!;
  return { end, capitalised: first[0] !== first[0]!.toLowerCase() || /^\d/u.test(first) };
}

function streetsTypeFirst(text: string, out: Found[]): void {
  TYPE_FIRST_RE.lastIndex = 0;
  for (let m = TYPE_FIRST_RE.exec(text); m !== null; m = TYPE_FIRST_RE.exec(text)) {
    const typeEnd = m.index + m[0].length;
    const name = parseName(text, typeEnd);
    if (!name) continue;
    const house = parseHouse(text, name.end);
    // A lower-case name without a house number is a street only after «ул»: «ул ленина», but not
    // «на улице темно» or «и пр. мы».
    if (!house && !name.capitalised && !LOWERCASE_NAME_OK.test(m[0])) continue;
    const end = house ? house.end : name.end;
    const type = nominativeType(m[0]);
    out.push({ text: type + text.slice(typeEnd, end), index: m.index, rank: house ? 0 : 2 });
    TYPE_FIRST_RE.lastIndex = end;
  }
}

function streetsAdjectiveFirst(text: string, out: Found[]): void {
  ADJ_FIRST_RE.lastIndex = 0;
  for (let m = ADJ_FIRST_RE.exec(text); m !== null; m = ADJ_FIRST_RE.exec(text)) {
    const adj = m[1]!;
    const typeWord = m[2]!;
    const type = nominativeType(typeWord);
    const feminine = type === 'улица';
    const end = m.index + m[0].length;
    const house = parseHouse(text, end);
    // Lower-case adjectives are often ordinary words («на этой улице», «внутриквартальный проезд»):
    // street names are capitalised, or at least followed by a house number.
    if (adj[0] === adj[0]!.toLowerCase() && (feminine || !house)) continue;
    if (NOT_A_NAME.has(adj.toLowerCase())) continue;
    const fragment = `${nominativeAdjective(adj, feminine)} ${type}${house ? house.house : ''}`;
    out.push({ text: fragment, index: m.index, rank: house ? 0 : 2 });
  }
}

function housesFirst(text: string, out: Found[]): void {
  HOUSE_FIRST_RE.lastIndex = 0;
  for (let m = HOUSE_FIRST_RE.exec(text); m !== null; m = HOUSE_FIRST_RE.exec(text)) {
    const typeEnd = m.index + m[0].length;
    const name = parseName(text, typeEnd);
    if (!name) continue;
    const street = nominativeType(m[2]!) + text.slice(typeEnd, name.end);
    // Rank it above the plain street mention that streetsTypeFirst finds at the same place.
    out.push({ text: `${street}, ${m[1]!}`, index: m.index, rank: 0 });
  }
}

function objects(text: string, out: Found[]): void {
  OBJECT_RE.lastIndex = 0;
  for (let m = OBJECT_RE.exec(text); m !== null; m = OBJECT_RE.exec(text)) {
    const adjStem = m[1];
    const noun = m[2]!.toLowerCase();
    const entry = OBJECT_NOUNS.find(([re]) => re.test(noun));
    if (!entry) continue;
    const [, nom, gender] = entry;
    // A bare «сад № 5» only with «детский» or as «садик»/«детсад»; «сад» alone may be a garden partnership.
    if (nom === 'сад' && adjStem?.toLowerCase() !== 'детск') continue;
    let name = nom;
    if (adjStem) {
      const s = adjStem.toLowerCase();
      name = `${s}${gender === 'f' ? 'ая' : /[кгх]$/u.test(s) ? 'ий' : 'ый'} ${nom}`;
    }
    out.push({ text: `${name} № ${m[3]!}`, index: m.index, rank: 1 });
  }
}

/** The street/house or numbered-object fragment of a message, or null when there is none. */
export function extractAddress(text: string): string | null {
  const found: Found[] = [];
  housesFirst(text, found);
  streetsTypeFirst(text, found);
  streetsAdjectiveFirst(text, found);
  objects(text, found);
  if (found.length === 0) return null;
  let best = found[0]!;
  for (const f of found) {
    if (f.rank < best.rank || (f.rank === best.rank && f.index < best.index)) best = f;
  }
  return best.text
    .replace(/\s+/gu, ' ')
    .replace(/[\s,]+$/u, '')
    .trim();
}
