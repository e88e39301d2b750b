/**
 * XLSX exports of the analytics: a slice (sheet «Сводная» laid out as the workspace's pivot, sheet «Данные»
 * with the flat rows), the agency ratings (a sheet per level, weights and the breakdown of every score) and
 * the workload (sector blocks and agencies with the backlog day by day). Codes become the names staff read:
 * reference names from the snapshot, status and channel labels, Barnaul dates.
 */
import { INCIDENT_STATUS_LABELS } from '../domain/incident-status.ts';
import { CHANNEL_LABELS, SECTORS, type ChannelKind } from '../domain/types.ts';
import type { RatingItem, RatingWeights, WorkloadRow } from '../store/analytics.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import {
  buildPivot,
  describeFilters,
  DIMENSION_LABELS,
  MEASURE_LABELS,
  measureKind,
  PERIOD_LABELS,
  RATING_COMPONENT_LABELS,
  RATING_FORMULA_RU,
  RATING_LEVEL_LABELS,
  sliceLabeler,
  type Labeler,
  type ReferenceLookup,
  type SliceData,
  type ValueKind,
} from './analytics.view.ts';
import type { XlsxCell, XlsxSheet } from '../responders/xlsx.ts';

export function referenceLookup(ref: ReferenceSnapshot): ReferenceLookup {
  return {
    sector: (c) => ref.sectorBlocks.get(c)?.name ?? SECTORS.find((s) => s.code === c)?.name ?? c,
    municipality: (c) => ref.municipalities.get(c)?.shortName ?? c,
    agency: (id) => ref.agencies.get(id)?.shortName ?? id,
    status: (c) => (INCIDENT_STATUS_LABELS as Record<string, string>)[c] ?? c,
    channel: (c) => CHANNEL_LABELS[c as ChannelKind] ?? c,
  };
}

const FORMATS: Record<ValueKind, string> = {
  count: '#,##0',
  hours: '0.0',
  share: '0.0%',
  score: '0.00',
};

const barnaulDate = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});
const barnaulDateTime = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** «01.01.2026 — 30.01.2026»: `to` is exclusive, so the last day shown is the one before it. */
export function periodText(from: Date | string, to: Date | string): string {
  const f = new Date(from);
  const t = new Date(new Date(to).getTime() - 1);
  return `${barnaulDate.format(f)} — ${barnaulDate.format(t)}`;
}

const generated = (): [string, string] => [
  'Сформировано',
  `${barnaulDateTime.format(new Date())} (время Барнаула)`,
];

/** Values as stored: hours and scores rounded to hundredths, shares as fractions (shown as %). */
const cellValue = (v: number | null, kind: ValueKind): XlsxCell =>
  v === null ? null : kind === 'count' || kind === 'share' ? v : Math.round(v * 100) / 100;

export function sliceSheets(
  slice: SliceData,
  filters: Record<string, string[] | undefined>,
  ref: ReferenceLookup,
): XlsxSheet[] {
  const label: Labeler = sliceLabeler(slice.period, ref);
  const kind = measureKind(slice.measure);
  const fmt = FORMATS[kind];
  const measureName = MEASURE_LABELS[slice.measure] ?? slice.measure;
  const p = buildPivot(slice, label);
  const meta: [string, string][] = [
    ['Показатель', measureName],
    [
      'Период',
      `${periodText(slice.from, slice.to)}${slice.period ? `, ${PERIOD_LABELS[slice.period]}` : ''}`,
    ],
    ['Разрезы', slice.by.length ? slice.by.map((d) => DIMENSION_LABELS[d] ?? d).join(' × ') : 'нет'],
    ['Фильтры', describeFilters(filters, label)],
    generated(),
  ];

  const stub = Math.max(p.rowDims.length, 1);
  const stubHead = p.rowDims.length ? p.rowDims.map((d) => DIMENSION_LABELS[d] ?? d) : [''];
  const withTotal = p.rows.some((r) => r.total !== null);
  const head: XlsxCell[][] = [];
  if (p.colDim)
    head.push([
      ...stubHead.map(() => null),
      `${DIMENSION_LABELS[p.colDim] ?? p.colDim} →`,
      ...p.cols.slice(1).map(() => null),
    ]);
  head.push([...stubHead, ...p.cols.map((c) => c.label), ...(withTotal ? ['Итого'] : [])]);
  const body = p.rows.map((r) => [
    ...(r.keys.length ? r.keys.map((k) => k.label) : ['Всего']),
    ...r.cells.map((v) => cellValue(v, kind)),
    ...(withTotal ? [r.total] : []),
  ]);
  const foot: XlsxCell[][] = p.colTotals
    ? [
        [
          'Итого',
          ...Array.from({ length: stub - 1 }, () => null),
          ...p.colTotals,
          ...(withTotal ? [p.grandTotal] : []),
        ],
      ]
    : [];
  const width = stub + p.cols.length + (withTotal ? 1 : 0);
  const pivotFormats = Array.from({ length: width }, (_, i) => (i < stub ? undefined : fmt));

  const keys = [...slice.by, ...(slice.period ? ['period'] : [])];
  const flat: XlsxSheet = {
    name: 'Данные',
    title: `Отклик — ${measureName}: данные среза`,
    meta: meta.slice(0, 2),
    head: [[...keys.map((d) => DIMENSION_LABELS[d] ?? d), measureName, 'Записей в расчёте']],
    body: [...slice.rows]
      .sort((a, b) => keys.reduce((c, d) => c || String(a.keys[d]).localeCompare(String(b.keys[d])), 0))
      .map((r) => [...keys.map((d) => label(d, r.keys[d])), cellValue(r.value, kind), r.n]),
    formats: [...keys.map(() => undefined), fmt, FORMATS.count],
    stub: keys.length,
  };
  return [
    {
      name: 'Сводная',
      title: `Отклик — ${measureName}`,
      meta,
      head,
      body,
      foot,
      formats: pivotFormats,
      stub,
    },
    flat,
  ];
}

