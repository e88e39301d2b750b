// Settings: agencies — names, Telegram chat, active flag. Filterable, as there are many.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { Empty, ErrorLine, Loading, useLoad } from '../../components';
import { useReference } from '../../reference';
import { ActiveCell, orNull, RowActions, SettingsHead, useRowEdit } from './common';

interface Agency {
  id: string;
  name: string;
  shortName: string;
  level: string;
  sector: string | null;
  municipality: string | null;
  telegramChatId: string | null;
  active: boolean;
}

const LEVELS: Record<string, string> = {
  regional: 'Региональное',
  municipal: 'Муниципальное',
  federal: 'Федеральное',
};

export function AgenciesSettings() {
  const ref = useReference();
  const list = useLoad(() => api.get<{ items: Agency[] }>('/settings/agencies'), []);
  const [q, setQ] = useState('');
  const [sector, setSector] = useState('');
  const needle = q.trim().toLowerCase();
  const items = (list.data?.items ?? []).filter(
    (a) =>
      (!sector || a.sector === sector) &&
      (!needle ||
        a.name.toLowerCase().includes(needle) ||
        a.shortName.toLowerCase().includes(needle) ||
        a.id.toLowerCase().includes(needle)),
  );
  return (
    <section>
      <SettingsHead title="Ведомства">
        <input
          type="search"
          data-testid="settings-filter"
          placeholder="Поиск по названию"
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
        />
        <select value={sector} onChange={(e) => setSector(e.currentTarget.value)}>
          <option value="">Все блоки</option>
          {ref.data.sectors.map((s) => (
            <option key={s.code} value={s.code}>
              {s.name}
            </option>
          ))}
        </select>
      </SettingsHead>
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && items.length === 0 ? (
        <Empty />
      ) : list.data ? (
        <table class="grid" data-testid="settings-table">
          <thead>
            <tr>
              <th>Полное наименование</th>
              <th>Краткое</th>
              <th>Уровень</th>
              <th>Блок</th>
              <th>Муниципалитет</th>
              <th>Чат Telegram</th>
              <th class="c-center">Активно</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <AgencyRow key={a.id} item={a} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function AgencyRow({ item }: { item: Agency }) {
  const ref = useReference();
  const row = useRowEdit(item, (patch) =>
    api.patch(`/settings/agencies/${encodeURIComponent(item.id)}`, patch),
  );
  const v = row.value;
  return (
    <tr data-testid="settings-row" data-id={item.id}>
      <td>
        <input
          class="w-full"
          value={v.name}
          disabled={row.readOnly}
          onInput={(e) => row.set('name', e.currentTarget.value)}
        />
      </td>
      <td>
        <input
          class="w-10"
          value={v.shortName}
          disabled={row.readOnly}
          onInput={(e) => row.set('shortName', e.currentTarget.value)}
        />
      </td>
      <td>{LEVELS[v.level] ?? v.level}</td>
      <td>{v.sector ? ref.sector(v.sector) : 'Все'}</td>
      <td>{v.municipality ? ref.municipality(v.municipality) : 'Весь край'}</td>
      <td>
        <input
          class="w-10"
          data-testid="row-telegram"
          value={v.telegramChatId ?? ''}
          placeholder="не задан"
          disabled={row.readOnly}
          onInput={(e) => row.set('telegramChatId', orNull(e.currentTarget.value))}
        />
      </td>
      <ActiveCell checked={v.active} disabled={row.readOnly} onChange={(c) => row.set('active', c)} />
      <RowActions row={row} />
    </tr>
  );
}
