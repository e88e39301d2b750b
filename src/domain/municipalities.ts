/**
 * Municipal units of Altai Krai (10 urban okrugs and 59 rural units that were municipal districts
 * before the 2022–2025 reforms). Pure data, no I/O.
 *
 * - `code` is a stable ASCII slug. Rural units keep the `-district` suffix even where the district
 *   was (or will be) converted into a municipal okrug, so codes stored in the database never change;
 *   `kind` tells the current legal form.
 * - `kind`: only conversions we are sure of are marked `municipal_okrug`; everything else is
 *   `municipal_district`. Verify against the current Altai Krai register of municipal units (ОКТМО)
 *   before using `kind` in reports.
 * - `population`: approximate resident population from Rosstat estimates (1 January 2024), rounded to
 *   hundreds; good enough for "incidents per 10,000 residents", replace with the current Rosstat
 *   table when exact figures matter.
 * - `aliases`: extra forms people write that cannot be derived from `name` by inflection — the
 *   administrative centre (and a few well-known large villages) for rural units, colloquial
 *   abbreviations and adjectives for cities. The gazetteer (src/nlp/gazetteer.ts) inflects them.
 */

export type MunicipalityKind = 'urban_okrug' | 'municipal_district' | 'municipal_okrug';

export interface Municipality {
  /** Stable ASCII slug, e.g. 'biysk', 'biysky-district'. */
  readonly code: string;
  /** Official-style name, e.g. «г. Бийск», «Бийский район». */
  readonly name: string;
  /** What a person reads on a card: «Бийск», «Бийский район». */
  readonly shortName: string;
  readonly kind: MunicipalityKind;
  /** Administrative centre. */
  readonly center: string;
  /** Approximate resident population (see the note above). */
  readonly population: number;
  /** Extra written forms, nominative case (see the note above). */
  readonly aliases: readonly string[];
}

type Row = readonly [
  code: string,
  name: string,
  shortName: string,
  kind: MunicipalityKind,
  center: string,
  population: number,
  aliases: readonly string[],
];

const U = 'urban_okrug' as const;
const D = 'municipal_district' as const;
const O = 'municipal_okrug' as const;

