// Analytics: slices (a measure by up to two dimensions and a period, filters, a chart and the pivot table,
// CSV/XLSX of what is shown), the agency ratings (per level, rank, change, the breakdown of every score)
// and the workload (backlog, incoming, per staff member, overdue, the staffing flag). The state of each
// tab is in the address (#/analytics/<tab>?…), so a view can be bookmarked and shared.
import { useState } from 'preact/hooks';
import {
  buildPivot,
  DIMENSION_LABELS,
  isAdditive,
  MEASURE_LABELS,
  measureKind,
  PERIOD_LABELS,
  RATING_COMPONENT_LABELS,
  RATING_FORMULA_RU,
  RATING_LEVEL_LABELS,
  SLICE_SENTIMENT_LABELS,
  sliceLabeler,
  type Pivot,
  type SliceData,
} from '../../../src/api/analytics.view.ts';
import { api, downloadFile } from '../api';
import { Chart, Sparkline, type ChartKind, type Series } from '../charts';
import { Empty, ErrorLine, Field, Select, useLoad, WhenLoaded } from '../components';
import { fmtDay, fmtNumber, fmtPercent } from '../format';
import { useReference, type RefData } from '../reference';
import { href, navigate, useRoute } from '../router';
import type { Option } from '../types';

type Query = Record<string, string | undefined>;

const TABS = [
  { key: 'slices', title: 'Срезы' },
  { key: 'ratings', title: 'Рейтинг ведомств' },
  { key: 'workload', title: 'Нагрузка' },
] as const;

export function AnalyticsPage() {
  const route = useRoute();
  const tab = TABS.find((t) => t.key === route.parts[1])?.key ?? 'slices';
  return (
    <section>
      <div class="page-head">
        <h1>Аналитика</h1>
      </div>
      <nav class="subnav" aria-label="Разделы аналитики">
        {TABS.map((t) => (
          <a
            key={t.key}
            href={`#/analytics/${t.key}`}
            data-testid={`tab-${t.key}`}
            class={t.key === tab ? 'active' : ''}
          >
            {t.title}
          </a>
        ))}
      </nav>
      {tab === 'ratings' ? (
        <RatingsTab query={route.query} />
      ) : tab === 'workload' ? (
        <WorkloadTab />
      ) : (
        <SlicesTab query={route.query} />
      )}
    </section>
  );
}

// ---------------------------------------------------------------- dates (Barnaul days, UTC+7 all year)

const barnaulDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Barnaul' });
const today = () => barnaulDay.format(new Date());
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const isDay = (v: string | null): v is string => !!v && /^\d{4}-\d{2}-\d{2}$/.test(v);

/** The days chosen (last 30 days by default) and the API's from/to (the end day included). */
function dateRange(q: URLSearchParams) {
  const to = isDay(q.get('to')) ? q.get('to')! : today();
  const from = isDay(q.get('from')) ? q.get('from')! : addDays(to, -29);
  return { from, to, api: { from: `${from}T00:00:00+07:00`, to: `${addDays(to, 1)}T00:00:00+07:00` } };
}

function DateRange({
  from,
  to,
  onChange,
}: {
  from: string;
  to: string;
  onChange: (patch: { from?: string; to?: string }) => void;
}) {
  return (
    <>
      <Field label="С">
        <input
          type="date"
          data-testid="date-from"
          value={from}
          max={to}
          onChange={(e) => isDay(e.currentTarget.value) && onChange({ from: e.currentTarget.value })}
        />
      </Field>
      <Field label="По">
        <input
          type="date"
          data-testid="date-to"
          value={to}
          min={from}
          onChange={(e) => isDay(e.currentTarget.value) && onChange({ to: e.currentTarget.value })}
        />
      </Field>
    </>
  );
}

// ---------------------------------------------------------------- downloads

