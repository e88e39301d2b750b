// Shared pieces of the settings pages: the table of rows, per-row inline editing with save / reset,
// read-only rows after a 403, the small cells (checkbox, row buttons), the search box, and the
// create / delete calls with their busy, error and forbidden state.
import type { ComponentChildren, VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../api';
import { referenceChanged } from '../../reference';
import { Empty, ErrorLine, WhenLoaded, type Loaded } from '../../components';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface RowEdit<T> {
  value: T;
  set: <K extends keyof T>(key: K, v: T[K]) => void;
  dirty: boolean;
  busy: boolean;
  error: unknown;
  saved: boolean;
  /** The server refused a change with 403: the row is shown read-only from then on. */
  readOnly: boolean;
  /** Resolves true when stored. */
  save: () => Promise<boolean>;
  reset: () => void;
}

/** What a cell bound to the field `K` of an edited row needs (any `RowEdit` with that field fits). */
export interface FieldEdit<K extends string, V> {
  value: Record<K, V>;
  readOnly: boolean;
  set: (key: K, v: V) => void;
}

/**
 * Inline editing of one row: `save` gets only the changed fields and may return the stored row.
 */
export function useRowEdit<T extends object>(
  item: T,
  save: (patch: Partial<T>, full: T) => Promise<unknown>,
): RowEdit<T> {
  const [base, setBase] = useState<T>(item);
  const [edits, setEdits] = useState<Partial<T>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [readOnly, setReadOnly] = useState(false);

  useEffect(() => {
    setBase(item);
    setEdits({});
  }, [item]);

  const value = { ...base, ...edits } as T;
  const patch: Partial<T> = {};
  for (const k of Object.keys(edits) as (keyof T)[]) if (!same(edits[k], base[k])) patch[k] = edits[k];
  const dirty = Object.keys(patch).length > 0;

  return {
    value,
    dirty,
    busy,
    error,
    saved,
    readOnly,
    set(key, v) {
      setSaved(false);
      setError(null);
      setEdits((e) => ({ ...e, [key]: v }));
    },
    reset() {
      setEdits({});
      setError(null);
    },
    async save() {
      if (!dirty) return true;
      setBusy(true);
      setError(null);
      setSaved(false);
      try {
        const r = await save(patch, value);
        const stored =
          r && typeof r === 'object' && !Array.isArray(r) ? ({ ...value, ...(r as Partial<T>) } as T) : value;
        setBase(stored);
        setEdits({});
        setSaved(true);
        referenceChanged();
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 403) {
          setReadOnly(true);
          setEdits({});
        }
        setError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}

/**
 * The last cell of an editable row: save / undo, status, errors. With `onEditing` (the users page)
 * the row opens for editing by a button («Изменить», `user-edit`) first, and saving or undoing closes it.
 */
export function RowActions<T>({
  row,
  editing,
  onEditing,
}: {
  row: RowEdit<T>;
  editing?: boolean;
  onEditing?: (on: boolean) => void;
}) {
  return (
    <td class="c-actions">
      {row.readOnly ? (
        <span class="tag tag-grey" data-testid="row-readonly" title="Изменение недоступно для вашей роли">
          только просмотр
        </span>
      ) : (
        <>
          {onEditing && !editing && (
            <button type="button" class="small-btn" data-testid="user-edit" onClick={() => onEditing(true)}>
              Изменить
            </button>
          )}
          <button
            type="button"
            class="small-btn primary"
            data-testid="row-save"
            disabled={!row.dirty || row.busy}
            onClick={() => void row.save().then((ok) => ok && onEditing?.(false))}
          >
            Сохранить
          </button>
          {(row.dirty || editing) && (
            <button
              type="button"
              class="small-btn"
              data-testid="row-reset"
              disabled={row.busy}
              onClick={() => {
                row.reset();
                onEditing?.(false);
              }}
            >
              Отменить
            </button>
          )}
          {row.saved && !row.dirty && <span class="ok-text small">Сохранено</span>}
        </>
      )}
      <ErrorLine error={row.error} />
    </td>
  );
}

/** The «active» checkbox cell of a row with an `active` field. */
export function ActiveCell({ row }: { row: FieldEdit<'active', boolean> }) {
  return (
    <td class="c-center">
      <input
        type="checkbox"
        data-testid="row-active"
        checked={row.value.active}
        disabled={row.readOnly}
        onChange={(e) => row.set('active', e.currentTarget.checked)}
      />
    </td>
  );
}

/** A cell with a text input. */
export function TextCell({
  value,
  onChange,
  disabled,
  class: cls,
  placeholder,
  testid,
}: {
  value: string;
  onChange: (v: string) => void;
  disabled?: boolean;
  class?: string;
  placeholder?: string;
  testid?: string;
}) {
  return (
    <td>
      <input
        class={cls}
        data-testid={testid}
        value={value}
        placeholder={placeholder}
        disabled={disabled}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    </td>
  );
}

/** The Telegram chat cell of a sector or an agency row ('' stores null). */
export function TelegramCell({
  row,
  class: cls,
}: {
  row: FieldEdit<'telegramChatId', string | null>;
  class: string;
}) {
  return (
    <TextCell
      class={cls}
      testid="row-telegram"
      placeholder="не задан"
      value={row.value.telegramChatId ?? ''}
      disabled={row.readOnly}
      onChange={(v) => row.set('telegramChatId', orNull(v))}
    />
  );
}

/** An editable row: its cells, then save / undo. */
export function SettingsRow<T>({
  id,
  row,
  class: cls,
  children,
}: {
  id: string | number;
  row: RowEdit<T>;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <tr data-testid="settings-row" data-id={id} class={cls}>
      {children}
      <RowActions row={row} />
    </tr>
  );
}

/** A column head: its text, or the text and a class. The last (actions) column is added. */
export type Column = string | { label: string; class: string };

/**
 * The table of a settings page: the error line, «Загрузка…», «Ничего не найдено» when `items` is
 * empty, else one `row` each.
 */
export function SettingsTable<T>({
  list,
  items,
  columns,
  row,
  error,
  empty,
  narrow,
}: {
  list: Pick<Loaded<unknown>, 'data' | 'error' | 'loading'>;
  items: T[];
  columns: Column[];
  row: (item: T) => VNode;
  /** Shown instead of the loader's error when set. */
  error?: unknown;
  empty?: string;
  narrow?: boolean;
}) {
  return (
    <WhenLoaded list={list} error={error}>
      {() =>
        items.length === 0 ? (
          <Empty text={empty} />
        ) : (
          <table class={narrow ? 'grid narrow' : 'grid'} data-testid="settings-table">
            <thead>
              <tr>
                {columns.map((c) =>
                  typeof c === 'string' ? (
                    <th key={c}>{c}</th>
                  ) : (
                    <th key={c.label} class={c.class}>
                      {c.label}
                    </th>
                  ),
                )}
                <th />
              </tr>
            </thead>
            <tbody>{items.map((item) => row(item))}</tbody>
          </table>
        )
      }
    </WhenLoaded>
  );
}

/** The search box of a settings page head. */
export function SearchBox({
  value,
  onChange,
  placeholder,
  class: cls,
}: {
  value: string;
  onChange: (v: string) => void;
  placeholder: string;
  class?: string;
}) {
  return (
    <input
      type="search"
      data-testid="settings-filter"
      class={cls}
      placeholder={placeholder}
      value={value}
      onInput={(e) => onChange(e.currentTarget.value)}
    />
  );
}

/** Whether one of `fields` contains the search text `q` (any case); true for an empty search. */
export function matchesText(q: string, ...fields: string[]): boolean {
  const needle = q.trim().toLowerCase();
  return !needle || fields.some((f) => f.toLowerCase().includes(needle));
}

/**
 * A create / delete call: `busy` while it runs, its `error`, and `forbidden` from the first 403 on
 * (then `onForbidden` runs too). `run` resolves true when `fn` went through.
 */
export function useMutation(onForbidden?: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [forbidden, setForbidden] = useState(false);
  async function run(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await fn();
      referenceChanged();
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) {
        setForbidden(true);
        onForbidden?.();
      }
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, forbidden, run };
}

/** The «add …» button above a table; disabled, with a note, once the role is known not to be allowed. */
export function AddToolbar({
  testid,
  label,
  forbidden,
  forbiddenText,
  onOpen,
  children,
}: {
  testid: string;
  label: string;
  forbidden: boolean;
  forbiddenText: string;
  onOpen: () => void;
  children?: ComponentChildren;
}) {
  return (
    <div class="toolbar">
      <button type="button" data-testid={testid} disabled={forbidden} onClick={onOpen}>
        {label}
      </button>
      {forbidden && <span class="muted small">{forbiddenText}</span>}
      {children}
    </div>
  );
}

export function SettingsHead({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** '' ↔ null for optional text fields. */
export const orNull = (v: string): string | null => (v.trim() === '' ? null : v.trim());
