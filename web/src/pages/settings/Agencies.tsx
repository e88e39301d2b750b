// Settings: agencies — names, Telegram chat, active flag. Filterable, as there are many.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { Select, useLoad } from '../../components';
import { useReference } from '../../reference';
import {
  ActiveCell,
  matchesText,
  SearchBox,
  SettingsHead,
  SettingsRow,
  SettingsTable,
  TelegramCell,
  TextCell,
  useRowEdit,
} from './common';

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
  const items = (list.data?.items ?? []).filter(
    (a) => (!sector || a.sector === sector) && matchesText(q, a.name, a.shortName, a.id),
  );
  return (
    <section>
      <SettingsHead title="Ведомства">
        <SearchBox placeholder="Поиск по названию" value={q} onChange={setQ} />
        <Select value={sector} empty="Все блоки" options={ref.sectorOptions()} onChange={setSector} />
      </SettingsHead>
      <SettingsTable
        list={list}
        items={items}
        columns={[
          'Полное наименование',
          'Краткое',
          'Уровень',
          'Блок',
          'Муниципалитет',
          'Чат Telegram',
          { label: 'Активно', class: 'c-center' },
        ]}
        row={(a) => <AgencyRow key={a.id} item={a} />}
      />
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
    <SettingsRow id={item.id} row={row}>
      <TextCell class="w-full" value={v.name} disabled={row.readOnly} onChange={(s) => row.set('name', s)} />
      <TextCell
        class="w-10"
        value={v.shortName}
        disabled={row.readOnly}
        onChange={(s) => row.set('shortName', s)}
      />
      <td>{LEVELS[v.level] ?? v.level}</td>
      <td>{v.sector ? ref.sector(v.sector) : 'Все'}</td>
      <td>{v.municipality ? ref.municipality(v.municipality) : 'Весь край'}</td>
      <TelegramCell row={row} class="w-10" />
      <ActiveCell row={row} />
    </SettingsRow>
  );
}
