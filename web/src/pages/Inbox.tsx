// The inbox: filters (kept in the hash query so that "back" restores them), the incident table,
// pagination, and live refresh from the event stream.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, IncidentTable, Loading, Pager, useLoad } from '../components';
import { OPEN_STATUSES, SENTIMENT_LABELS } from '../format';
import { useReference } from '../reference';
import { href, navigate, rememberList, type Route } from '../router';
import { useIncidentStream } from '../stream';
import type { IncidentItem, Page } from '../types';

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

  const agencies = ref.data.agencies.filter(
    (a) =>
      a.id === filters.agency ||
      ((!filters.sector || !a.sector || a.sector === filters.sector) &&
        (!filters.municipality || !a.municipality || a.municipality === filters.municipality)),
  );
  const openValue = OPEN_STATUSES.join(',');
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
        <select
          data-testid="filter-status"
          value={filters.status}
          onChange={(e) => setFilters({ status: e.currentTarget.value })}
        >
          <option value="">Все статусы</option>
          <option value={openValue}>Открытые</option>
          {ref.statuses().map((s) => (
            <option key={s.code} value={s.code}>
              {s.label}
            </option>
          ))}
          {filters.status &&
            filters.status !== openValue &&
            !ref.statuses().some((s) => s.code === filters.status) && (
              <option value={filters.status}>{filters.status}</option>
            )}
        </select>
        <select
          data-testid="filter-sector"
          value={filters.sector}
          onChange={(e) => setFilters({ sector: e.currentTarget.value })}
        >
          <option value="">Все блоки</option>
          {ref.data.sectors.map((s) => (
            <option key={s.code} value={s.code}>
              {s.name}
            </option>
          ))}
        </select>
        <select
          data-testid="filter-municipality"
          value={filters.municipality}
          onChange={(e) => setFilters({ municipality: e.currentTarget.value })}
        >
          <option value="">Все муниципалитеты</option>
          {ref.data.municipalities.map((m) => (
            <option key={m.code} value={m.code}>
              {m.shortName}
            </option>
          ))}
        </select>
        <select
          data-testid="filter-agency"
          value={filters.agency}
          onChange={(e) => setFilters({ agency: e.currentTarget.value })}
        >
          <option value="">Все ведомства</option>
          {agencies.map((a) => (
            <option key={a.id} value={a.id}>
              {a.shortName}
            </option>
          ))}
        </select>
        <select
          data-testid="filter-channel"
          value={filters.channel}
          onChange={(e) => setFilters({ channel: e.currentTarget.value })}
        >
          <option value="">Все каналы</option>
          {ref.data.channels.map((c) => (
            <option key={c.code} value={c.code}>
              {c.label}
            </option>
          ))}
        </select>
        <select
          data-testid="filter-sentiment"
          value={filters.sentiment}
          onChange={(e) => setFilters({ sentiment: e.currentTarget.value })}
        >
          <option value="">Любая тональность</option>
          {Object.entries(SENTIMENT_LABELS).map(([code, name]) => (
            <option key={code} value={code}>
              {name}
            </option>
          ))}
        </select>
        <label class="check">
          <input
            type="checkbox"
            data-testid="filter-overdue"
            checked={filters.overdue === 'true'}
            onChange={(e) => setFilters({ overdue: e.currentTarget.checked ? 'true' : '' })}
          />
          Просроченные
        </label>
        <select data-testid="sort" value={sort} onChange={(e) => setFilters({ sort: e.currentTarget.value })}>
          <option value="deadline">По сроку решения</option>
          <option value="-updated">По дате обновления</option>
        </select>
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
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data ? (
        <div class={list.loading ? 'stale' : ''}>
          <IncidentTable items={list.data.items} />
          {list.data.total > 0 || offset > 0 ? (
            <Pager
              total={list.data.total}
              offset={offset}
              limit={LIMIT}
              onChange={(o) => setFilters({ offset: o ? String(o) : '' })}
            />
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
