// Settings: routing rules (sector × municipality → agency, by priority), with a form for a new rule.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { ErrorLine, Select, useLoad } from '../../components';
import { useReference } from '../../reference';
import {
  ActiveCell,
  AddToolbar,
  SettingsHead,
  SettingsRow,
  SettingsTable,
  useMutation,
  useRowEdit,
} from './common';

interface Rule {
  id: string;
  sector: string;
  municipality: string | null;
  agencyId: string;
  priority: number;
  active: boolean;
}

/** The agencies that may serve the sector; «— выберите —» while none is chosen. */
function AgencySelect({
  sector,
  value,
  disabled,
  onChange,
}: {
  sector: string;
  value: string;
  disabled?: boolean;
  onChange: (v: string) => void;
}) {
  const ref = useReference();
  return (
    <Select
      value={value}
      empty={value ? undefined : '— выберите —'}
      options={ref.agencyOptions({ sector, keep: value })}
      disabled={disabled}
      onChange={onChange}
    />
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
        <Select value={sector} empty="Все блоки" options={ref.sectorOptions()} onChange={setSector} />
      </SettingsHead>
      <NewRule onCreated={() => list.reload(true)} />
      <SettingsTable
        list={list}
        items={items}
        columns={[
          'Код правила',
          'Блок',
          'Муниципалитет',
          'Ведомство',
          'Приоритет',
          { label: 'Активно', class: 'c-center' },
        ]}
        row={(r) => <RuleRow key={r.id} item={r} />}
      />
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
    <SettingsRow id={item.id} row={row}>
      <td class="mono">{v.id}</td>
      <td>{ref.sector(v.sector)}</td>
      <td>{v.municipality ? ref.municipality(v.municipality) : 'Любой'}</td>
      <td>
        <AgencySelect
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
      <ActiveCell row={row} />
    </SettingsRow>
  );
}

const EMPTY_RULE = { id: '', sector: '', municipality: '', agencyId: '', priority: 0, active: true };

function NewRule({ onCreated }: { onCreated: () => void }) {
  const ref = useReference();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState(EMPTY_RULE);
  const { busy, error, setError, forbidden, run } = useMutation(() => setOpen(false));

  if (!open)
    return (
      <AddToolbar
        testid="rule-add"
        label="Добавить правило"
        forbidden={forbidden}
        forbiddenText="Добавление правил недоступно для вашей роли"
        onOpen={() => setOpen(true)}
      />
    );

  async function submit(e: Event) {
    e.preventDefault();
    if (!form.id.trim() || !form.sector || !form.agencyId) {
      setError('Заполните код правила, блок и ведомство.');
      return;
    }
    await run(async () => {
      await api.post('/settings/routing-rules', {
        id: form.id.trim(),
        sector: form.sector,
        municipality: form.municipality || null,
        agencyId: form.agencyId,
        priority: form.priority,
        active: form.active,
      });
      setOpen(false);
      setForm(EMPTY_RULE);
      onCreated();
    });
  }

  return (
    <form class="inline-form box" onSubmit={submit}>
      <input
        data-testid="rule-id"
        placeholder="Код правила"
        value={form.id}
        onInput={(e) => setForm({ ...form, id: e.currentTarget.value })}
      />
      <Select
        value={form.sector}
        empty="Блок…"
        options={ref.sectorOptions()}
        onChange={(sector) => setForm({ ...form, sector })}
      />
      <Select
        value={form.municipality}
        empty="Любой муниципалитет"
        options={ref.municipalityOptions()}
        onChange={(municipality) => setForm({ ...form, municipality })}
      />
      <AgencySelect
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
