// Settings: staff accounts — name, Telegram id, active flag, password reset, and role grants
// (role, optionally limited to a sector, an agency, a municipality).
import { useMemo, useState } from 'preact/hooks';
import { api } from '../../api';
import { ErrorLine, Select, useLoad } from '../../components';
import { ROLE_LABELS, label, labelOptions } from '../../format';
import { useReference } from '../../reference';
import type { Grant } from '../../types';
import {
  ActiveCell,
  AddToolbar,
  matchesText,
  orNull,
  RowActions,
  SearchBox,
  SettingsHead,
  SettingsTable,
  useMutation,
  useRowEdit,
} from './common';

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
const ROLES = labelOptions(ROLE_LABELS);

export function UsersSettings() {
  const list = useLoad(() => api.get<{ items: StaffUser[] }>('/settings/users'), []);
  const [q, setQ] = useState('');
  const items = (list.data?.items ?? []).filter((u) => matchesText(q, u.login, u.name));
  return (
    <section>
      <SettingsHead title="Пользователи">
        <SearchBox class="w-12" placeholder="Логин или имя" value={q} onChange={setQ} />
      </SettingsHead>
      <NewUser onCreated={() => list.reload(true)} />
      <SettingsTable
        list={list}
        items={items}
        columns={[
          'Логин',
          'Имя',
          'Роли и полномочия',
          'Telegram ID',
          { label: 'Активен', class: 'c-center' },
        ]}
        row={(u) => <UserRow key={u.id} item={u} />}
      />
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
          <Select testid="grant-role" value={g.role} options={ROLES} onChange={(role) => set(i, { role })} />
          <Select
            value={g.sector ?? ''}
            empty="Все блоки"
            options={ref.sectorOptions()}
            onChange={(v) => set(i, { sector: v || null })}
          />
          <Select
            value={g.agencyId ?? ''}
            empty="Все ведомства"
            options={ref.agencyOptions({ sector: g.sector, keep: g.agencyId })}
            onChange={(v) => set(i, { agencyId: v || null })}
          />
          <Select
            value={g.municipality ?? ''}
            empty="Все муниципалитеты"
            options={ref.municipalityOptions()}
            onChange={(v) => set(i, { municipality: v || null })}
          />
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
      <ActiveCell row={row} />
      <RowActions row={row} editing={editing} onEditing={setEditing} />
    </tr>
  );
}

const EMPTY_USER = { login: '', name: '', password: '', telegramUserId: '' };

function NewUser({ onCreated }: { onCreated: () => void }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState(EMPTY_USER);
  const [grants, setGrants] = useState<Grant[]>([emptyGrant()]);
  const { busy, error, setError, forbidden, run } = useMutation(() => setOpen(false));

  if (!open)
    return (
      <AddToolbar
        testid="user-add"
        label="Добавить пользователя"
        forbidden={forbidden}
        forbiddenText="Создание пользователей недоступно для вашей роли"
        onOpen={() => setOpen(true)}
      >
        <ErrorLine error={error} />
      </AddToolbar>
    );

  async function submit(e: Event) {
    e.preventDefault();
    if (!form.login.trim() || !form.name.trim() || !form.password) {
      setError('Заполните логин, имя и пароль.');
      return;
    }
    await run(async () => {
      await api.post('/settings/users', {
        login: form.login.trim(),
        name: form.name.trim(),
        password: form.password,
        ...(form.telegramUserId.trim() ? { telegramUserId: form.telegramUserId.trim() } : {}),
        grants,
      });
      setOpen(false);
      setForm(EMPTY_USER);
      setGrants([emptyGrant()]);
      onCreated();
    });
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
