// Settings: SLA policies per channel kind — first response and resolution deadlines.
import { api } from '../../api';
import { Empty, ErrorLine, Loading, useLoad } from '../../components';
import { SLA_UNIT_LABELS } from '../../format';
import { useReference } from '../../reference';
import { RowActions, SettingsHead, useRowEdit } from './common';

interface Span {
  amount: number;
  unit: string;
}
interface Policy {
  channelKind: string;
  firstResponse: Span;
  resolution: Span;
}

export function SlaSettings() {
  const list = useLoad(() => api.get<{ items: Policy[] }>('/settings/sla-policies'), []);
  return (
    <section>
      <SettingsHead title="Нормативные сроки (SLA)" />
      <p class="muted small">
        Рабочие часы и дни считаются по производственному календарю (раздел «Календарь»).
      </p>
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty />
      ) : list.data ? (
        <table class="grid" data-testid="settings-table">
          <thead>
            <tr>
              <th>Канал</th>
              <th>Первый ответ</th>
              <th>Решение</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((p) => (
              <PolicyRow key={p.channelKind} item={p} />
            ))}
          </tbody>
        </table>
      ) : null}
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
      <select
        value={value.unit}
        disabled={disabled}
        onChange={(e) => onChange({ ...value, unit: e.currentTarget.value })}
      >
        {Object.entries(SLA_UNIT_LABELS).map(([code, name]) => (
          <option key={code} value={code}>
            {name}
          </option>
        ))}
      </select>
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
    <tr data-testid="settings-row" data-id={item.channelKind}>
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
      <RowActions row={row} />
    </tr>
  );
}
