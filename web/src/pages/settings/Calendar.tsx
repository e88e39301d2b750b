// Settings: the production calendar — loaded years, exception days of a year, adding and removing days.
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { Select, useLoad } from '../../components';
import { CALENDAR_KIND_LABELS, fmtDay, label, labelOptions } from '../../format';
import { SettingsHead, SettingsTable, useMutation } from './common';

interface CalendarData {
  years: { year: number; provisional: boolean; source: string | null }[];
  days: { day: string; kind: string; note: string | null }[];
}

const KINDS = labelOptions(CALENDAR_KIND_LABELS);

const thisYear = () =>
  Number(new Intl.DateTimeFormat('ru-RU', { timeZone: 'Asia/Barnaul', year: 'numeric' }).format(new Date()));

export function CalendarSettings() {
  const [year, setYear] = useState(thisYear());
  const cal = useLoad(() => api.get<CalendarData>('/settings/calendar', { year }), [year]);
  const { busy, error, setError, forbidden, run } = useMutation();
  const [form, setForm] = useState({ day: '', kind: 'holiday', note: '' });

  const years = new Set<number>([year, year - 1, year + 1, ...(cal.data?.years ?? []).map((y) => y.year)]);
  const info = cal.data?.years.find((y) => y.year === year);

  const mutate = (fn: () => Promise<unknown>) =>
    run(async () => {
      await fn();
      cal.reload(true);
    });

  async function add(e: Event) {
    e.preventDefault();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(form.day)) return setError('Укажите дату.');
    const ok = await mutate(() =>
      api.post('/settings/calendar', {
        day: form.day,
        kind: form.kind,
        ...(form.note.trim() ? { note: form.note.trim() } : {}),
      }),
    );
    if (ok) setForm({ ...form, day: '', note: '' });
  }

  const days = [...(cal.data?.days ?? [])].sort((a, b) => a.day.localeCompare(b.day));

  return (
    <section>
      <SettingsHead title="Производственный календарь">
        <Select
          testid="calendar-year"
          value={String(year)}
          options={[...years].sort((a, b) => a - b).map((y) => ({ value: String(y), label: String(y) }))}
          onChange={(y) => setYear(Number(y))}
        />
      </SettingsHead>
      {info ? (
        <p class="small">
          {info.provisional ? (
            <span class="tag tag-amber">Предварительный</span>
          ) : (
            <span class="tag tag-green">Утверждён</span>
          )}{' '}
          {info.source && <span class="muted">Источник: {info.source}</span>}
        </p>
      ) : (
        cal.data && (
          <p class="small text-amber">Календарь на {year} год не загружен: используются обычные выходные.</p>
        )
      )}
      {forbidden ? (
        <p class="muted small">Изменение календаря недоступно для вашей роли — только просмотр.</p>
      ) : (
        <form class="inline-form box" onSubmit={add}>
          <input
            type="date"
            data-testid="calendar-day"
            value={form.day}
            onInput={(e) => setForm({ ...form, day: e.currentTarget.value })}
          />
          <Select
            testid="calendar-kind"
            value={form.kind}
            options={KINDS}
            onChange={(kind) => setForm({ ...form, kind })}
          />
          <input
            placeholder="Примечание"
            value={form.note}
            onInput={(e) => setForm({ ...form, note: e.currentTarget.value })}
          />
          <button type="submit" class="primary" data-testid="calendar-add" disabled={busy}>
            Добавить день
          </button>
        </form>
      )}
      <SettingsTable
        list={cal}
        error={error}
        items={days}
        columns={['День', 'Вид', 'Примечание']}
        empty="Особых дней нет"
        narrow
        row={(d) => (
          <tr key={`${d.day}/${d.kind}`} data-testid="settings-row">
            <td>{fmtDay(d.day)}</td>
            <td>{label(CALENDAR_KIND_LABELS, d.kind)}</td>
            <td>{d.note ?? ''}</td>
            <td class="c-actions">
              {!forbidden && (
                <button
                  type="button"
                  class="small-btn danger-outline"
                  data-testid="calendar-delete"
                  disabled={busy}
                  onClick={() =>
                    void mutate(() =>
                      api.del(
                        `/settings/calendar/${encodeURIComponent(d.day)}/${encodeURIComponent(d.kind)}`,
                      ),
                    )
                  }
                >
                  Удалить
                </button>
              )}
            </td>
          </tr>
        )}
      />
    </section>
  );
}
