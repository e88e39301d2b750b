// Small shared pieces: error/loading/empty lines, pagination, the incident table, the data loader,
// the select of options.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api';
import { fmtDateTime } from './format';
import { navigate } from './router';
import { useReference } from './reference';
import type { IncidentItem, Option } from './types';

export function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" data-testid="error">
      {typeof error === 'string' ? error : errorText(error)}
    </div>
  );
}

export function Notice({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <div class="notice" role="status" data-testid="notice">
      {text}
    </div>
  );
}

export function Loading({ text = 'Загрузка…' }: { text?: string }) {
  return (
    <div class="loading" data-testid="loading">
      {text}
    </div>
  );
}

export function Empty({ text = 'Ничего не найдено' }: { text?: string }) {
  return (
    <div class="empty" data-testid="empty">
      {text}
    </div>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again; `silent` keeps the current data on screen (live refresh). */
  reload: (silent?: boolean) => void;
  setData: (d: T) => void;
}

/** Runs `load` whenever `deps` change; answers of superseded requests are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback((silent: boolean) => {
    const my = ++seq.current;
    if (!silent) setLoading(true);
    loadRef
      .current()
      .then((d) => {
        if (my !== seq.current) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (my !== seq.current) return;
        setError(e);
      })
      .finally(() => {
        if (my === seq.current) setLoading(false);
      });
  }, []);

  useEffect(() => run(false), deps);
  // Data set here (the answer of a write) is newer than any load still in flight: those are dropped.
  const set = useCallback((d: T) => {
    ++seq.current;
    setData(d);
    setError(null);
    setLoading(false);
  }, []);
  return { data, error, loading, reload: (silent = false) => run(silent), setData: set };
}

/** Calls `fn` every `ms` while `on` (live refresh). */
export function useEvery(on: boolean, ms: number, fn: () => void) {
  useEffect(() => {
    if (!on) return;
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }, [on, ms]);
}

/**
 * The error line, then «Загрузка…» until the first answer, then `children` with the data.
 * `error`, when set, is shown instead of the loader's own.
 */
export function WhenLoaded<T>({
  list,
  error,
  children,
}: {
  list: Pick<Loaded<T>, 'data' | 'error' | 'loading'>;
  error?: unknown;
  children: (data: T) => ComponentChildren;
}) {
  return (
    <>
      <ErrorLine error={error ?? list.error} />
      {list.loading && !list.data ? <Loading /> : list.data ? children(list.data) : null}
    </>
  );
}

export function Pager({
  total,
  offset,
  limit,
  onChange,
}: {
  total: number;
  offset: number;
  limit: number;
  onChange: (offset: number) => void;
}) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return (
    <div class="pager">
      <button
        type="button"
        data-testid="page-prev"
        disabled={offset <= 0}
        onClick={() => onChange(Math.max(0, offset - limit))}
      >
        ← Назад
      </button>
      <span data-testid="total">
        {from}–{to} из {total}
      </span>
      <button
        type="button"
        data-testid="page-next"
        disabled={offset + limit >= total}
        onClick={() => onChange(offset + limit)}
      >
        Вперёд →
      </button>
    </div>
  );
}

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const ref = useReference();
  return <span class={`badge st-${status}`}>{label || ref.status(status)}</span>;
}

export function Deadline({
  due,
  overdue,
  paused,
}: {
  due: string | null;
  overdue?: boolean;
  paused?: boolean;
}) {
  return (
    <span class={overdue ? 'deadline overdue' : 'deadline'}>
      {fmtDateTime(due)}
      {overdue && <span class="tag tag-red"> просрочен</span>}
      {paused && <span class="tag tag-grey"> приостановлен</span>}
    </span>
  );
}

/** Compact incident table used by the inbox and the SLA monitor. */
export function IncidentTable({ items }: { items: IncidentItem[] }) {
  const ref = useReference();
  if (!items.length) return <Empty />;
  return (
    <table class="grid incidents">
      <thead>
        <tr>
          <th class="c-num">Номер</th>
          <th>Статус</th>
          <th>Блок</th>
          <th>Муниципалитет</th>
          <th>Ведомство</th>
          <th>Суть обращения</th>
          <th class="c-n" title="Сообщений / авторов">
            Сообщ.
          </th>
          <th class="c-date">Срок решения</th>
        </tr>
      </thead>
      <tbody>
        {items.map((i) => {
          const go = () => navigate(`#/incidents/${i.id}`);
          const messages = i.messageCount ?? i.messagesCount;
          const authors = i.authorCount ?? i.authorsCount;
          return (
            <tr
              key={i.id}
              data-testid="incident-row"
              data-id={i.id}
              class={i.overdue ? 'row-overdue clickable' : 'clickable'}
              tabIndex={0}
              onClick={go}
              onKeyDown={(e) => {
                if (e.key === 'Enter') go();
              }}
            >
              <td class="c-num">
                <a href={`#/incidents/${i.id}`} onClick={(e) => e.stopPropagation()}>
                  {i.number}
                </a>
              </td>
              <td>
                <StatusBadge status={i.status} label={i.statusLabel} />
              </td>
              <td>{i.sectorName || ref.sector(i.sector)}</td>
              <td>{i.municipalityName || ref.municipality(i.municipality)}</td>
              <td>{i.agencyName || ref.agency(i.agencyId)}</td>
              <td class="c-summary">
                <div class="summary">{i.summary || '—'}</div>
                {i.address && <div class="muted small">{i.address}</div>}
              </td>
              <td class="c-n">
                {messages ?? '—'}
                {authors !== undefined && <span class="muted"> / {authors}</span>}{' '}
                {!!i.negativeCount && (
                  <span class="tag tag-red" title="Негативных сообщений">
                    {i.negativeCount} негат.
                  </span>
                )}
              </td>
              <td class="c-date">
                <Deadline due={i.resolutionDue} overdue={i.overdue} paused={i.paused} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
    </label>
  );
}

/** A select of options; `empty` is the label of a first option with the value '' («Все блоки»). */
export function Select({
  value,
  options,
  onChange,
  empty,
  disabled,
  testid,
}: {
  value: string;
  options: Option[];
  onChange: (value: string) => void;
  empty?: string;
  disabled?: boolean;
  testid?: string;
}) {
  return (
    <select
      data-testid={testid}
      value={value}
      disabled={disabled}
      onChange={(e) => onChange(e.currentTarget.value)}
    >
      {empty !== undefined && <option value="">{empty}</option>}
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}
