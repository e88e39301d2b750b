// The governor's weekly report: a week's key figures with PDF/XLSX downloads, «make and post now», the
// archive of stored reports, and the schedule's settings (who may change them sees the form).
import { useState } from 'preact/hooks';
import { API, api, ApiError, errorText, withQuery } from '../api';
import { Empty, ErrorLine, Field, Loading, Notice, Select, useLoad } from '../components';
import { fmtDateTime, fmtNumber } from '../format';

interface Figure {
  key: string;
  label: string;
  value: number | null;
  previous: number | null;
  unit: 'count' | 'hours' | 'share' | 'score';
  higherIsBetter: boolean;
}
interface WeeklyReport {
  periodLabel: string;
  figures: Figure[];
  overdue: { id: number }[];
  overdueMore: number;
}
interface StoredReport {
  id: number;
  periodFrom: string;
  periodTo: string;
  trigger: 'schedule' | 'manual';
  createdBy: string | null;
  createdAt: string;
  pdfBytes: number;
}
interface ReportSettings {
  enabled: boolean;
  chatIds: string[];
  weekday: number;
  hour: number;
}

const WEEKDAYS = ['понедельник', 'вторник', 'среда', 'четверг', 'пятница', 'суббота', 'воскресенье'];

/** A date (YYYY-MM-DD, Barnaul) in last week. */
function lastWeekDate(): string {
  const t = new Date(Date.now() + 7 * 3_600_000 - 7 * 86_400_000);
  return t.toISOString().slice(0, 10);
}

function figureText(f: Figure, v: number | null): string {
  if (v === null) return '—';
  if (f.unit === 'share') return `${fmtNumber(v * 100)} %`;
  if (f.unit === 'hours') return `${fmtNumber(v, 1)} ч`;
  if (f.unit === 'score') return fmtNumber(v, 1);
  return fmtNumber(v);
}

function changeClass(f: Figure): string {
  if (f.value === null || f.previous === null || f.value === f.previous) return 'muted';
  return f.value > f.previous === f.higherIsBetter ? 'text-green' : 'text-red';
}

