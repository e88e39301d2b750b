// The inbox: filters (kept in the hash query so that "back" restores them), the incident table,
// pagination, and live refresh from the event stream.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { IncidentTable, Pager, Select, useLoad, WhenLoaded } from '../components';
import { fmtDate, labelOptions, OPEN_STATUSES, SENTIMENT_LABELS } from '../format';
import { useReference } from '../reference';
import { href, navigate, rememberList, type Route } from '../router';
import { useIncidentStream } from '../stream';
import type { IncidentItem, Option, Page } from '../types';

const LIMIT = 50;
const FILTER_KEYS = [
  'status',
  'sector',
  'municipality',
  'agency',
  'channel',
  'sentiment',
  'overdue',
  'q',
  'sort',
  // Created in [from, to): set by a link from the problem map, shown as a removable chip.
  'from',
  'to',
];
const SENTIMENTS = labelOptions(SENTIMENT_LABELS);
const SORTS: Option[] = [
  { value: 'deadline', label: 'По сроку решения' },
  { value: '-updated', label: 'По дате обновления' },
];

export function InboxPage({ route }: { route: Route }) {
  const ref = useReference();
  const q = route.query;
  const filters: Record<string, string> = {};
  for (const k of FILTER_KEYS) filters[k] = q.get(k) ?? '';
  const offset = Math.max(0, Number(q.get('offset')) || 0);
  const sort = filters.sort || 'deadline';
  rememberList(location.hash);

  const key = JSON.stringify([filters, offset]);
  const list = useLoad(
    () =>
      api.get<Page<IncidentItem>>('/incidents', {
        status: filters.status,
        sector: filters.sector,
        municipality: filters.municipality,
        agency: filters.agency,
        channel: filters.channel,
        sentiment: filters.sentiment,
        overdue: filters.overdue === 'true' ? 'true' : undefined,
        q: filters.q.trim(),
        from: filters.from || undefined,
        to: filters.to || undefined,
        sort,
        limit: LIMIT,
        offset,
      }),
    [key],
  );
  useIncidentStream(() => list.reload(true));

  /** Any change of filters starts from the first page unless the patch sets `offset` itself. */
  function setFilters(patch: Record<string, string>) {
    const next: Record<string, string> = { ...filters, ...patch };
    if (next.sort === 'deadline') next.sort = '';
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(next)) if (v) query[k] = v;
    navigate(href('/incidents', query), true);
  }

  // Search: applied on Enter or 400 ms after the last keystroke.
  const [search, setSearch] = useState(filters.q);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => setSearch(filters.q), [filters.q]);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  function onSearchInput(v: string) {
    setSearch(v);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setFilters({ q: v }), 400);
  }
  function onSearchKey(e: KeyboardEvent) {
    if (e.key === 'Enter') {
      if (timer.current) clearTimeout(timer.current);
      setFilters({ q: (e.currentTarget as HTMLInputElement).value });
    }
  }

  const statuses = [{ value: OPEN_STATUSES.join(','), label: 'Открытые' }, ...ref.statusOptions()];
  // A status from the address that is not in the list still shows as itself.
  if (filters.status && !statuses.some((s) => s.value === filters.status))
    statuses.push({ value: filters.status, label: filters.status });
  /** The filter selects, in their order: the query key, the label of «any», the choices. */
  const selects: { key: string; empty: string; options: Option[] }[] = [
    { key: 'status', empty: 'Все статусы', options: statuses },
    { key: 'sector', empty: 'Все блоки', options: ref.sectorOptions() },
    { key: 'municipality', empty: 'Все муниципалитеты', options: ref.municipalityOptions() },
    {
      key: 'agency',
      empty: 'Все ведомства',
      options: ref.agencyOptions({
        sector: filters.sector,
        municipality: filters.municipality,
        keep: filters.agency,
      }),
    },
    { key: 'channel', empty: 'Все каналы', options: ref.channelOptions() },
    { key: 'sentiment', empty: 'Любая тональность', options: SENTIMENTS },
  ];
  const anyFilter = FILTER_KEYS.some((k) => k !== 'sort' && filters[k]);

  return (
    <section>
      <div class="page-head">
        <h1>Входящие инциденты</h1>
        {list.data && (
          <span class="muted" data-testid="inbox-total">
            Всего: {list.data.total}
          </span>
        )}
      </div>
      <div class="filters">
        <input
          type="search"
          class="search"
          data-testid="search"
          placeholder="Поиск по тексту обращений…"
          value={search}
          onInput={(e) => onSearchInput(e.currentTarget.value)}
          onKeyDown={onSearchKey}
        />
        {selects.map(({ key, empty, options }) => (
          <Select
            key={key}
            testid={`filter-${key}`}
            value={filters[key]}
            empty={empty}
            options={options}
            onChange={(v) => setFilters({ [key]: v })}
          />
        ))}
        <label class="check">
          <input
            type="checkbox"
            data-testid="filter-overdue"
            checked={filters.overdue === 'true'}
            onChange={(e) => setFilters({ overdue: e.currentTarget.checked ? 'true' : '' })}
          />
          Просроченные
        </label>
        <Select testid="sort" value={sort} options={SORTS} onChange={(v) => setFilters({ sort: v })} />
        {(filters.from || filters.to) && (
          <span class="tag tag-grey" data-testid="filter-period">
            Созданы: {periodText(filters.from, filters.to)}{' '}
            <button
              type="button"
              class="link"
              aria-label="Убрать период"
              onClick={() => setFilters({ from: '', to: '' })}
            >
              ✕
            </button>
          </span>
        )}
        {anyFilter && (
          <button
            type="button"
            class="link"
            data-testid="filters-reset"
            onClick={() => {
              setSearch('');
              navigate(href('/incidents', sort !== 'deadline' ? { sort } : {}), true);
            }}
          >
            Сбросить фильтры
          </button>
        )}
      </div>
      <WhenLoaded list={list}>
        {(data) => (
          <div class={list.loading ? 'stale' : ''}>
            <IncidentTable items={data.items} />
            {data.total > 0 || offset > 0 ? (
              <Pager
                total={data.total}
                offset={offset}
                limit={LIMIT}
                onChange={(o) => setFilters({ offset: o ? String(o) : '' })}
              />
            ) : null}
          </div>
        )}
      </WhenLoaded>
    </section>
  );
}

/** «01.11.2026 – 30.11.2026» for [from, to) given as instants (the end day is the one before `to`). */
function periodText(from: string, to: string): string {
  const lastDay = (iso: string) => fmtDate(new Date(new Date(iso).getTime() - 1).toISOString());
  if (from && to) return `${fmtDate(from)} – ${lastDay(to)}`;
  return from ? `с ${fmtDate(from)}` : `до ${lastDay(to)}`;
}
