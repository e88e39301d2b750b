// The problem map and the top recurring problems. The map is schematic: one hexagon per municipality,
// placed by the approximate position of its centre (src/domain/municipality-geo.ts), shaded by the measure;
// a click opens the inbox filtered by the municipality. Below: the same numbers as a table, then the
// recurring problems with their trend, weekly sparkline and incidents.
import { useState } from 'preact/hooks';
import { MUNICIPALITY_GEO, schematicLayout } from '../../../src/domain/municipality-geo.ts';
import { api } from '../api';
import { Empty, Select, WhenLoaded, useLoad } from '../components';
import { incidentNumber } from '../format';
import { useReference } from '../reference';
import { href, navigate, useRoute } from '../router';
import type { MapItem, MapResponse, Option, TopProblem, TopProblemsResponse } from '../types';

type Measure = MapResponse['measure'];
const MEASURES: Option[] = [
  { value: 'per10k', label: 'На 10 тыс. жителей' },
  { value: 'overdue_share', label: 'Доля просроченных' },
];
const MEASURE_SHORT: Record<Measure, string> = {
  per10k: 'На 10 тыс. жителей',
  overdue_share: 'Доля просроченных',
};
const PERIODS: Option[] = [
  { value: '7', label: 'Последние 7 дней' },
  { value: '30', label: 'Последние 30 дней' },
  { value: '90', label: 'Последние 90 дней' },
  { value: '365', label: 'Последний год' },
  { value: 'custom', label: 'Свой период' },
];
const DAY_MS = 86_400_000;

const decimal = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat('ru-RU');
const percent = new Intl.NumberFormat('ru-RU', { style: 'percent', maximumFractionDigits: 1 });

function fmtValue(measure: Measure, v: number | null): string {
  if (v === null) return 'нет данных';
  return measure === 'per10k' ? decimal.format(v) : percent.format(v);
}

/** `YYYY-MM-DD` in Barnaul time. */
function barnaulDay(t: number): string {
  return new Date(t + 7 * 3_600_000).toISOString().slice(0, 10);
}

