/**
 * What people read of the analytics: the Russian names of measures, dimensions, rating components and levels,
 * and the pivot of a slice. Shared by the XLSX export and the workspace (web/src/pages/Analytics.tsx imports
 * this file), so that a download is laid out and named exactly as the table on screen. Pure: no imports, no I/O; codes become names through a lookup the caller passes (the
 * server's reference snapshot, the workspace's /reference).
 *
 * Layout: the period (when asked) goes across, every bucket of it even without data, otherwise the second
 * dimension; the remaining dimensions go down. Totals only for counts that add up (messages, incidents): distinct authors, medians, shares and
 * means do not.
 */

export const MEASURE_LABELS: Readonly<Record<string, string>> = {
  incidents: 'Инциденты',
  messages: 'Сообщения',
  authors: 'Авторы (уникальные)',
  first_response_hours: 'Время до первого ответа, ч (медиана)',
  resolution_hours: 'Время решения, ч (медиана)',
  within_deadline_share: 'Доля решённых в срок',
  satisfaction: 'Средняя оценка (1–5)',
};

export const DIMENSION_LABELS: Readonly<Record<string, string>> = {
  sector: 'Профильный блок',
  municipality: 'Муниципалитет',
  agency: 'Ведомство',
  channel: 'Канал',
  sentiment: 'Тональность',
  status: 'Статус',
  period: 'Период',
};

export const PERIOD_LABELS: Readonly<Record<string, string>> = {
  day: 'по дням',
  week: 'по неделям',
  month: 'по месяцам',
};

/** Sentiment of a message, and of an incident («negative» when at least half of its messages are). */
export const SLICE_SENTIMENT_LABELS: Readonly<Record<string, string>> = {
  negative: 'Негативная',
  neutral: 'Нейтральная',
  positive: 'Позитивная',
  not_negative: 'Не негативная',
};

/** The components of an agency's rating score, in the order of the formula. */
export const RATING_COMPONENT_LABELS: Readonly<Record<string, string>> = {
  quantity: 'Количество: обработано инцидентов',
  speed_first_response: 'Скорость: медиана первого ответа',
  speed_within_deadline: 'Скорость: доля решённых в срок',
  quality_satisfaction: 'Качество: средняя оценка граждан',
  quality_not_reopened: 'Качество: доля не открытых повторно',
  completeness_answered: 'Полнота: доля с первым ответом',
  completeness_result: 'Полнота: доля решённых с указанным результатом',
};

export const RATING_LEVEL_LABELS: Readonly<Record<string, string>> = {
  regional: 'Региональные органы власти',
  municipal: 'Органы местного самоуправления',
};

export const RATING_FORMULA_RU =
  'Баллы = 100 × Σ (вес × компонент) / Σ весов; каждый компонент от 0 до 1: количество и медиана первого ответа — ' +
  'мин–макс среди ведомств того же уровня за период (быстрее — лучше), доля решённых в срок, ' +
  '(средняя оценка − 1) / 4, 1 − доля открытых повторно, доля с первым ответом, доля решённых с указанным результатом';

/** The label of a missing key (no agency yet, no municipality recognised). */
export const NO_VALUE_LABEL = 'не указано';

export type ValueKind = 'count' | 'hours' | 'share' | 'score';

export function measureKind(measure: string): ValueKind {
  if (measure.endsWith('_hours')) return 'hours';
  if (measure.endsWith('_share')) return 'share';
  if (measure === 'satisfaction') return 'score';
  return 'count';
}

/** Counts that add up across keys: every message or incident has exactly one value of each dimension. */
export const isAdditive = (measure: string): boolean => measure === 'messages' || measure === 'incidents';

const MONTHS = [
  'Январь',
  'Февраль',
  'Март',
  'Апрель',
  'Май',
  'Июнь',
  'Июль',
  'Август',
  'Сентябрь',
  'Октябрь',
  'Ноябрь',
  'Декабрь',
];

/** A bucket `2026-01-05` as «05.01.2026», «нед. с 05.01.2026» or «Январь 2026». */
export function periodLabel(period: string | null, key: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(key);
  if (!m) return key;
  const [, y, mo, d] = m;
  if (period === 'month') return `${MONTHS[Number(mo) - 1] ?? mo} ${y}`;
  if (period === 'week') return `нед. с ${d}.${mo}.${y}`;
  return `${d}.${mo}.${y}`;
}

