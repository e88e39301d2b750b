// Settings: sector blocks — the Telegram chat of each block and whether it is active.
import { api } from '../../api';
import { useLoad } from '../../components';
import { ActiveCell, SettingsHead, SettingsRow, SettingsTable, TelegramCell, useRowEdit } from './common';

interface Sector {
  code: string;
  name: string;
  telegramChatId: string | null;
  active: boolean;
}

export function SectorsSettings() {
  const list = useLoad(() => api.get<{ items: Sector[] }>('/settings/sectors'), []);
  return (
    <section>
      <SettingsHead title="Профильные блоки" />
      <SettingsTable
        list={list}
        items={list.data?.items ?? []}
        columns={['Код', 'Наименование', 'Чат Telegram', { label: 'Активен', class: 'c-center' }]}
        row={(s) => <SectorRow key={s.code} item={s} />}
      />
    </section>
  );
}

function SectorRow({ item }: { item: Sector }) {
  const row = useRowEdit(item, (patch) =>
    api.patch(`/settings/sectors/${encodeURIComponent(item.code)}`, patch),
  );
  const v = row.value;
  return (
    <SettingsRow id={item.code} row={row}>
      <td class="mono">{v.code}</td>
      <td>{v.name}</td>
      <TelegramCell row={row} class="w-12" />
      <ActiveCell row={row} />
    </SettingsRow>
  );
}