export function ReportsPage() {
  const [week, setWeek] = useState(lastWeekDate());
  const report = useLoad(() => api.get<WeeklyReport>('/reports/weekly', { week }), [week]);
  const archive = useLoad(() => api.get<{ items: StoredReport[] }>('/reports'), []);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function makeNow() {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const r = await api.post<{ id: number; queued: number; warning?: string }>('/reports/weekly', {
        week,
        post: true,
      });
      setNotice(
        r.warning
          ? 'Доклад сформирован; бот сотрудников не настроен, рассылки не было.'
          : r.queued
            ? `Доклад сформирован и поставлен в рассылку (${r.queued} файл(ов)).`
            : 'Доклад сформирован; чаты для рассылки не указаны в настройках.',
      );
      archive.reload(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const file = (format: 'pdf' | 'xlsx') => withQuery(`${API}/reports/weekly`, { week, format });

  return (
    <section>
      <div class="page-head">
        <h1>Доклады губернатору</h1>
      </div>
      <div class="toolbar">
        <Field label="Неделя (любой её день)">
          <input
            type="date"
            data-testid="report-week"
            value={week}
            max={new Date().toISOString().slice(0, 10)}
            onChange={(e) => e.currentTarget.value && setWeek(e.currentTarget.value)}
          />
        </Field>
        <a class="button" data-testid="report-pdf" href={file('pdf')} download>
          Скачать PDF
        </a>
        <a class="button" data-testid="report-xlsx" href={file('xlsx')} download>
          Скачать XLSX
        </a>
        <button data-testid="report-make" disabled={busy} onClick={() => void makeNow()}>
          Сформировать и разослать
        </button>
      </div>
      <Notice text={notice} />
      <ErrorLine error={error} />
      <ErrorLine error={report.error} />
      {report.loading && !report.data ? (
        <Loading />
      ) : (
        report.data && (
          <>
            <h2 data-testid="report-period">За {report.data.periodLabel}</h2>
            <div class="figure-cards" data-testid="report-figures">
              {report.data.figures.map((f) => (
                <div class="figure-card" key={f.key} data-testid={`figure-${f.key}`}>
                  <div class="figure-label">{f.label}</div>
                  <div class="figure-value">{figureText(f, f.value)}</div>
                  <div class={`figure-prev ${changeClass(f)}`}>было {figureText(f, f.previous)}</div>
                </div>
              ))}
            </div>
          </>
        )
      )}

      <h2>Архив</h2>
      <ErrorLine error={archive.error} />
      {archive.data &&
        (archive.data.items.length === 0 ? (
          <Empty text="Доклады ещё не формировались" />
        ) : (
          <table class="grid narrow" data-testid="report-archive">
            <thead>
              <tr>
                <th>Период</th>
                <th>Как сформирован</th>
                <th>Когда</th>
                <th>Файлы</th>
              </tr>
            </thead>
            <tbody>
              {archive.data.items.map((r) => (
                <tr key={r.id} data-testid="report-row">
                  <td>
                    {fmtDateTime(r.periodFrom).slice(0, 10)} –{' '}
                    {fmtDateTime(new Date(new Date(r.periodTo).getTime() - 1).toISOString()).slice(0, 10)}
                  </td>
                  <td>{r.trigger === 'schedule' ? 'по расписанию' : `вручную (${r.createdBy ?? '—'})`}</td>
                  <td>{fmtDateTime(r.createdAt)}</td>
                  <td>
                    <a href={`${API}/reports/${r.id}/pdf`} download>
                      PDF
                    </a>{' '}
                    ·{' '}
                    <a href={`${API}/reports/${r.id}/xlsx`} download>
                      XLSX
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}

      <ScheduleSettings />
    </section>
  );
}

function ScheduleSettings() {
  const st = useLoad(() => api.get<ReportSettings>('/settings/reports'), []);
  const [draft, setDraft] = useState<ReportSettings | null>(null);
  const [chats, setChats] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Roles that may not read the settings do not see the form at all.
  if (st.error instanceof ApiError && st.error.status === 403) return null;
  if (st.loading && !st.data) return <Loading />;
  const cur = draft ?? st.data;
  if (!cur) return <ErrorLine error={st.error} />;
  const edit = (p: Partial<ReportSettings>) => setDraft({ ...cur, ...p });

  async function save() {
    setError(null);
    setNotice(null);
    try {
      const chatIds = (chats ?? cur!.chatIds.join(', '))
        .split(/[\s,;]+/)
        .map((c) => c.trim())
        .filter(Boolean);
      const saved = await api.put<ReportSettings>('/settings/reports', { ...cur, chatIds });
      setDraft(null);
      setChats(null);
      st.reload(true);
      setNotice(`Сохранено: ${saved.enabled ? 'рассылка включена' : 'рассылка выключена'}.`);
    } catch (e) {
      setError(errorText(e));
    }
  }

  return (
    <>
      <h2>Рассылка по расписанию</h2>
      <Notice text={notice} />
      <ErrorLine error={error} />
      <div class="form-grid" data-testid="report-settings">
        <label class="check form-wide">
          <input
            type="checkbox"
            checked={cur.enabled}
            onChange={(e) => edit({ enabled: e.currentTarget.checked })}
          />{' '}
          Формировать доклад за прошлую неделю автоматически
        </label>
        <Field label="День недели">
          <Select
            value={String(cur.weekday)}
            options={WEEKDAYS.map((d, i) => ({ value: String(i + 1), label: d }))}
            onChange={(v) => edit({ weekday: Number(v) })}
          />
        </Field>
        <Field label="Час (время барнаульское)">
          <input
            type="number"
            min={0}
            max={23}
            value={cur.hour}
            onChange={(e) => edit({ hour: Number(e.currentTarget.value) })}
          />
        </Field>
        <Field label="Чаты Telegram для рассылки (id через запятую)">
          <input
            data-testid="report-chats"
            value={chats ?? cur.chatIds.join(', ')}
            onInput={(e) => setChats(e.currentTarget.value)}
          />
        </Field>
        <button data-testid="report-settings-save" onClick={() => void save()}>
          Сохранить
        </button>
      </div>
    </>
  );
}