/** Barnaul is UTC+7 all year (no daylight saving since 2016): buckets are computed without a time zone database. */
const BARNAUL_OFFSET_MS = 7 * 3_600_000;
const MAX_BUCKETS = 400;

/**
 * Every bucket (`YYYY-MM-DD` of its first day, as the API names them) of a period from `from` to `to`
 * (exclusive), so that days without data still show as columns; empty when there would be too many.
 */
export function periodBuckets(period: string | null, fromIso: string, toIso: string): string[] {
  if (period !== 'day' && period !== 'week' && period !== 'month') return [];
  const local = (iso: string, shift = 0) => new Date(new Date(iso).getTime() + BARNAUL_OFFSET_MS + shift);
  const d = local(fromIso);
  const end = local(toIso, -1);
  d.setUTCHours(0, 0, 0, 0);
  if (period === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (period === 'month') d.setUTCDate(1);
  const out: string[] = [];
  while (d <= end && out.length <= MAX_BUCKETS) {
    out.push(d.toISOString().slice(0, 10));
    if (period === 'day') d.setUTCDate(d.getUTCDate() + 1);
    else if (period === 'week') d.setUTCDate(d.getUTCDate() + 7);
    else d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out.length > MAX_BUCKETS ? [] : out;
}

/** Names of reference codes; each returns the code itself when it does not know it. */
export interface ReferenceLookup {
  sector(code: string): string;
  municipality(code: string): string;
  agency(id: string): string;
  status(code: string): string;
  channel(code: string): string;
}

export type Labeler = (dimension: string, key: string | null | undefined) => string;

export function sliceLabeler(period: string | null, ref: ReferenceLookup): Labeler {
  return (dimension, key) => {
    if (key === null || key === undefined || key === '') return NO_VALUE_LABEL;
    switch (dimension) {
      case 'period':
        return periodLabel(period, key);
      case 'sentiment':
        return SLICE_SENTIMENT_LABELS[key] ?? key;
      case 'sector':
        return ref.sector(key);
      case 'municipality':
        return ref.municipality(key);
      case 'agency':
        return ref.agency(key);
      case 'status':
        return ref.status(key);
      case 'channel':
        return ref.channel(key);
      default:
        return key;
    }
  };
}

/** What GET /analytics/slice answers (JSON). */
export interface SliceData {
  measure: string;
  by: string[];
  period: string | null;
  from: string;
  to: string;
  rows: { keys: Record<string, string | null | undefined>; value: number | null; n: number }[];
  /** More groups than a slice answers: only the largest are here. */
  truncated?: boolean;
}

export interface PivotHead {
  key: string | null;
  label: string;
}

export interface PivotRow {
  /** One head per row dimension. */
  keys: PivotHead[];
  /** One cell per column (one cell when nothing goes across). */
  cells: (number | null)[];
  /** The sum across (additive measures with a column dimension), else null. */
  total: number | null;
}

export interface Pivot {
  measure: string;
  additive: boolean;
  /** Dimensions down, 0–2 (none: a single row «Всего»). */
  rowDims: string[];
  /** The dimension across, or null when the value is a single column. */
  colDim: string | null;
  cols: PivotHead[];
  rows: PivotRow[];
  /** Sums down per column (additive measures with more than one row), else null. */
  colTotals: number[] | null;
  /** The sum of everything (additive measures), else null. */
  grandTotal: number | null;
}

const NULL_KEY = '\u0000';
const keyOf = (v: string | null | undefined) => (v === null || v === undefined ? NULL_KEY : v);
const unKey = (k: string) => (k === NULL_KEY ? null : k);

export function buildPivot(slice: SliceData, label: Labeler): Pivot {
  const additive = isAdditive(slice.measure);
  const dims = [...slice.by, ...(slice.period ? ['period'] : [])];
  const colDim = slice.period ? 'period' : (slice.by[1] ?? null);
  const rowDims = dims.filter((d) => d !== colDim);

  // Cells by row key tuple and column key.
  const cells = new Map<string, Map<string, number | null>>();
  const rowKeys = new Map<string, string[]>();
  const colKeys = new Set<string>();
  for (const r of slice.rows) {
    const rk = rowDims.map((d) => keyOf(r.keys[d]));
    const id = JSON.stringify(rk);
    const ck = colDim ? keyOf(r.keys[colDim]) : '';
    rowKeys.set(id, rk);
    colKeys.add(ck);
    const row = cells.get(id) ?? new Map<string, number | null>();
    row.set(ck, r.value);
    cells.set(id, row);
  }
  if (!rowDims.length && !rowKeys.size) rowKeys.set('[]', []);
  if (!colDim) colKeys.add('');
  if (colDim === 'period') for (const b of periodBuckets(slice.period, slice.from, slice.to)) colKeys.add(b);

  const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
  const labelOf = (d: string, k: string) => label(d, unKey(k));
  const byLabel = (d: string) => (a: string, b: string) =>
    a === NULL_KEY ? 1 : b === NULL_KEY ? -1 : labelOf(d, a).localeCompare(labelOf(d, b), 'ru');

  // Columns: periods in time order; a dimension by its total (counts) or by name.
  const cols = [...colKeys];
  if (colDim === 'period') cols.sort();
  else if (colDim) {
    const totals = new Map(cols.map((c) => [c, sum([...cells.values()].map((row) => row.get(c) ?? null))]));
    cols.sort((a, b) => (additive ? totals.get(b)! - totals.get(a)! : 0) || byLabel(colDim)(a, b));
  }

  const rows = [...rowKeys.entries()].map(([id, keys]) => {
    const row = cells.get(id);
    const values = cols.map((c) => row?.get(c) ?? (additive ? 0 : null));
    return { keys, values, total: sum(values) };
  });
  // Rows: counts by the total of the first key, then their own; others by name (periods by time).
  const firstTotals = new Map<string, number>();
  for (const r of rows) firstTotals.set(r.keys[0] ?? '', (firstTotals.get(r.keys[0] ?? '') ?? 0) + r.total);
  const cmpKey = (i: number) => (a: (typeof rows)[number], b: (typeof rows)[number]) => {
    const d = rowDims[i]!;
    const ka = a.keys[i] ?? '';
    const kb = b.keys[i] ?? '';
    return d === 'period' ? ka.localeCompare(kb) : byLabel(d)(ka, kb);
  };
  rows.sort((a, b) => {
    for (let i = 0; i < rowDims.length; i++) {
      if (additive && rowDims[i] !== 'period') {
        const ta = i === 0 ? firstTotals.get(a.keys[0] ?? '')! : a.total;
        const tb = i === 0 ? firstTotals.get(b.keys[0] ?? '')! : b.total;
        if (ta !== tb) return tb - ta;
      }
      const c = cmpKey(i)(a, b);
      if (c) return c;
    }
    return 0;
  });

  const across = colDim !== null;
  return {
    measure: slice.measure,
    additive,
    rowDims,
    colDim,
    cols: across
      ? cols.map((c) => ({ key: unKey(c), label: labelOf(colDim, c) }))
      : [{ key: null, label: MEASURE_LABELS[slice.measure] ?? slice.measure }],
    rows: rows.map((r) => ({
      keys: r.keys.map((k, i) => ({ key: unKey(k), label: labelOf(rowDims[i]!, k) })),
      cells: r.values,
      total: additive && across ? r.total : null,
    })),
    colTotals:
      additive && rows.length > 1 ? cols.map((_, j) => sum(rows.map((r) => r.values[j] ?? 0))) : null,
    grandTotal: additive ? sum(rows.map((r) => r.total)) : null,
  };
}

/** «Профильный блок: ЖКХ, Транспорт; Статус: В работе», or «нет». */
export function describeFilters(filters: Record<string, string[] | undefined>, label: Labeler): string {
  const parts = Object.entries(filters)
    .filter(([, v]) => v?.length)
    .map(([d, v]) => `${DIMENSION_LABELS[d] ?? d}: ${v!.map((k) => label(d, k)).join(', ')}`);
  return parts.length ? parts.join('; ') : 'нет';
}