function Downloads({ path, query, formats }: { path: string; query: Query; formats: ('csv' | 'xlsx')[] }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = (format: string) => {
    setBusy(format);
    setError(null);
    downloadFile(path, { ...query, format })
      .catch((e: unknown) => setError(e))
      .finally(() => setBusy(null));
  };
  return (
    <div class="downloads">
      {formats.map((f) => (
        <button
          key={f}
          type="button"
          data-testid={`download-${f}`}
          disabled={busy !== null}
          onClick={() => run(f)}
        >
          {busy === f ? 'Формируется…' : `Скачать ${f.toUpperCase()}`}
        </button>
      ))}
      <ErrorLine error={error} />
    </div>
  );
}

// ---------------------------------------------------------------- slices

const MEASURES = Object.keys(MEASURE_LABELS);
const DIMENSIONS = ['sector', 'municipality', 'agency', 'channel', 'sentiment', 'status'];
const MESSAGE_MEASURES = ['messages', 'authors'];
const CHART_KINDS: { key: ChartKind; title: string }[] = [
  { key: 'bar', title: 'Столбцы' },
  { key: 'stacked', title: 'Столбцы с накоплением' },
  { key: 'line', title: 'Линии' },
];
/** More series than this would not be readable: the first ones (largest totals) are drawn. */
const MAX_SERIES = 12;

interface SliceState {
  measure: string;
  by: string[];
  period: string;
  chart: ChartKind;
  filters: Record<string, string[]>;
}

function readSlice(q: URLSearchParams): SliceState {
  const measure = MEASURES.includes(q.get('measure') ?? '') ? q.get('measure')! : 'incidents';
  const by = q.has('by')
    ? [...new Set((q.get('by') ?? '').split(',').filter((d) => DIMENSIONS.includes(d)))].slice(0, 2)
    : ['sector'];
  const period = ['day', 'week', 'month'].includes(q.get('period') ?? '') ? q.get('period')! : '';
  let chart = (CHART_KINDS.find((c) => c.key === q.get('chart'))?.key ?? 'bar') as ChartKind;
  if (chart === 'stacked' && !isAdditive(measure)) chart = 'bar';
  const filters: Record<string, string[]> = {};
  for (const d of DIMENSIONS) filters[d] = (q.get(d) ?? '').split(',').filter(Boolean);
  return { measure, by, period, chart, filters };
}

function valueFormat(measure: string): (v: number | null) => string {
  switch (measureKind(measure)) {
    case 'hours':
      return (v) => fmtNumber(v, 1);
    case 'share':
      return (v) => fmtPercent(v);
    case 'score':
      return (v) => fmtNumber(v, 2);
    default:
      return (v) => fmtNumber(v);
  }
}

function labelerOf(ref: RefData, period: string | null) {
  return sliceLabeler(period, {
    sector: (c) => ref.sector(c),
    municipality: (c) => ref.municipality(c),
    agency: (id) => ref.agency(id),
    status: (c) => ref.status(c),
    channel: (c) => ref.channel(c),
  });
}

/** The chart of a pivot: periods run along the axis; otherwise the rows do and the columns are series. */
function chartOf(p: Pivot, measureName: string): { categories: string[]; series: Series[]; hidden: number } {
  const rowName = (r: Pivot['rows'][number]) => r.keys.map((k) => k.label).join(' · ');
  let categories: string[];
  let series: Series[];
  if (p.colDim === 'period') {
    categories = p.cols.map((c) => c.label);
    series = p.rows.map((r) => ({ name: rowName(r) || measureName, values: r.cells }));
  } else if (p.colDim) {
    categories = p.rows.map(rowName);
    series = p.cols.map((c, j) => ({ name: c.label, values: p.rows.map((r) => r.cells[j] ?? null) }));
  } else {
    categories = p.rows.map((r) => rowName(r) || 'Всего');
    series = [{ name: measureName, values: p.rows.map((r) => r.cells[0] ?? null) }];
  }
  return { categories, series: series.slice(0, MAX_SERIES), hidden: Math.max(series.length - MAX_SERIES, 0) };
}

