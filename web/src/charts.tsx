// Small SVG charts, no library: grouped bars, stacked bars and lines over categories, with a value axis,
// category labels, a legend, and a tooltip on every bar and point (<title>); plus a sparkline.
import { fmtNumber } from './format';

export type ChartKind = 'bar' | 'stacked' | 'line';

export interface Series {
  name: string;
  values: (number | null)[];
}

export const PALETTE = [
  '#1f5fae',
  '#e07b00',
  '#2a9d55',
  '#c0262d',
  '#7a4fb5',
  '#0f8b8d',
  '#b5651d',
  '#d6489a',
  '#6b7a8f',
  '#9aa51b',
  '#3f88c5',
  '#8c2d19',
];

const W = 880;
const PAD = { top: 14, right: 16, left: 64 };

/** 1, 2 or 5 × 10ⁿ: a step that gives about `count` ticks up to `max` (whole steps for counts). */
export function niceTicks(max: number, integer = false, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const step = integer ? Math.max(1, Math.round(nice)) : nice;
  const ticks: number[] = [];
  for (let v = 0; v < max + step / 2; v += step) ticks.push(Math.round(v / step) * step);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

/** A label cut to `n` characters with «…». */
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function Chart({
  kind,
  categories,
  series,
  format = (v) => fmtNumber(v, 1),
  integer = false,
  title,
}: {
  kind: ChartKind;
  categories: string[];
  series: Series[];
  /** Text of a value (axis and tooltips). */
  format?: (v: number) => string;
  /** Values are counts: whole ticks on the axis. */
  integer?: boolean;
  /** What the chart shows, for screen readers. */
  title: string;
}) {
  const n = categories.length;
  const longest = Math.max(0, ...categories.map((c) => c.length));
  // Many or long category names are written at an angle.
  const slanted = n > 8 || longest * 7 > (W - PAD.left - PAD.right) / Math.max(n, 1);
  const bottom = slanted ? Math.min(20 + Math.min(longest, 24) * 5.2, 150) : 34;
  const H = 300 + bottom;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - bottom;
  const band = plotW / Math.max(n, 1);

  const sums = categories.map((_, i) => series.reduce((a, s) => a + Math.max(s.values[i] ?? 0, 0), 0));
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = kind === 'stacked' ? Math.max(0, ...sums) : Math.max(0, ...all);
  const ticks = niceTicks(max, integer);
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => PAD.top + plotH - (Math.max(v, 0) / top) * plotH;
  const xMid = (i: number) => PAD.left + band * (i + 0.5);
  const color = (j: number) => PALETTE[j % PALETTE.length]!;
  const tip = (i: number, s: Series, v: number | null) =>
    `${categories[i]}${series.length > 1 || kind === 'line' ? ` · ${s.name}` : ''}: ${v === null ? '—' : format(v)}`;

  const bars = () => {
    // Bars stay slim when there are few of them.
    const inner = Math.min(band * 0.78, kind === 'stacked' ? 72 : 56 * Math.max(series.length, 1));
    const w = kind === 'stacked' ? inner : inner / Math.max(series.length, 1);
    const out = [];
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < series.length; j++) {
        const s = series[j]!;
        const v = s.values[i] ?? null;
        if (v === null) continue;
        const x = kind === 'stacked' ? xMid(i) - inner / 2 : xMid(i) - inner / 2 + j * w;
        const y1 = kind === 'stacked' ? y(acc + Math.max(v, 0)) : y(v);
        const y0 = kind === 'stacked' ? y(acc) : y(0);
        acc += Math.max(v, 0);
        out.push(
          <rect
            key={`${i}-${j}`}
            data-testid="chart-bar"
            data-series={s.name}
            data-category={categories[i]}
            data-value={v}
            x={x + (kind === 'stacked' ? 0 : 0.5)}
            y={y1}
            width={Math.max(w - (kind === 'stacked' ? 0 : 1), 1)}
            height={Math.max(y0 - y1, 0)}
            fill={color(j)}
          >
            <title>{tip(i, s, v)}</title>
          </rect>,
        );
      }
    }
    return out;
  };

  const lines = () =>
    series.map((s, j) => {
      // A gap (no value) breaks the line.
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) return void (pen = false);
        d += `${pen ? 'L' : 'M'}${xMid(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      return (
        <g key={j} data-testid="chart-series" data-series={s.name}>
          <path data-testid="chart-line" d={d} fill="none" stroke={color(j)} stroke-width={2} />
          {s.values.map((v, i) =>
            v === null ? null : (
              <circle
                key={i}
                data-testid="chart-point"
                data-value={v}
                cx={xMid(i)}
                cy={y(v)}
                r={n > 40 ? 2.5 : 4}
                fill={color(j)}
              >
                <title>{tip(i, s, v)}</title>
              </circle>
            ),
          )}
        </g>
      );
    });

  const labelEvery = Math.ceil(n / 40);
  return (
    <figure class="an-chart" data-testid="chart-box">
      <svg
        data-testid="chart"
        data-kind={kind}
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-label={title}
        class="chart-svg"
      >
        <title>{title}</title>
        {ticks.map((t) => (
          <g key={t} class="chart-tick">
            <line
              x1={PAD.left}
              x2={W - PAD.right}
              y1={y(t)}
              y2={y(t)}
              class={t ? 'grid-line' : 'axis-line'}
            />
            <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
              {format(t)}
            </text>
          </g>
        ))}
        <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={PAD.top + plotH} class="axis-line" />
        {kind === 'line' ? lines() : bars()}
        {categories.map((c, i) =>
          i % labelEvery ? null : slanted ? (
            <text
              key={i}
              class="chart-cat"
              text-anchor="end"
              transform={`translate(${xMid(i)},${PAD.top + plotH + 12}) rotate(-35)`}
            >
              <title>{c}</title>
              {cut(c, 24)}
            </text>
          ) : (
            <text key={i} class="chart-cat" text-anchor="middle" x={xMid(i)} y={PAD.top + plotH + 18}>
              <title>{c}</title>
              {cut(c, Math.max(Math.floor(band / 7), 6))}
            </text>
          ),
        )}
      </svg>
      {series.length > 1 || kind === 'line' ? (
        <figcaption class="chart-legend" data-testid="chart-legend">
          {series.map((s, j) => (
            <span key={j} class="chart-legend-item" data-testid="chart-legend-item">
              <span class="chart-swatch" style={{ background: color(j) }} />
              {s.name}
            </span>
          ))}
        </figcaption>
      ) : null}
    </figure>
  );
}

/** A tiny line of values (the backlog day by day); the last point is marked. */
export function Sparkline({ values, title, alert }: { values: number[]; title: string; alert?: boolean }) {
  const w = 120;
  const h = 28;
  if (!values.length) return null;
  const max = Math.max(1, ...values);
  const x = (i: number) => (values.length === 1 ? w / 2 : 2 + (i / (values.length - 1)) * (w - 4));
  const y = (v: number) => h - 3 - (v / max) * (h - 6);
  const d = values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  const last = values.length - 1;
  return (
    <svg class="spark-line" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={title}>
      <title>{title}</title>
      <path d={d} fill="none" stroke={alert ? 'var(--red)' : 'var(--accent)'} stroke-width={1.5} />
      <circle cx={x(last)} cy={y(values[last]!)} r={2.5} fill={alert ? 'var(--red)' : 'var(--accent)'} />
    </svg>
  );
}
