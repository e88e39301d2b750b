// Settings: reply templates by kind and sector — text and active flag.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { Empty, ErrorLine, Loading, useLoad } from '../../components';
import { DRAFT_KIND_LABELS, label } from '../../format';
import { useReference } from '../../reference';
import { ActiveCell, RowActions, SettingsHead, useRowEdit } from './common';

interface Template {
  id: string | number;
  kind: string;
  sector: string | null;
  text: string;
  active: boolean;
}

export function TemplatesSettings() {
  const ref = useReference();
  const list = useLoad(() => api.get<{ items: Template[] }>('/settings/templates'), []);
  const [kind, setKind] = useState('');
  const items = (list.data?.items ?? []).filter((t) => !kind || t.kind === kind);
  return (
    <section>
      <SettingsHead title="Шаблоны ответов">
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          <option value="">Все виды</option>
          {Object.entries(DRAFT_KIND_LABELS).map(([code, name]) => (
            <option key={code} value={code}>
              {name}
            </option>
          ))}
        </select>
      </SettingsHead>
      <p class="muted small">
        Поля в фигурных скобках (например, {'{address}'}) заполняются автоматически при подготовке черновика.
      </p>
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && items.length === 0 ? (
        <Empty />
      ) : list.data ? (
        <table class="grid" data-testid="settings-table">
          <thead>
            <tr>
              <th>Вид</th>
              <th>Блок</th>
              <th>Текст</th>
              <th class="c-center">Активен</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <TemplateRow key={t.id} item={t} sectorName={t.sector ? ref.sector(t.sector) : 'Все блоки'} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function TemplateRow({ item, sectorName }: { item: Template; sectorName: string }) {
  const row = useRowEdit(item, (patch) =>
    api.patch(`/settings/templates/${encodeURIComponent(String(item.id))}`, patch),
  );
  const v = row.value;
  return (
    <tr data-testid="settings-row" data-id={item.id}>
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
      <ActiveCell checked={v.active} disabled={row.readOnly} onChange={(c) => row.set('active', c)} />
      <RowActions row={row} />
    </tr>
  );
}