function SlicesTab({ query }: { query: URLSearchParams }) {
  const ref = useReference();
  const st = readSlice(query);
  const range = dateRange(query);

  function update(patch: Partial<SliceState> & { from?: string; to?: string }) {
    const next = { ...st, ...patch, filters: { ...st.filters, ...patch.filters } };
    const q: Record<string, string | undefined> = {
      measure: next.measure === 'incidents' ? undefined : next.measure,
      by: next.by.length === 1 && next.by[0] === 'sector' ? undefined : next.by.join(',') || 'none',
      period: next.period || undefined,
      from: patch.from ?? (query.get('from') || undefined),
      to: patch.to ?? (query.get('to') || undefined),
      chart: next.chart === 'bar' ? undefined : next.chart,
    };
    for (const d of DIMENSIONS) q[d] = next.filters[d]?.join(',') || undefined;
    navigate(href('/analytics/slices', q), true);
  }

  const apiQuery: Query = {
    measure: st.measure,
    by: st.by.join(',') || undefined,
    period: st.period || undefined,
    from: range.api.from,
    to: range.api.to,
  };
  for (const d of DIMENSIONS) apiQuery[d] = st.filters[d]?.join(',') || undefined;
  const key = JSON.stringify(apiQuery);
  const slice = useLoad(() => api.get<SliceData>('/analytics/slice', apiQuery), [key]);

  const dimOptions = (except?: string): Option[] =>
    DIMENSIONS.filter((d) => d !== except).map((d) => ({ value: d, label: DIMENSION_LABELS[d] ?? d }));
  const sentiments = MESSAGE_MEASURES.includes(st.measure)
    ? ['negative', 'neutral', 'positive']
    : ['negative', 'not_negative'];
  const filterOptions: Record<string, Option[]> = {
    sector: ref.sectorOptions(),
    municipality: ref.municipalityOptions(),
    agency: ref.agencyOptions({}),
    channel: ref.channelOptions(),
    sentiment: sentiments.map((s) => ({ value: s, label: SLICE_SENTIMENT_LABELS[s] ?? s })),
    status: ref.statusOptions(),
  };
  const anyFilter = DIMENSIONS.some((d) => st.filters[d]?.length);

  return (
    <div data-testid="slices">
      <div class="slice-controls">
        <Field label="Показатель">
          <Select
            testid="slice-measure"
            value={st.measure}
            options={MEASURES.map((m) => ({ value: m, label: MEASURE_LABELS[m] ?? m }))}
            onChange={(measure) =>
              update({ measure, chart: st.chart === 'stacked' && !isAdditive(measure) ? 'bar' : st.chart })
            }
          />
        </Field>
        <Field label="Строки (разрез 1)">
          <Select
            testid="slice-dim1"
            value={st.by[0] ?? ''}
            empty="— без разреза —"
            options={dimOptions()}
            onChange={(d) => update({ by: d ? [d, ...st.by.slice(1).filter((x) => x !== d)] : [] })}
          />
        </Field>
        <Field label="Столбцы (разрез 2)">
          <Select
            testid="slice-dim2"
            value={st.by[1] ?? ''}
            empty="— нет —"
            disabled={!st.by[0]}
            options={dimOptions(st.by[0])}
            onChange={(d) => update({ by: [st.by[0]!, ...(d ? [d] : [])] })}
          />
        </Field>
        <Field label="Период">
          <Select
            testid="slice-period"
            value={st.period}
            empty="за весь срок"
            options={Object.entries(PERIOD_LABELS).map(([value, label]) => ({ value, label }))}
            onChange={(period) => update({ period })}
          />
        </Field>
        <DateRange from={range.from} to={range.to} onChange={(p) => update(p)} />
      </div>
      <div class="filters slice-filters">
        {DIMENSIONS.map((d) => (
          <MultiSelect
            key={d}
            testid={`slice-filter-${d}`}
            label={DIMENSION_LABELS[d] ?? d}
            options={filterOptions[d] ?? []}
            value={st.filters[d] ?? []}
            onChange={(v) => update({ filters: { [d]: v } })}
          />
        ))}
        {anyFilter && (
          <button
            type="button"
            class="link"
            data-testid="slice-filters-reset"
            onClick={() => update({ filters: Object.fromEntries(DIMENSIONS.map((d) => [d, []])) })}
          >
            Сбросить фильтры
          </button>
        )}
      </div>
      <div class="toolbar slice-toolbar">
        <div class="segmented" role="group" aria-label="Вид диаграммы">
          {CHART_KINDS.map((c) => {
            const off = c.key === 'stacked' && !isAdditive(st.measure);
            return (
              <button
                key={c.key}
                type="button"
                data-testid={`chart-kind-${c.key}`}
                class={st.chart === c.key ? 'active' : ''}
                aria-pressed={st.chart === c.key}
                disabled={off}
                title={off ? 'Накопление имеет смысл только для количеств' : undefined}
                onClick={() => update({ chart: c.key })}
              >
                {c.title}
              </button>
            );
          })}
        </div>
        <Downloads path="/analytics/slice" query={apiQuery} formats={['csv', 'xlsx']} />
      </div>
      <WhenLoaded list={slice}>
        {(data) => <SliceView data={data} chart={st.chart} stale={slice.loading} />}
      </WhenLoaded>
    </div>
  );
}

