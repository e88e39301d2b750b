// Shared pieces of the settings pages: per-row inline editing with save / reset, read-only rows after
// a 403, and the small cells (checkbox, row buttons).
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../api';
import { ErrorLine } from '../../components';

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

/** The last cell of an editable row: save / undo, status, errors. */
export function RowActions<T>({ row }: { row: RowEdit<T> }) {
  return (
    <td class="c-actions">
      {row.readOnly ? (
        <span class="tag tag-grey" data-testid="row-readonly" title="Изменение недоступно для вашей роли">
          только просмотр
        </span>
      ) : (
        <>
          <button
            type="button"
            class="small-btn primary"
            data-testid="row-save"
            disabled={!row.dirty || row.busy}
            onClick={() => void row.save()}
          >
            Сохранить
          </button>
          {row.dirty && (
            <button
              type="button"
              class="small-btn"
              data-testid="row-reset"
              disabled={row.busy}
              onClick={row.reset}
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

export function ActiveCell({
  checked,
  disabled,
  onChange,
}: {
  checked: boolean;
  disabled?: boolean;
  onChange: (v: boolean) => void;
}) {
  return (
    <td class="c-center">
      <input
        type="checkbox"
        data-testid="row-active"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
    </td>
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
