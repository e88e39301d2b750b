// Settings: sector blocks — the Telegram chat of each block and whether it is active.
import { api } from '../../api';
import { Empty, ErrorLine, Loading, useLoad } from '../../components';
import { ActiveCell, orNull, RowActions, SettingsHead, useRowEdit } from './common';

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
      <ErrorLine error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty />
      ) : list.data ? (
        <table class="grid" data-testid="settings-table">
          <thead>
            <tr>
              <th>Код</th>
              <th>Наименование</th>
              <th>Чат Telegram</th>
              <th class="c-center">Активен</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <SectorRow key={s.code} item={s} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function SectorRow({ item }: { item: Sector }) {
  const row = useRowEdit(item, (patch) =>
    api.patch(`/settings/sectors/${encodeURIComponent(item.code)}`, patch),
  );
  const v = row.value;
  return (
    <tr data-testid="settings-row" data-id={item.code}>
      <td class="mono">{v.code}</td>
      <td>{v.name}</td>
      <td>
        <input
          class="w-12"
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