function SliceView({ data, chart, stale }: { data: SliceData; chart: ChartKind; stale: boolean }) {
  const ref = useReference();
  const pivot = buildPivot(data, labelerOf(ref, data.period));
  const fmt = valueFormat(data.measure);
  const measureName = MEASURE_LABELS[data.measure] ?? data.measure;
  if (!data.rows.length) return <Empty text="Нет данных за выбранный период и фильтры" />;
  const c = chartOf(pivot, measureName);
  return (
    <div class={stale ? 'stale' : ''}>
      {data.truncated && (
        <p class="small text-amber" data-testid="slice-truncated">
          Групп больше, чем помещается в срез: показаны 5 000 крупнейших, итоги неполные. Сузьте период,
          фильтры или выберите более крупный шаг времени.
        </p>
      )}
      <div class="box chart-box">
        <div class="chart-title">
          {measureName}
          <span class="muted">
            {' '}
            · {fmtDay(firstDay(data.from))} — {fmtDay(lastDay(data.to))}
          </span>
        </div>
        <Chart
          kind={chart}
          categories={c.categories}
          series={c.series}
          format={(v) => fmt(v)}
          integer={measureKind(data.measure) === 'count'}
          title={`${measureName}: диаграмма`}
        />
        {c.hidden > 0 && (
          <div class="muted small" data-testid="chart-hidden">
            На диаграмме первые {MAX_SERIES} рядов; ещё {c.hidden} — в таблице.
          </div>
        )}
      </div>
      <PivotTable pivot={pivot} format={fmt} />
    </div>
  );
}

/** The Barnaul day of a period's start. */
const firstDay = (fromIso: string) => barnaulDay.format(new Date(fromIso));

/** The last day of a period whose `to` is exclusive (midnight in Barnaul). */
function lastDay(toIso: string): string {
  return barnaulDay.format(new Date(new Date(toIso).getTime() - 1));
}

