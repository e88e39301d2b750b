// Settings: staff accounts — name, Telegram id, active flag, password reset, and role grants
// (role, optionally limited to a sector, an agency, a municipality).
import { useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../../api';
import { Empty, ErrorLine, Loading, useLoad } from '../../components';
import { ROLE_LABELS, label } from '../../format';
import { useReference } from '../../reference';
import type { Grant } from '../../types';
import { orNull, SettingsHead, useRowEdit } from './common';

interface StaffUser {
  id: number | string;
  login: string;
  name: string;
  telegramUserId: string | number | null;
  active: boolean;
  locked: boolean;
  grants: Grant[];
}

const emptyGrant = (): Grant => ({ role: 'curator', sector: null, agencyId: null, municipality: null });

export function UsersSettings() {
  const list = useLoad(() => api.get<{ items: StaffUser[] }>('/settings/users'), []);
  const [q, setQ] = useState('');
  const needle = q.trim().toLowerCase();
  const items = (list.data?.items ?? []).filter(
    (u) => !needle || u.login.toLowerCase().includes(needle) || u.name.toLowerCase().includes(needle),
  );
  return (
    <section>
      <SettingsHead title="Пользователи">
        <input
          type="search"
          data-testid="settings-filter"
          class="w-12"
          placeholder="Логин или имя"
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </SettingsHead>
      <NewUser onCreated={() => list.reload(true)} />
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && items.length === 0 ? (
        <Empty />
      ) : list.data ? (
        <table class="grid" data-testid="settings-table">
          <thead>
            <tr>
              <th>Логин</th>
              <th>Имя</th>
              <th>Роли и полномочия</th>
              <th>Telegram ID</th>
              <th class="c-center">Активен</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((u) => (
              <UserRow key={u.id} item={u} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function GrantSummary({ g }: { g: Grant }) {
  const ref = useReference();
  const scope = [
    g.sector && ref.sector(g.sector),
    g.agencyId && ref.agency(g.agencyId),
    g.municipality && ref.municipality(g.municipality),
  ].filter(Boolean);
  return (
    <div class="grant">
      {label(ROLE_LABELS, g.role)}
      {scope.length > 0 && <span class="muted"> — {scope.join(', ')}</span>}
    </div>
  );
}

function GrantsEditor({ grants, onChange }: { grants: Grant[]; onChange: (g: Grant[]) => void }) {
  const ref = useReference();
  const set = (i: number, patch: Partial<Grant>) =>
    onChange(grants.map((g, j) => (j === i ? { ...g, ...patch } : g)));
  return (
    <div class="grants-editor" data-testid="grants-editor">
      {grants.map((g, i) => (
        <div class="inline-form" key={i}>
          <select
            data-testid="grant-role"
            value={g.role}
            onChange={(e) => set(i, { role: e.currentTarget.value })}
          >
            {Object.entries(ROLE_LABELS).map(([code, name]) => (
              <option key={code} value={code}>
                {name}
              </option>
            ))}
          </select>
          <select value={g.sector ?? ''} onChange={(e) => set(i, { sector: e.currentTarget.value || null })}>
            <option value="">Все блоки</option>
            {ref.data.sectors.map((s) => (
              <option key={s.code} value={s.code}>
                {s.name}
              </option>
            ))}
          </select>
          <select
            value={g.agencyId ?? ''}
            onChange={(e) => set(i, { agencyId: e.currentTarget.value || null })}
          >
            <option value="">Все ведомства</option>
            {ref.data.agencies
              .filter((a) => a.id === g.agencyId || !g.sector || !a.sector || a.sector === g.sector)
              .map((a) => (
                <option key={a.id} value={a.id}>
                  {a.shortName}
                </option>
              ))}
          </select>
          <select
            value={g.municipality ?? ''}
            onChange={(e) => set(i, { municipality: e.currentTarget.value || null })}
          >
            <option value="">Все муниципалитеты</option>
            {ref.data.municipalities.map((m) => (
              <option key={m.code} value={m.code}>
                {m.shortName}
              </option>
            ))}
          </select>
          <button
            type="button"
            class="small-btn danger-outline"
            onClick={() => onChange(grants.filter((_, j) => j !== i))}
          >
            Убрать
          </button>
        </div>
      ))}
      <button
        type="button"
        class="small-btn"
        data-testid="grant-add"
        onClick={() => onChange([...grants, emptyGrant()])}
      >
        + Добавить роль
      </button>
    </div>
  );
}

type UserEdit = StaffUser & { password: string };

function UserRow({ item }: { item: StaffUser }) {
  const [editing, setEditing] = useState(false);
  const initial = useMemo<UserEdit>(() => ({ ...item, password: '' }), [item]);
  const row = useRowEdit<UserEdit>(initial, async (patch) => {
    const body: Record<string, unknown> = {};
    if (patch.name !== undefined) body.name = patch.name;
    if (patch.active !== undefined) body.active = patch.active;
    if (patch.telegramUserId !== undefined) body.telegramUserId = patch.telegramUserId;
    if (patch.grants !== undefined) body.grants = patch.grants;
    if (patch.password) body.password = patch.password;
    const r = await api.patch<Partial<StaffUser> | undefined>(
      `/settings/users/${encodeURIComponent(String(item.id))}`,
      body,
    );
    return { ...(r && typeof r === 'object' ? r : {}), password: '' };
  });
  const v = row.value;
  const ro = row.readOnly;
  return (
    <tr data-testid="settings-row" data-id={item.id} class={v.active ? '' : 'row-inactive'}>
      <td class="mono">
        {v.login}
        {v.locked && (
          <div>
            <span class="tag tag-red" data-testid="user-locked">
              Вход заблокирован
            </span>
          </div>
        )}
      </td>
      <td>
        {editing ? (
          <input
            class="w-12"
            value={v.name}
            disabled={ro}
            onInput={(e) => row.set('name', e.currentTarget.value)}
          />
        ) : (
          v.name
        )}
      </td>
      <td>
        {editing && !ro ? (
          <GrantsEditor grants={v.grants} onChange={(g) => row.set('grants', g)} />
        ) : v.grants.length ? (
          v.grants.map((g, i) => <GrantSummary key={i} g={g} />)
        ) : (
          <span class="muted">нет ролей</span>
        )}
        {editing && !ro && (
          <label class="field small">
            <span class="field-label">Новый пароль (если нужно сменить)</span>
            <input
              type="password"
              autoComplete="new-password"
              data-testid="user-password"
              value={v.password}
              onInput={(e) => row.set('password', e.currentTarget.value)}
            />
          </label>
        )}
      </td>
      <td>
        {editing ? (
          <input
            class="w-8"
            value={v.telegramUserId ?? ''}
            disabled={ro}
            onInput={(e) => row.set('telegramUserId', orNull(e.currentTarget.value))}
          />
        ) : (
          (v.telegramUserId ?? '—')
        )}
      </td>
      <td class="c-center">
        <input
          type="checkbox"
          data-testid="row-active"
          checked={v.active}
          disabled={ro}
          onChange={(e) => row.set('active', e.currentTarget.checked)}
        />
      </td>
      <td class="c-actions">
        {ro ? (
          <span class="tag tag-grey" data-testid="row-readonly">
            только просмотр
          </span>
        ) : (
          <>
            {!editing && (
              <button
                type="button"
                class="small-btn"
                data-testid="user-edit"
                onClick={() => setEditing(true)}
              >
                Изменить
              </button>
            )}
            <button
              type="button"
              class="small-btn primary"
              data-testid="row-save"
              disabled={!row.dirty || row.busy}
              onClick={() => void row.save().then((ok) => ok && setEditing(false))}
            >
              Сохранить
            </button>
            {(row.dirty || editing) && (
              <button
                type="button"
                class="small-btn"
                onClick={() => {
                  row.reset();
                  setEditing(false);
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
    </tr>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const [open, setOpen] = useState(false);
  const [forbidden, setForbidden] = useState(false);
  const [form, setForm] = useState({ login: '', name: '', password: '', telegramUserId: '' });
  const [grants, setGrants] = useState<Grant[]>([emptyGrant()]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (!open)
    return (
      <div class="toolbar">
        <button type="button" data-testid="user-add" disabled={forbidden} onClick={() => setOpen(true)}>
          Добавить пользователя
        </button>
        {forbidden && <span class="muted small">Создание пользователей недоступно для вашей роли</span>}
        <ErrorLine error={error} />
      </div>
    );

  async function submit(e: Event) {
    e.preventDefault();
    if (!form.login.trim() || !form.name.trim() || !form.password) {
      setError('Заполните логин, имя и пароль.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.post('/settings/users', {
        login: form.login.trim(),
        name: form.name.trim(),
        password: form.password,
        ...(form.telegramUserId.trim() ? { telegramUserId: form.telegramUserId.trim() } : {}),
        grants,
      });
      setOpen(false);
      setForm({ login: '', name: '', password: '', telegramUserId: '' });
      setGrants([emptyGrant()]);
      onCreated();
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        setForbidden(true);
        setOpen(false);
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="box" onSubmit={submit} data-testid="user-form">
      <div class="inline-form">
        <input
          data-testid="user-login"
          placeholder="Логин"
          autoComplete="off"
          value={form.login}
          onInput={(e) => setForm({ ...form, login: e.currentTarget.value })}
        />
        <input
          data-testid="user-name"
          placeholder="Фамилия Имя Отчество"
          value={form.name}
          onInput={(e) => setForm({ ...form, name: e.currentTarget.value })}
        />
        <input
          type="password"
          data-testid="user-new-password"
          placeholder="Пароль"
          autoComplete="new-password"
          value={form.password}
          onInput={(e) => setForm({ ...form, password: e.currentTarget.value })}
        />
        <input
          placeholder="Telegram ID (необязательно)"
          value={form.telegramUserId}
          onInput={(e) => setForm({ ...form, telegramUserId: e.currentTarget.value })}
        />
      </div>
      <div class="field-label">Роли</div>
      <GrantsEditor grants={grants} onChange={setGrants} />
      <div class="buttons">
        <button type="submit" class="primary" data-testid="user-submit" disabled={busy}>
          Создать
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Отмена
        </button>
      </div>
      <ErrorLine error={error} />
    </form>
  );
}