export interface RankedLevel {
  level: string;
  items: (RatingItem & { rank: number; previousRank: number | null; change: number | null })[];
}

export function ratingSheets(r: {
  from: string;
  to: string;
  previous: { from: string; to: string };
  weights: RatingWeights;
  levels: RankedLevel[];
}): XlsxSheet[] {
  const comps = Object.keys(r.weights) as (keyof RatingWeights)[];
  const meta: [string, string][] = [
    ['Период', periodText(r.from, r.to)],
    ['Предыдущий период', periodText(r.previous.from, r.previous.to)],
    ...comps.map((k): [string, string] => [`Вес: ${RATING_COMPONENT_LABELS[k] ?? k}`, String(r.weights[k])]),
    ['Формула', RATING_FORMULA_RU],
    generated(),
  ];
  const fixed = [
    ['Место', FORMATS.count],
    ['Ведомство', undefined],
    ['Баллы (0–100)', '0.00'],
    ['Место в предыдущем периоде', FORMATS.count],
    ['Изменение места', '+0;-0;0'],
    ['Инцидентов', FORMATS.count],
    ['Медиана первого ответа, ч', '0.0'],
    ['Доля решённых в срок', FORMATS.share],
    ['Средняя оценка', '0.00'],
    ['Доля открытых повторно', FORMATS.share],
    ['Доля с первым ответом', FORMATS.share],
    ['Доля решённых с результатом', FORMATS.share],
  ] as const;
  return r.levels.map((lvl) => ({
    name: lvl.level === 'regional' ? 'Региональные органы' : lvl.level === 'municipal' ? 'ОМСУ' : lvl.level,
    title: `Отклик — рейтинг: ${RATING_LEVEL_LABELS[lvl.level] ?? lvl.level}`,
    meta,
    head: [
      [
        ...fixed.map(([h]) => h),
        ...comps.map((k) => `${RATING_COMPONENT_LABELS[k] ?? k}: значение 0–1`),
        ...comps.map((k) => `${RATING_COMPONENT_LABELS[k] ?? k}: баллы`),
      ],
    ],
    body: lvl.items.map((i) => [
      i.rank,
      i.name,
      i.score,
      i.previousRank,
      i.change,
      i.incidents,
      cellValue(i.medianFirstResponseHours, 'hours'),
      i.withinDeadlineShare,
      cellValue(i.meanSatisfaction, 'score'),
      i.reopenedShare,
      i.answeredShare,
      i.resultShare,
      ...comps.map((k) => i.breakdown[k].value),
      ...comps.map((k) => i.breakdown[k].points),
    ]),
    formats: [...fixed.map(([, f]) => f), ...comps.map(() => '0.000'), ...comps.map(() => '0.00')],
    stub: 2,
  }));
}

export function workloadSheets(w: {
  staffingGrowthDays: number;
  sectors: WorkloadRow[];
  agencies: WorkloadRow[];
}): XlsxSheet[] {
  const now = Date.now();
  const sheet = (name: string, what: string, rows: WorkloadRow[]): XlsxSheet => {
    const days = rows[0]?.backlogTrend.length ?? 0;
    const dayHeads = Array.from(
      { length: days },
      (_, i) => `В работе на ${barnaulDate.format(new Date(now - (days - 1 - i) * 86_400_000))}`,
    );
    return {
      name,
      title: `Отклик — нагрузка: ${name.toLowerCase()}`,
      meta: [
        ['Сигнал о нехватке сотрудников', `очередь росла каждый день последние ${w.staffingGrowthDays} дн.`],
        generated(),
      ],
      head: [
        [
          what,
          'В работе',
          'Поступает в день (среднее за 7 дней)',
          'Просрочено',
          'Сотрудников',
          'В работе на сотрудника',
          'Нужны сотрудники',
          ...dayHeads,
        ],
      ],
      body: rows.map((r) => [
        r.name,
        r.backlog,
        r.incomingPerDay,
        r.overdue,
        r.staff,
        r.perStaff,
        r.staffingFlag ? 'Да' : 'Нет',
        ...r.backlogTrend,
      ]),
      formats: [undefined, FORMATS.count, '0.00', FORMATS.count, FORMATS.count, '0.00'],
    };
  };
  return [
    sheet('Профильные блоки', 'Профильный блок', w.sectors),
    sheet('Ведомства', 'Ведомство', w.agencies),
  ];
}