function PivotTable({ pivot: p, format }: { pivot: Pivot; format: (v: number | null) => string }) {
  const stubs = p.rowDims.length ? p.rowDims.map((d) => DIMENSION_LABELS[d] ?? d) : [''];
  const withTotal = p.rows.some((r) => r.total !== null);
  return (
    <div class="pivot-wrap">
      <table class="grid pivot" data-testid="pivot">
        <thead>
          {p.colDim ? (
            <>
              <tr>
                {stubs.map((s, i) => (
                  <th key={i} rowSpan={2}>
                    {s}
                  </th>
                ))}
                <th colSpan={p.cols.length} class="c-center">
                  {DIMENSION_LABELS[p.colDim] ?? p.colDim}
                </th>
                {withTotal && (
                  <th rowSpan={2} class="c-n">
                    Итого
                  </th>
                )}
              </tr>
              <tr>
                {p.cols.map((c, j) => (
                  <th key={j} class="c-n" data-testid="pivot-col">
                    {c.label}
                  </th>
                ))}
              </tr>
            </>
          ) : (
            <tr>
              {stubs.map((s, i) => (
                <th key={i}>{s}</th>
              ))}
              <th class="c-n" data-testid="pivot-col">
                {p.cols[0]?.label}
              </th>
            </tr>
          )}
        </thead>
        <tbody>
          {p.rows.map((r, i) => (
            <tr key={i} data-testid="pivot-row">
              {(r.keys.length ? r.keys.map((k) => k.label) : ['Всего']).map((l, k) => (
                <th key={k} class="pivot-head" data-testid="pivot-row-head">
                  {l}
                </th>
              ))}
              {r.cells.map((v, j) => (
                <td key={j} class="c-n" data-testid="pivot-cell">
                  {format(v)}
                </td>
              ))}
              {withTotal && (
                <td class="c-n pivot-total" data-testid="pivot-row-total">
                  {format(r.total)}
                </td>
              )}
            </tr>
          ))}
        </tbody>
        {p.colTotals && (
          <tfoot>
            <tr data-testid="pivot-total-row">
              <th colSpan={stubs.length}>Итого</th>
              {p.colTotals.map((v, j) => (
                <th key={j} class="c-n" data-testid="pivot-col-total">
                  {format(v)}
                </th>
              ))}
              {withTotal && <th class="c-n">{format(p.grandTotal)}</th>}
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}

/** A dropdown of checkboxes («Муниципалитет: все» / «Барнаул, Бийск» / «выбрано: 5»). */
function MultiSelect({
  label,
  options,
  value,
  onChange,
  testid,
}: {
  label: string;
  options: Option[];
  value: string[];
  onChange: (value: string[]) => void;
  testid: string;
}) {
  const [search, setSearch] = useState('');
  const chosen = new Set(value);
  // A value from the address that the lists do not have (an inactive agency) is still shown.
  const all = [
    ...options,
    ...value.filter((v) => !options.some((o) => o.value === v)).map((v) => ({ value: v, label: v })),
  ];
  const name = (v: string) => all.find((o) => o.value === v)?.label ?? v;
  const summary = !value.length
    ? 'все'
    : value.length <= 2
      ? value.map(name).join(', ')
      : `выбрано: ${value.length}`;
  const needle = search.trim().toLowerCase();
  const shown = needle ? all.filter((o) => o.label.toLowerCase().includes(needle)) : all;
  return (
    <details class={value.length ? 'multi-select multi-select-on' : 'multi-select'} data-testid={testid}>
      <summary>
        {label}: <b>{summary}</b>
      </summary>
      <div class="multi-pop">
        {all.length > 12 && (
          <input
            type="search"
            placeholder="Найти…"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        )}
        {value.length > 0 && (
          <button type="button" class="link" onClick={() => onChange([])}>
            Снять все
          </button>
        )}
        <div class="multi-list">
          {shown.map((o) => (
            <label key={o.value} class="check">
              <input
                type="checkbox"
                value={o.value}
                data-testid={`${testid}-option`}
                checked={chosen.has(o.value)}
                onChange={(e) =>
                  onChange(e.currentTarget.checked ? [...value, o.value] : value.filter((v) => v !== o.value))
                }
              />
              {o.label}
            </label>
          ))}
          {!shown.length && <span class="muted">Ничего не найдено</span>}
        </div>
      </div>
    </details>
  );
}

// ---------------------------------------------------------------- ratings

interface RatingItem {
  agencyId: string;
  name: string;
  level: string;
  rank: number;
  previousRank: number | null;
  change: number | null;
  incidents: number;
  score: number;
  medianFirstResponseHours: number | null;
  withinDeadlineShare: number | null;
  meanSatisfaction: number | null;
  reopenedShare: number | null;
  answeredShare: number | null;
  resultShare: number | null;
  breakdown: Record<string, { value: number; points: number }>;
}

interface Ratings {
  from: string;
  to: string;
  previous: { from: string; to: string };
  weights: Record<string, number>;
  levels: { level: string; items: RatingItem[] }[];
}

/** The measured value behind each component, as people read it. */
function rawMetric(k: string, i: RatingItem): string {
  switch (k) {
    case 'quantity':
      return `${fmtNumber(i.incidents)} инц.`;
    case 'speed_first_response':
      return i.medianFirstResponseHours === null ? '—' : `${fmtNumber(i.medianFirstResponseHours, 1)} ч`;
    case 'speed_within_deadline':
      return fmtPercent(i.withinDeadlineShare);
    case 'quality_satisfaction':
      return i.meanSatisfaction === null ? 'нет оценок' : `${fmtNumber(i.meanSatisfaction, 2)} из 5`;
    case 'quality_not_reopened':
      return `повторно: ${fmtPercent(i.reopenedShare)}`;
    case 'completeness_answered':
      return fmtPercent(i.answeredShare);
    case 'completeness_result':
      return fmtPercent(i.resultShare);
    default:
      return '—';
  }
}

function Change({ item }: { item: RatingItem }) {
  if (item.change === null)
    return (
      <span class="muted" data-testid="rating-change" title="В предыдущем периоде не было инцидентов">
        новое
      </span>
    );
  const title = `В предыдущем периоде: ${item.previousRank} место`;
  if (item.change > 0)
    return (
      <span class="change-up" data-testid="rating-change" title={title}>
        ▲ +{item.change}
      </span>
    );
  if (item.change < 0)
    return (
      <span class="change-down" data-testid="rating-change" title={title}>
        ▼ −{-item.change}
      </span>
    );
  return (
    <span class="muted" data-testid="rating-change" title={title}>
      = 0
    </span>
  );
}

function RatingsTab({ query }: { query: URLSearchParams }) {
  const range = dateRange(query);
  const apiQuery = { from: range.api.from, to: range.api.to };
  const data = useLoad(() => api.get<Ratings>('/analytics/ratings', apiQuery), [JSON.stringify(apiQuery)]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const setRange = (p: { from?: string; to?: string }) =>
    navigate(
      href('/analytics/ratings', {
        from: p.from ?? (query.get('from') || undefined),
        to: p.to ?? (query.get('to') || undefined),
      }),
      true,
    );

  return (
    <div data-testid="ratings">
      <div class="toolbar slice-toolbar">
        <div class="slice-controls">
          <DateRange from={range.from} to={range.to} onChange={setRange} />
        </div>
        <Downloads path="/analytics/ratings" query={apiQuery} formats={['xlsx']} />
      </div>
      <WhenLoaded list={data}>
        {(r) => {
          const comps = Object.keys(r.weights);
          const total = comps.reduce((a, k) => a + (r.weights[k] ?? 0), 0) || 1;
          return (
            <div class={data.loading ? 'stale' : ''}>
              <div class="box" data-testid="rating-weights">
                <div class="muted small">
                  Сравнение с предыдущим периодом: {fmtDay(firstDay(r.previous.from))} —{' '}
                  {fmtDay(lastDay(r.previous.to))}
                </div>
                <div class="rating-weights">
                  {comps.map((k) => (
                    <span key={k} class="rating-weight" data-testid="rating-weight" data-key={k}>
                      {RATING_COMPONENT_LABELS[k] ?? k}: <b>{fmtPercent((r.weights[k] ?? 0) / total)}</b>
                    </span>
                  ))}
                </div>
                <div class="muted small">{RATING_FORMULA_RU}</div>
              </div>
              {r.levels.map((lvl) => (
                <div key={lvl.level} data-testid={`rating-level-${lvl.level}`}>
                  <h2>{RATING_LEVEL_LABELS[lvl.level] ?? lvl.level}</h2>
                  {lvl.items.length === 0 ? (
                    <Empty text="Нет инцидентов за период" />
                  ) : (
                    <table class="grid ratings">
                      <thead>
                        <tr>
                          <th class="c-n">Место</th>
                          <th>Ведомство</th>
                          <th class="c-n">Баллы</th>
                          <th>Изменение</th>
                          <th class="c-n">Инцидентов</th>
                          <th class="c-n">Первый ответ, ч</th>
                          <th class="c-n">В срок</th>
                          <th class="c-n">Оценка</th>
                          <th />
                        </tr>
                      </thead>
                      <tbody>
                        {lvl.items.map((i) => {
                          const isOpen = open.has(i.agencyId);
                          return [
                            <tr
                              key={i.agencyId}
                              class="clickable"
                              data-testid="rating-row"
                              data-agency={i.agencyId}
                              data-rank={i.rank}
                              tabIndex={0}
                              aria-expanded={isOpen}
                              onClick={() => toggle(i.agencyId)}
                              onKeyDown={(e) => e.key === 'Enter' && toggle(i.agencyId)}
                            >
                              <td class="c-n rank" data-testid="rating-rank">
                                {i.rank}
                              </td>
                              <td>{i.name}</td>
                              <td class="c-n" data-testid="rating-score">
                                <div class="rating-score">
                                  <span
                                    class="rating-score-bar"
                                    style={{ width: `${Math.max(0, Math.min(i.score, 100))}%` }}
                                  />
                                  <span>{fmtNumber(i.score, 1)}</span>
                                </div>
                              </td>
                              <td>
                                <Change item={i} />
                              </td>
                              <td class="c-n">{fmtNumber(i.incidents)}</td>
                              <td class="c-n">{fmtNumber(i.medianFirstResponseHours, 1)}</td>
                              <td class="c-n">{fmtPercent(i.withinDeadlineShare)}</td>
                              <td class="c-n">{fmtNumber(i.meanSatisfaction, 2)}</td>
                              <td class="c-n">
                                <button
                                  type="button"
                                  class="link"
                                  data-testid="rating-expand"
                                  aria-label={isOpen ? 'Скрыть расчёт' : 'Показать расчёт'}
                                  onClick={(e) => {
                                    e.stopPropagation();
                                    toggle(i.agencyId);
                                  }}
                                >
                                  {isOpen ? 'Скрыть ▴' : 'Расчёт ▾'}
                                </button>
                              </td>
                            </tr>,
                            isOpen && (
                              <tr key={`${i.agencyId}-b`} class="rating-breakdown-row">
                                <td />
                                <td colSpan={8}>
                                  <table class="rating-breakdown" data-testid="rating-breakdown">
                                    <thead>
                                      <tr>
                                        <th>Составляющая</th>
                                        <th class="c-n">Показатель</th>
                                        <th class="c-n">Значение (0–1)</th>
                                        <th class="c-n">Вес</th>
                                        <th class="c-n">Баллы</th>
                                      </tr>
                                    </thead>
                                    <tbody>
                                      {comps.map((k) => (
                                        <tr key={k} data-testid="breakdown-row" data-key={k}>
                                          <td>{RATING_COMPONENT_LABELS[k] ?? k}</td>
                                          <td class="c-n">{rawMetric(k, i)}</td>
                                          <td class="c-n">{fmtNumber(i.breakdown[k]?.value, 3)}</td>
                                          <td class="c-n">{fmtPercent((r.weights[k] ?? 0) / total)}</td>
                                          <td class="c-n" data-testid="breakdown-points">
                                            {fmtNumber(i.breakdown[k]?.points, 2)}
                                          </td>
                                        </tr>
                                      ))}
                                    </tbody>
                                    <tfoot>
                                      <tr>
                                        <th colSpan={4}>Итого баллов</th>
                                        <th class="c-n">{fmtNumber(i.score, 2)}</th>
                                      </tr>
                                    </tfoot>
                                  </table>
                                </td>
                              </tr>
                            ),
                          ];
                        })}
                      </tbody>
                    </table>
                  )}
                </div>
              ))}
            </div>
          );
        }}
      </WhenLoaded>
    </div>
  );
}

// ---------------------------------------------------------------- workload

interface WorkloadRow {
  key: string;
  name: string;
  backlog: number;
  incomingPerDay: number;
  overdue: number;
  staff: number;
  perStaff: number | null;
  backlogTrend: number[];
  staffingFlag: boolean;
}

interface Workload {
  staffingGrowthDays: number;
  sectors: WorkloadRow[];
  agencies: WorkloadRow[];
}

function WorkloadTable({
  rows,
  what,
  testid,
  days,
}: {
  rows: WorkloadRow[];
  what: string;
  testid: string;
  days: number;
}) {
  if (!rows.length) return <Empty text="Нет открытых инцидентов" />;
  const sorted = [...rows].sort(
    (a, b) =>
      Number(b.staffingFlag) - Number(a.staffingFlag) ||
      b.backlog - a.backlog ||
      a.name.localeCompare(b.name, 'ru'),
  );
  return (
    <table class="grid workload" data-testid={testid}>
      <thead>
        <tr>
          <th>{what}</th>
          <th class="c-n">В работе</th>
          <th class="c-n" title="Среднее за 7 дней">
            Поступает в день
          </th>
          <th class="c-n">Сотрудников</th>
          <th class="c-n">На сотрудника</th>
          <th class="c-n">Просрочено</th>
          <th>Динамика очереди</th>
          <th>Сигнал</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((r) => (
          <tr
            key={r.key}
            data-testid="workload-row"
            data-key={r.key}
            data-flag={r.staffingFlag ? 'true' : 'false'}
            class={r.staffingFlag ? 'row-flag' : ''}
          >
            <td>{r.name}</td>
            <td class="c-n" data-testid="workload-backlog">
              {fmtNumber(r.backlog)}
            </td>
            <td class="c-n">{fmtNumber(r.incomingPerDay, 2)}</td>
            <td class="c-n">{r.staff ? fmtNumber(r.staff) : <span class="muted">нет</span>}</td>
            <td class="c-n">{fmtNumber(r.perStaff, 1)}</td>
            <td class={r.overdue ? 'c-n text-red' : 'c-n'} data-testid="workload-overdue">
              {fmtNumber(r.overdue)}
            </td>
            <td>
              <Sparkline
                values={r.backlogTrend}
                alert={r.staffingFlag}
                title={`В работе по дням: ${r.backlogTrend.map((v) => fmtNumber(v)).join(' → ')}`}
              />
            </td>
            <td>
              {r.staffingFlag && (
                <span
                  class="tag tag-red"
                  data-testid="staffing-flag"
                  title={`Очередь росла каждый день последние ${days} дн.`}
                >
                  Нужны сотрудники
                </span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function WorkloadTab() {
  const data = useLoad(() => api.get<Workload>('/analytics/workload'), []);
  return (
    <div data-testid="workload">
      <div class="toolbar slice-toolbar">
        <span class="muted">
          Открытые инциденты сейчас; сигнал «Нужны сотрудники» — очередь росла каждый день
          {data.data ? ` последние ${data.data.staffingGrowthDays} дн.` : ''}
        </span>
        <Downloads path="/analytics/workload" query={{}} formats={['xlsx']} />
      </div>
      <WhenLoaded list={data}>
        {(w) => (
          <div class={data.loading ? 'stale' : ''}>
            <h2>По профильным блокам</h2>
            <WorkloadTable
              rows={w.sectors}
              what="Профильный блок"
              testid="workload-sectors"
              days={w.staffingGrowthDays}
            />
            <h2>По ведомствам</h2>
            <WorkloadTable
              rows={w.agencies}
              what="Ведомство"
              testid="workload-agencies"
              days={w.staffingGrowthDays}
            />
          </div>
        )}
      </WhenLoaded>
    </div>
  );
}