const ROWS: readonly Row[] = [
  // Urban okrugs.
  [
    'barnaul',
    'г. Барнаул',
    'Барнаул',
    U,
    'Барнаул',
    626_000,
    [
      'Барнаул',
      'БРН',
      'Барнаульский',
      // Barnaul's city districts: «в Индустриальном районе» means Barnaul.
      'Индустриальный район',
      'Железнодорожный район',
      'Ленинский район',
      'Октябрьский район',
      'Центральный район',
      'Власиха',
    ],
  ],
  ['biysk', 'г. Бийск', 'Бийск', U, 'Бийск', 195_500, ['Бийск']],
  ['rubtsovsk', 'г. Рубцовск', 'Рубцовск', U, 'Рубцовск', 134_500, ['Рубцовск']],
  [
    'novoaltaysk',
    'г. Новоалтайск',
    'Новоалтайск',
    U,
    'Новоалтайск',
    74_800,
    ['Новоалтайск', 'Новоалтайский', 'Белоярск'],
  ],
  ['zarinsk', 'г. Заринск', 'Заринск', U, 'Заринск', 45_000, ['Заринск']],
  ['aleysk', 'г. Алейск', 'Алейск', U, 'Алейск', 27_400, ['Алейск']],
  ['slavgorod', 'г. Славгород', 'Славгород', U, 'Славгород', 29_800, ['Славгород', 'Славгородский']],
  ['yarovoye', 'г. Яровое', 'Яровое', U, 'Яровое', 17_200, ['Яровое']],
  ['belokurikha', 'г. Белокуриха', 'Белокуриха', U, 'Белокуриха', 15_100, ['Белокуриха', 'Белокурихинский']],
  [
    'sibirsky',
    'ЗАТО Сибирский',
    'ЗАТО Сибирский',
    U,
    'Сибирский',
    11_700,
    ['ЗАТО Сибирский', 'ЗАТО', 'Сибирский'],
  ],

  // Rural units (former or current municipal districts), alphabetical.
  ['aleysky-district', 'Алейский район', 'Алейский район', D, 'Алейск', 15_600, []],
  ['altaysky-district', 'Алтайский район', 'Алтайский район', D, 'Алтайское', 24_600, ['Алтайское']],
  ['bayevsky-district', 'Баевский район', 'Баевский район', D, 'Баево', 9_100, ['Баево']],
  ['biysky-district', 'Бийский район', 'Бийский район', D, 'Бийск', 31_500, ['Сростки']],
  [
    'blagoveshchensky-district',
    'Благовещенский район',
    'Благовещенский район',
    D,
    'Благовещенка',
    27_300,
    ['Благовещенка', 'Степное Озеро'],
  ],
  ['burlinsky-district', 'Бурлинский район', 'Бурлинский район', D, 'Бурла', 9_300, ['Бурла']],
  [
    'bystroistoksky-district',
    'Быстроистокский район',
    'Быстроистокский район',
    D,
    'Быстрый Исток',
    8_400,
    ['Быстрый Исток'],
  ],
  ['volchikhinsky-district', 'Волчихинский район', 'Волчихинский район', D, 'Волчиха', 15_600, ['Волчиха']],
  [
    'yegoryevsky-district',
    'Егорьевский район',
    'Егорьевский район',
    D,
    'Новоегорьевское',
    12_000,
    ['Новоегорьевское'],
  ],
  ['yeltsovsky-district', 'Ельцовский район', 'Ельцовский район', D, 'Ельцовка', 4_700, ['Ельцовка']],
  ['zavyalovsky-district', 'Завьяловский район', 'Завьяловский район', D, 'Завьялово', 15_800, ['Завьялово']],
  [
    'zalesovsky-district',
    'Залесовский муниципальный округ',
    'Залесовский округ',
    O,
    'Залесово',
    10_200,
    ['Залесово', 'Залесовский район'],
  ],
  ['zarinsky-district', 'Заринский район', 'Заринский район', D, 'Заринск', 16_500, []],
  [
    'zmeinogorsky-district',
    'Змеиногорский район',
    'Змеиногорский район',
    D,
    'Змеиногорск',
    16_300,
    ['Змеиногорск'],
  ],
  ['zonalny-district', 'Зональный район', 'Зональный район', D, 'Зональное', 17_500, ['Зональное']],
  ['kalmansky-district', 'Калманский район', 'Калманский район', D, 'Калманка', 14_700, ['Калманка']],
  [
    'kamensky-district',
    'Каменский район',
    'Каменский район',
    D,
    'Камень-на-Оби',
    44_700,
    ['Камень-на-Оби', 'Камень'],
  ],
  ['klyuchevsky-district', 'Ключевский район', 'Ключевский район', D, 'Ключи', 16_300, ['Ключи']],
  ['kosikhinsky-district', 'Косихинский район', 'Косихинский район', D, 'Косиха', 14_400, ['Косиха']],
  [
    'krasnogorsky-district',
    'Красногорский район',
    'Красногорский район',
    D,
    'Красногорское',
    14_300,
    ['Красногорское'],
  ],
  [
    'krasnoshchyokovsky-district',
    'Краснощёковский район',
    'Краснощёковский район',
    D,
    'Краснощёково',
    14_600,
    ['Краснощёково'],
  ],
  ['krutikhinsky-district', 'Крутихинский район', 'Крутихинский район', D, 'Крутиха', 9_000, ['Крутиха']],
  ['kulundinsky-district', 'Кулундинский район', 'Кулундинский район', D, 'Кулунда', 22_400, ['Кулунда']],
  ['kuryinsky-district', 'Курьинский район', 'Курьинский район', D, 'Курья', 8_600, ['Курья']],
  ['kytmanovsky-district', 'Кытмановский район', 'Кытмановский район', D, 'Кытманово', 11_300, ['Кытманово']],
  ['loktevsky-district', 'Локтевский район', 'Локтевский район', D, 'Горняк', 23_800, ['Горняк']],
  ['mamontovsky-district', 'Мамонтовский район', 'Мамонтовский район', D, 'Мамонтово', 18_600, ['Мамонтово']],
  [
    'mikhaylovsky-district',
    'Михайловский район',
    'Михайловский район',
    D,
    'Михайловское',
    16_800,
    ['Михайловское', 'Малиновое Озеро'],
  ],
  [
    'nemetsky-district',
    'Немецкий национальный район',
    'Немецкий национальный район',
    D,
    'Гальбштадт',
    15_500,
    ['Гальбштадт'],
  ],
  [
    'novichikhinsky-district',
    'Новичихинский район',
    'Новичихинский район',
    D,
    'Новичиха',
    8_000,
    ['Новичиха'],
  ],
  ['pavlovsky-district', 'Павловский район', 'Павловский район', D, 'Павловск', 39_700, ['Павловск']],
  [
    'pankrushikhinsky-district',
    'Панкрушихинский район',
    'Панкрушихинский район',
    D,
    'Панкрушиха',
    9_100,
    ['Панкрушиха'],
  ],
  [
    'pervomaysky-district',
    'Первомайский район',
    'Первомайский район',
    D,
    'Новоалтайск',
    49_500,
    ['Повалиха'],
  ],
  [
    'petropavlovsky-district',
    'Петропавловский район',
    'Петропавловский район',
    D,
    'Петропавловское',
    9_400,
    ['Петропавловское'],
  ],
  [
    'pospelikhinsky-district',
    'Поспелихинский район',
    'Поспелихинский район',
    D,
    'Поспелиха',
    21_800,
    ['Поспелиха'],
  ],
  ['rebrikhinsky-district', 'Ребрихинский район', 'Ребрихинский район', D, 'Ребриха', 19_800, ['Ребриха']],
  ['rodinsky-district', 'Родинский район', 'Родинский район', D, 'Родино', 14_700, ['Родино']],
  ['romanovsky-district', 'Романовский район', 'Романовский район', D, 'Романово', 10_500, ['Романово']],
  ['rubtsovsky-district', 'Рубцовский район', 'Рубцовский район', D, 'Рубцовск', 19_300, []],
  ['smolensky-district', 'Смоленский район', 'Смоленский район', D, 'Смоленское', 20_300, ['Смоленское']],
  ['sovetsky-district', 'Советский район', 'Советский район', D, 'Советское', 14_800, ['Советское']],
  [
    'soloneshensky-district',
    'Солонешенский район',
    'Солонешенский район',
    D,
    'Солонешное',
    8_300,
    ['Солонешное'],
  ],
  ['soltonsky-district', 'Солтонский район', 'Солтонский район', D, 'Солтон', 6_700, ['Солтон']],
  ['suetsky-district', 'Суетский район', 'Суетский район', D, 'Верх-Суетка', 4_100, ['Верх-Суетка']],
  ['tabunsky-district', 'Табунский район', 'Табунский район', D, 'Табуны', 7_700, ['Табуны']],
  ['talmensky-district', 'Тальменский район', 'Тальменский район', D, 'Тальменка', 44_500, ['Тальменка']],
  ['togulsky-district', 'Тогульский район', 'Тогульский район', D, 'Тогул', 7_500, ['Тогул']],
  ['topchikhinsky-district', 'Топчихинский район', 'Топчихинский район', D, 'Топчиха', 20_600, ['Топчиха']],
  [
    'tretyakovsky-district',
    'Третьяковский район',
    'Третьяковский район',
    D,
    'Староалейское',
    11_200,
    ['Староалейское'],
  ],
  ['troitsky-district', 'Троицкий район', 'Троицкий район', D, 'Троицкое', 21_500, ['Троицкое']],
  [
    'tyumentsevsky-district',
    'Тюменцевский район',
    'Тюменцевский район',
    D,
    'Тюменцево',
    10_300,
    ['Тюменцево'],
  ],
  ['uglovsky-district', 'Угловский район', 'Угловский район', D, 'Угловское', 10_600, ['Угловское']],
  [
    'ust-kalmansky-district',
    'Усть-Калманский район',
    'Усть-Калманский район',
    D,
    'Усть-Калманка',
    12_600,
    ['Усть-Калманка'],
  ],
  [
    'ust-pristansky-district',
    'Усть-Пристанский район',
    'Усть-Пристанский район',
    D,
    'Усть-Чарышская Пристань',
    10_600,
    ['Усть-Чарышская Пристань'],
  ],
  ['khabarsky-district', 'Хабарский район', 'Хабарский район', D, 'Хабары', 12_300, ['Хабары']],
  ['tselinny-district', 'Целинный район', 'Целинный район', D, 'Целинное', 13_600, ['Целинное']],
  ['charyshsky-district', 'Чарышский район', 'Чарышский район', D, 'Чарышское', 10_100, ['Чарышское']],
  [
    'shelabolikhinsky-district',
    'Шелаболихинский район',
    'Шелаболихинский район',
    D,
    'Шелаболиха',
    11_700,
    ['Шелаболиха'],
  ],
  ['shipunovsky-district', 'Шипуновский район', 'Шипуновский район', D, 'Шипуново', 29_300, ['Шипуново']],
];

export const MUNICIPALITIES: readonly Municipality[] = ROWS.map(
  ([code, name, shortName, kind, center, population, aliases]) =>
    Object.freeze({ code, name, shortName, kind, center, population, aliases: Object.freeze([...aliases]) }),
);

const BY_CODE: ReadonlyMap<string, Municipality> = new Map(MUNICIPALITIES.map((m) => [m.code, m]));

export function municipalityByCode(code: string): Municipality | undefined {
  return BY_CODE.get(code);
}
