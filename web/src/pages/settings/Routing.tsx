// Settings: routing rules (sector × municipality → agency, by priority), with a form for a new rule.
import { useState } from 'preact/hooks';
import { api, ApiError } from '../../api';
import { Empty, ErrorLine, Loading, useLoad } from '../../components';
import { useReference, type RefData } from '../../reference';
import { ActiveCell, RowActions, SettingsHead, useRowEdit } from './common';

interface Rule {
  id: string;
  sector: string;
  municipality: string | null;
  agencyId: string;
  priority: number;
  active: boolean;
}

function AgencySelect({
  ref_,
  sector,
  value,
  disabled,
  onChange,
  testid,
}: {
  ref_: RefData;
  sector: string;
  value: string;
  disabled?: boolean;
  onChange: (v: string) => void;
  testid?: string;
}) {
  const options = ref_.data.agencies.filter(
    (a) => a.id === value || !sector || !a.sector || a.sector === sector,
  );
  return (
    <select
      data-testid={testid}
      value={value}
      disabled={disabled}
      onChange={(e) => onChange(e.currentTarget.value)}
    >
      {!value && <option value="">— выберите —</option>}
      {options.map((a) => (
        <option key={a.id} value={a.id}>
          {a.shortName}
        </option>
      ))}
    </select>
  );
}

export function RoutingSettings() {
  const ref = useReference();
  const list = useLoad(() => api.get<{ items: Rule[] }>('/settings/routing-rules'), []);
  const [sector, setSector] = useState('');
  const items = (list.data?.items ?? [])
    .filter((r) => !sector || r.sector === sector)
    .sort((a, b) => a.sector.localeCompare(b.sector) || b.priority - a.priority);
  return (
    <section>
      <SettingsHead title="Правила маршрутизации">
        <select value={sector} onChange={(e) => setSector(e.currentTarget.value)}>
          <option value="">Все блоки</option>
          {ref.data.sectors.map((s) => (
            <option key={s.code} value={s.code}>
              {s.name}
            </option>
          ))}
        </select>
      </SettingsHead>
      <NewRule onCreated={() => list.reload(true)} />
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && items.length === 0 ? (
        <Empty />
      ) : list.data ? (
        <table class="grid" data-testid="settings-table">
          <thead>
            <tr>
              <th>Код правила</th>
              <th>Блок</th>
              <th>Муниципалитет</th>
              <th>Ведомство</th>
              <th>Приоритет</th>
              <th class="c-center">Активно</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <RuleRow key={r.id} item={r} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function RuleRow({ item }: { item: Rule }) {
  const ref = useReference();
  const row = useRowEdit(item, (patch) =>
    api.patch(`/settings/routing-rules/${encodeURIComponent(item.id)}`, patch),
  );
  const v = row.value;
  return (
    <tr data-testid="settings-row" data-id={item.id}>
      <td class="mono">{v.id}</td>
      <td>{ref.sector(v.sector)}</td>
      <td>{v.municipality ? ref.municipality(v.municipality) : 'Любой'}</td>
      <td>
        <AgencySelect
          ref_={ref}
          sector={v.sector}
          value={v.agencyId}
          disabled={row.readOnly}
          onChange={(a) => row.set('agencyId', a)}
        />
      </td>
      <td>
        <input
          type="number"
          class="w-5"
          value={v.priority}
          disabled={row.readOnly}
          onInput={(e) => row.set('priority', Number(e.currentTarget.value) || 0)}
        />
      </td>
      <ActiveCell checked={v.active} disabled={row.readOnly} onChange={(c) => row.set('active', c)} />
      <RowActions row={row} />
    </tr>
  );
}

function NewRule({ onCreated }: { onCreated: () => void }) {
  const ref = useReference();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({
    id: '',
    sector: '',
    municipality: '',
    agencyId: '',
    priority: 0,
    active: true,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [forbidden, setForbidden] = useState(false);

  if (!open)
    return (
      <div class="toolbar">
        <button type="button" data-testid="rule-add" disabled={forbidden} onClick={() => setOpen(true)}>
          Добавить правило
        </button>
        {forbidden && <span class="muted small">Добавление правил недоступно для вашей роли</span>}
      </div>
    );

  async function submit(e: Event) {
    e.preventDefault();
    if (!form.id.trim() || !form.sector || !form.agencyId) {
      setError('Заполните код правила, блок и ведомство.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.post('/settings/routing-rules', {
        id: form.id.trim(),
        sector: form.sector,
        municipality: form.municipality || null,
        agencyId: form.agencyId,
        priority: form.priority,
        active: form.active,
      });
      setOpen(false);
      setForm({ id: '', sector: '', municipality: '', agencyId: '', priority: 0, active: true });
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
    <form class="inline-form box" onSubmit={submit}>
      <input
        data-testid="rule-id"
        placeholder="Код правила"
        value={form.id}
        onInput={(e) => setForm({ ...form, id: e.currentTarget.value })}
      />
      <select value={form.sector} onChange={(e) => setForm({ ...form, sector: e.currentTarget.value })}>
        <option value="">Блок…</option>
        {ref.data.sectors.map((s) => (
          <option key={s.code} value={s.code}>
            {s.name}
          </option>
        ))}
      </select>
      <select
        value={form.municipality}
        onChange={(e) => setForm({ ...form, municipality: e.currentTarget.value })}
      >
        <option value="">Любой муниципалитет</option>
        {ref.data.municipalities.map((m) => (
          <option key={m.code} value={m.code}>
            {m.shortName}
          </option>
        ))}
      </select>
      <AgencySelect
        ref_={ref}
        sector={form.sector}
        value={form.agencyId}
        onChange={(a) => setForm({ ...form, agencyId: a })}
      />
      <label class="check">
        Приоритет{' '}
        <input
          type="number"
          class="w-5"
          value={form.priority}
          onInput={(e) => setForm({ ...form, priority: Number(e.currentTarget.value) || 0 })}
        />
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={form.active}
          onChange={(e) => setForm({ ...form, active: e.currentTarget.checked })}
        />
        Активно
      </label>
      <button type="submit" class="primary" data-testid="rule-submit" disabled={busy}>
        Добавить
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Отмена
      </button>
      <ErrorLine error={error} />
    </form>
  );
}
