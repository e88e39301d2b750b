// Settings: SLA policies per channel kind — first response and resolution deadlines.
import { api } from '../../api';
import { Select, useLoad } from '../../components';
import { labelOptions, SLA_UNIT_LABELS } from '../../format';
import { useReference } from '../../reference';
import { SettingsHead, SettingsRow, SettingsTable, useRowEdit } from './common';

interface Span {
  amount: number;
  unit: string;
}
interface Policy {
  channelKind: string;
  firstResponse: Span;
  resolution: Span;
}

const UNITS = labelOptions(SLA_UNIT_LABELS);

export function SlaSettings() {
  const list = useLoad(() => api.get<{ items: Policy[] }>('/settings/sla-policies'), []);
  return (
    <section>
      <SettingsHead title="Нормативные сроки (SLA)" />
      <p class="muted small">
        Рабочие часы и дни считаются по производственному календарю (раздел «Календарь»).
      </p>
      <SettingsTable
        list={list}
        items={list.data?.items ?? []}
        columns={['Канал', 'Первый ответ', 'Решение']}
        row={(p) => <PolicyRow key={p.channelKind} item={p} />}
      />
    </section>
  );
}

function SpanInput({
  value,
  disabled,
  onChange,
}: {
  value: Span;
  disabled: boolean;
  onChange: (s: Span) => void;
}) {
  return (
    <span class="span-input">
      <input
        type="number"
        class="w-5"
        min={0}
        step="any"
        value={value.amount}
        disabled={disabled}
        onInput={(e) => onChange({ ...value, amount: Number(e.currentTarget.value) })}
      />{' '}
      <Select
        value={value.unit}
        options={UNITS}
        disabled={disabled}
        onChange={(unit) => onChange({ ...value, unit })}
      />
    </span>
  );
}

function PolicyRow({ item }: { item: Policy }) {
  const ref = useReference();
  const row = useRowEdit(item, (_patch, full) =>
    api.put(`/settings/sla-policies/${encodeURIComponent(item.channelKind)}`, {
      firstResponse: full.firstResponse,
      resolution: full.resolution,
    }),
  );
  const v = row.value;
  return (
    <SettingsRow id={item.channelKind} row={row}>
      <td>
        {ref.channel(v.channelKind)}
        <div class="muted small mono">{v.channelKind}</div>
      </td>
      <td>
        <SpanInput
          value={v.firstResponse}
          disabled={row.readOnly}
          onChange={(s) => row.set('firstResponse', s)}
        />
      </td>
      <td>
        <SpanInput value={v.resolution} disabled={row.readOnly} onChange={(s) => row.set('resolution', s)} />
      </td>
    </SettingsRow>
  );
}