/** The period of the query as instants: the last N days up to now, or whole Barnaul days from–to. */
function periodOf(q: URLSearchParams): { from: string; to: string } {
  const period = q.get('period') ?? '30';
  if (period === 'custom') {
    const now = Date.now();
    const fromDay = q.get('from') || barnaulDay(now - 30 * DAY_MS);
    const toDay = q.get('to') || barnaulDay(now);
    const from = new Date(`${fromDay}T00:00:00+07:00`);
    const to = new Date(new Date(`${toDay}T00:00:00+07:00`).getTime() + DAY_MS);
    if (!Number.isNaN(from.getTime()) && !Number.isNaN(to.getTime()))
      return { from: from.toISOString(), to: to.toISOString() };
  }
  const days = Number(period) > 0 ? Number(period) : 30;
  const to = Date.now();
  return { from: new Date(to - days * DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

export function ProblemsPage() {
  const ref = useReference();
  const route = useRoute();
  const q = route.query;
  const measure: Measure = q.get('measure') === 'overdue_share' ? 'overdue_share' : 'per10k';
  const period = q.get('period') ?? '30';
  const sector = q.get('sector') ?? '';
  const agency = q.get('agency') ?? '';
  const channel = q.get('channel') ?? '';

  function set(patch: Record<string, string>) {
    const next: Record<string, string> = {
      measure: measure === 'per10k' ? '' : measure,
      period: period === '30' ? '' : period,
      from: q.get('from') ?? '',
      to: q.get('to') ?? '',
      sector,
      agency,
      channel,
      ...patch,
    };
    if (next.period === '30') next.period = '';
    if (next.measure === 'per10k') next.measure = '';
    if (next.period !== 'custom') next.from = next.to = '';
    navigate(href('/problems', next), true);
  }

  const periodKey = JSON.stringify([period, q.get('from'), q.get('to')]);
  const map = useLoad(
    () => api.get<MapResponse>('/analytics/map', { measure, ...periodOf(q), sector, agency, channel }),
    [measure, periodKey, sector, agency, channel],
  );
  const top = useLoad(
    () => api.get<TopProblemsResponse>('/analytics/top-problems', { ...periodOf(q), sector, limit: 10 }),
    [periodKey, sector],
  );
  const custom = periodOf(q);
  // The inbox opened from here shows the incidents the map counted: the same filters and period.
  const inboxFilters = { sector, agency, channel, ...custom };

  return (
    <section class="problems">
      <div class="page-head">
        <h1>Карта проблем</h1>
      </div>
      <div class="filters">
        <Select
          testid="problems-period"
          value={period}
          options={PERIODS}
          onChange={(v) => set({ period: v })}
        />
        {period === 'custom' && (
          <>
            <label class="check">
              с
              <input
                type="date"
                data-testid="problems-from"
                value={q.get('from') || barnaulDay(new Date(custom.from).getTime())}
                onChange={(e) => set({ from: e.currentTarget.value })}
              />
            </label>
            <label class="check">
              по
              <input
                type="date"
                data-testid="problems-to"
                value={q.get('to') || barnaulDay(new Date(custom.to).getTime() - DAY_MS)}
                onChange={(e) => set({ to: e.currentTarget.value })}
              />
            </label>
          </>
        )}
        <Select
          testid="problems-sector"
          value={sector}
          empty="Все блоки"
          options={ref.sectorOptions()}
          onChange={(v) => set({ sector: v })}
        />
      </div>

      <h2>Муниципалитеты</h2>
      <div class="filters">
        <Select
          testid="problems-measure"
          value={measure}
          options={MEASURES}
          onChange={(v) => set({ measure: v })}
        />
        <Select
          testid="problems-agency"
          value={agency}
          empty="Все ведомства"
          options={ref.agencyOptions({ sector, keep: agency })}
          onChange={(v) => set({ agency: v })}
        />
        <Select
          testid="problems-channel"
          value={channel}
          empty="Все каналы"
          options={ref.channelOptions()}
          onChange={(v) => set({ channel: v })}
        />
      </div>
      <WhenLoaded list={map}>
        {(data) => (
          <div class={map.loading ? 'stale' : ''}>
            <ProblemMap data={data} inboxFilters={inboxFilters} />
            <MapTable data={data} inboxFilters={inboxFilters} />
          </div>
        )}
      </WhenLoaded>

      <h2>Повторяющиеся проблемы</h2>
      <p class="muted small">
        Инциденты об одном объекте (один адрес в муниципалитете) или на одну тему (один блок и муниципалитет,
        общие ключевые слова), от двух за период; тренд — сравнение с предыдущим периодом той же длины.
      </p>
      <WhenLoaded list={top}>
        {(data) => (
          <div class={top.loading ? 'stale' : ''}>
            <TopProblems items={data.items} />
          </div>
        )}
      </WhenLoaded>
    </section>
  );
}

// --- The map ---

const LAYOUT = schematicLayout();
const LABELS = new Map(MUNICIPALITY_GEO.map((g) => [g.code, g.label]));
/** Tile width in SVG units; hexagons are pointy-top, rows √3/2 of a width apart. */
const W = 72;
const R = W / Math.sqrt(3);
const ROW = (W * Math.sqrt(3)) / 2;
const PAD = 4;
const VIEW_W = LAYOUT.width * W + 2 * PAD;
const VIEW_H = (LAYOUT.rows - 1) * ROW + 2 * R + 2 * PAD;
const HEX = Array.from({ length: 6 }, (_, k) => {
  const a = ((60 * k - 90) * Math.PI) / 180;
  return `${((R - 1.5) * Math.cos(a)).toFixed(2)},${((R - 1.5) * Math.sin(a)).toFixed(2)}`;
}).join(' ');

/** Light to dark orange: more incidents, or more of them late, is darker. */
const RAMP: [number, number, number][] = [
  [255, 245, 235],
  [253, 208, 162],
  [253, 141, 60],
  [217, 72, 1],
  [127, 39, 4],
];
const NO_DATA = '#e4e7ec';

function color(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [RAMP[i]!, RAMP[i + 1]!];
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `rgb(${c.join(', ')})`;
}

/** Where a value sits between the legend's ends, 0..1; null for no value. */
function shadeOf(v: number | null, min: number | null, max: number | null): number | null {
  if (v === null || min === null || max === null) return null;
  if (max === min) return max > 0 ? 1 : 0;
  return (v - min) / (max - min);
}

function ProblemMap({ data, inboxFilters }: { data: MapResponse; inboxFilters: Record<string, string> }) {
  const [hover, setHover] = useState<string | null>(null);
  const items = new Map(data.items.map((i) => [i.code, i]));
  const open = (code: string) => navigate(href('/incidents', { municipality: code, ...inboxFilters }));
  const hovered = hover ? items.get(hover) : undefined;
  const hoveredTile = hover ? LAYOUT.tiles.find((t) => t.code === hover) : undefined;
  const centre = (t: { x: number; row: number }) => ({
    cx: PAD + W / 2 + t.x * W,
    cy: PAD + R + t.row * ROW,
  });

  return (
    <div class="pmap">
      <div class="pmap-canvas">
        <svg
          viewBox={`0 0 ${VIEW_W.toFixed(0)} ${VIEW_H.toFixed(0)}`}
          role="img"
          aria-label="Схема муниципалитетов Алтайского края"
          data-testid="problem-map"
        >
          {LAYOUT.tiles.map((t) => {
            const item = items.get(t.code);
            const shade = shadeOf(item?.value ?? null, data.min, data.max);
            const { cx, cy } = centre(t);
            const city = item?.kind === 'urban_okrug';
            return (
              <g
                key={t.code}
                class={`pmap-tile${city ? ' city' : ''}${hover === t.code ? ' hover' : ''}`}
                transform={`translate(${cx.toFixed(2)} ${cy.toFixed(2)})`}
                data-testid="map-tile"
                data-code={t.code}
                data-value={item?.value ?? ''}
                data-shade={shade === null ? '' : shade.toFixed(4)}
                role="link"
                tabIndex={0}
                aria-label={`${item?.name ?? t.code}: ${fmtValue(data.measure, item?.value ?? null)}`}
                onMouseEnter={() => setHover(t.code)}
                onMouseLeave={() => setHover((h) => (h === t.code ? null : h))}
                onFocus={() => setHover(t.code)}
                onBlur={() => setHover((h) => (h === t.code ? null : h))}
                onClick={() => open(t.code)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') open(t.code);
                }}
              >
                <polygon points={HEX} fill={shade === null ? NO_DATA : color(shade)} />
                {city && <circle cx={0} cy={-R / 2.6} r={2.6} class="pmap-dot" />}
                <text y={4} class={shade !== null && shade > 0.55 ? 'on-dark' : ''}>
                  {LABELS.get(t.code) ?? item?.shortName ?? t.code}
                </text>
              </g>
            );
          })}
        </svg>
        {hovered && hoveredTile && (
          <div
            class={`pmap-tooltip${tipAnchor(centre(hoveredTile).cx / VIEW_W)}`}
            data-testid="map-tooltip"
            style={{
              left: `${((centre(hoveredTile).cx / VIEW_W) * 100).toFixed(2)}%`,
              top: `${(((centre(hoveredTile).cy - R) / VIEW_H) * 100).toFixed(2)}%`,
            }}
          >
            <strong>{hovered.name}</strong>
            <div>
              {MEASURE_SHORT[data.measure]}:{' '}
              <b data-testid="map-tooltip-value">{fmtValue(data.measure, hovered.value)}</b>
            </div>
            <div class="muted">
              Инцидентов: {whole.format(hovered.incidents)}, просрочено: {whole.format(hovered.overdue)}
            </div>
            <div class="muted">Население: {whole.format(hovered.population)}</div>
          </div>
        )}
      </div>
      <Legend data={data} />
    </div>
  );
}

/** Near an edge the tooltip opens towards the middle instead of overflowing. */
function tipAnchor(x: number): string {
  return x < 0.15 ? ' from-left' : x > 0.85 ? ' from-right' : '';
}

function Legend({ data }: { data: MapResponse }) {
  const stops = RAMP.map((_, k) => color(k / (RAMP.length - 1))).join(', ');
  return (
    <div class="pmap-legend" data-testid="map-legend">
      <div class="muted small">
        {data.measure === 'per10k' ? 'Инцидентов на 10 тыс. жителей' : 'Доля просроченных инцидентов'}
      </div>
      <div class="pmap-scale">
        <span data-testid="legend-min">{data.min === null ? '—' : fmtValue(data.measure, data.min)}</span>
        <span class="pmap-ramp" style={{ background: `linear-gradient(to right, ${stops})` }} />
        <span data-testid="legend-max">{data.max === null ? '—' : fmtValue(data.measure, data.max)}</span>
      </div>
      <div class="pmap-keys small muted">
        <span>
          <span class="pmap-swatch" style={{ background: NO_DATA }} /> нет данных
        </span>
        <span>
          <span class="pmap-swatch city" /> городской округ
        </span>
        {data.unassigned.incidents > 0 && (
          <span data-testid="map-unassigned">
            Без муниципалитета: {whole.format(data.unassigned.incidents)}
          </span>
        )}
      </div>
      <div class="muted small">Схема: расположение по административным центрам, приблизительное.</div>
    </div>
  );
}

function MapTable({ data, inboxFilters }: { data: MapResponse; inboxFilters: Record<string, string> }) {
  const [all, setAll] = useState(false);
  const sorted = [...data.items].sort(
    (a, b) =>
      (b.value ?? -1) - (a.value ?? -1) || b.incidents - a.incidents || a.name.localeCompare(b.name, 'ru'),
  );
  const withIncidents = sorted.filter((i) => i.incidents > 0);
  const rows = all ? sorted : withIncidents;
  return (
    <>
      {rows.length === 0 ? (
        <Empty text="За период инцидентов нет" />
      ) : (
        <table class="grid narrow pmap-table" data-testid="map-table">
          <thead>
            <tr>
              <th>Муниципалитет</th>
              <th class="c-n">Население</th>
              <th class="c-n">Инцидентов</th>
              <th class="c-n">Просрочено</th>
              <th class="c-n">{MEASURE_SHORT[data.measure]}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i: MapItem) => (
              <tr key={i.code} data-testid="map-row" data-code={i.code}>
                <td>
                  <a href={href('/incidents', { municipality: i.code, ...inboxFilters })}>{i.name}</a>
                </td>
                <td class="c-n">{whole.format(i.population)}</td>
                <td class="c-n">{whole.format(i.incidents)}</td>
                <td class={i.overdue ? 'c-n text-red' : 'c-n'}>{whole.format(i.overdue)}</td>
                <td class="c-n">{fmtValue(data.measure, i.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {withIncidents.length < sorted.length && (
        <button type="button" class="link" data-testid="map-table-all" onClick={() => setAll(!all)}>
          {all
            ? 'Только муниципалитеты с инцидентами'
            : `Показать все ${sorted.length} (без инцидентов: ${sorted.length - withIncidents.length})`}
        </button>
      )}
    </>
  );
}

// --- Top problems ---

const TREND: Record<TopProblem['trend'], { sign: string; text: string; cls: string }> = {
  up: { sign: '▲', text: 'растёт', cls: 'trend-up' },
  down: { sign: '▼', text: 'снижается', cls: 'trend-down' },
  flat: { sign: '▶', text: 'без изменений', cls: 'trend-flat' },
  new: { sign: '●', text: 'новая', cls: 'trend-new' },
};
const SHOWN_IDS = 8;

function TopProblems({ items }: { items: TopProblem[] }) {
  const ref = useReference();
  if (!items.length) return <Empty text="Повторяющихся проблем за период нет" />;
  return (
    <table class="grid top-problems" data-testid="top-problems">
      <thead>
        <tr>
          <th class="c-n">№</th>
          <th>Проблема</th>
          <th class="c-n">Инцидентов</th>
          <th class="c-n" title="В предыдущем периоде той же длины">
            Ранее
          </th>
          <th>Тренд</th>
          <th>По неделям</th>
          <th>Инциденты</th>
        </tr>
      </thead>
      <tbody>
        {items.map((p, n) => {
          const trend = TREND[p.trend];
          return (
            <tr key={p.key} data-testid="problem-row" data-trend={p.trend} data-kind={p.kind}>
              <td class="c-n">{n + 1}</td>
              <td class="c-summary">
                <div class="summary" data-testid="problem-title">
                  {p.title || '—'}
                </div>
                <div class="muted small">
                  <span class="tag tag-grey">{p.kind === 'object' ? 'Объект' : 'Тема'}</span>{' '}
                  {p.municipalityName ||
                    (p.municipality ? ref.municipality(p.municipality) : 'Без муниципалитета')}
                  {' · '}
                  {p.sector ? p.sectorName || ref.sector(p.sector) : 'разные блоки'}
                </div>
              </td>
              <td class="c-n">
                {p.incidents}
                <div class="muted small" title="Сообщений">
                  {p.messages} сообщ.
                </div>
              </td>
              <td class="c-n">{p.previous}</td>
              <td>
                <span
                  class={`trend ${trend.cls}`}
                  data-testid="problem-trend"
                  title={`Было ${p.previous}, стало ${p.incidents}`}
                >
                  {trend.sign} {trend.text}
                </span>
              </td>
              <td>
                <Sparkline weekly={p.weekly} />
              </td>
              <td class="problem-links">
                {p.incidentIds.slice(0, SHOWN_IDS).map((id) => (
                  <a key={id} href={`#/incidents/${id}`} data-testid="problem-incident">
                    {incidentNumber(id)}
                  </a>
                ))}
                {p.incidentIds.length > SHOWN_IDS && (
                  <span class="muted small"> и ещё {p.incidentIds.length - SHOWN_IDS}</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Incidents per week as a small line; the last point marked; every week in the tooltip. */
function Sparkline({ weekly }: { weekly: TopProblem['weekly'] }) {
  const w = 110;
  const h = 28;
  const max = Math.max(1, ...weekly.map((x) => x.incidents));
  const step = weekly.length > 1 ? (w - 6) / (weekly.length - 1) : 0;
  const pts = weekly.map((x, k) => [3 + k * step, h - 3 - ((h - 6) * x.incidents) / max] as const);
  const last = pts.at(-1);
  const text = weekly
    .map((x) => `неделя с ${x.week.split('-').reverse().join('.')}: ${x.incidents}`)
    .join('\n');
  return (
    <svg class="sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} data-testid="problem-sparkline">
      <title>{text}</title>
      <polyline points={pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')} />
      {last && <circle cx={last[0]} cy={last[1]} r={2.5} />}
    </svg>
  );
}
