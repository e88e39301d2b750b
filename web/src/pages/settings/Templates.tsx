// Settings: reply templates by kind and sector — text and active flag.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { Select, useLoad } from '../../components';
import { DRAFT_KIND_LABELS, label, labelOptions } from '../../format';
import { useReference } from '../../reference';
import { ActiveCell, SettingsHead, SettingsRow, SettingsTable, useRowEdit } from './common';

interface Template {
  id: string | number;
  kind: string;
  sector: string | null;
  text: string;
  active: boolean;
}

const KINDS = labelOptions(DRAFT_KIND_LABELS);

export function TemplatesSettings() {
  const ref = useReference();
  const list = useLoad(() => api.get<{ items: Template[] }>('/settings/templates'), []);
  const [kind, setKind] = useState('');
  const items = (list.data?.items ?? []).filter((t) => !kind || t.kind === kind);
  return (
    <section>
      <SettingsHead title="Шаблоны ответов">
        <Select value={kind} empty="Все виды" options={KINDS} onChange={setKind} />
      </SettingsHead>
      <p class="muted small">
        Поля в фигурных скобках (например, {'{address}'}) заполняются автоматически при подготовке черновика.
      </p>
      <SettingsTable
        list={list}
        items={items}
        columns={['Вид', 'Блок', 'Текст', { label: 'Активен', class: 'c-center' }]}
        row={(t) => (
          <TemplateRow key={t.id} item={t} sectorName={t.sector ? ref.sector(t.sector) : 'Все блоки'} />
        )}
      />
    </section>
  );
}

function TemplateRow({ item, sectorName }: { item: Template; sectorName: string }) {
  const row = useRowEdit(item, (patch) =>
    api.patch(`/settings/templates/${encodeURIComponent(String(item.id))}`, patch),
  );
  const v = row.value;
  return (
    <SettingsRow id={item.id} row={row}>
      <td>
        {label(DRAFT_KIND_LABELS, v.kind)}
        <div class="muted small mono">{v.id}</div>
      </td>
      <td>{sectorName}</td>
      <td class="c-wide">
        <textarea
          rows={3}
          data-testid="row-text"
          value={v.text}
          disabled={row.readOnly}
          onInput={(e) => row.set('text', e.currentTarget.value)}
        />
      </td>
      <ActiveCell row={row} />
    </SettingsRow>
  );
}
