// Conflict situations: spikes of negative messages, toxic threads, repeated appeals, rude or late replies.
// The list refreshes live; an alert is acknowledged with one button; the detection settings are below.
import { useState } from 'preact/hooks';
import {
  ALERT_KIND_LABELS,
  ALERT_SEVERITY_LABELS,
  type AlertSettings,
} from '../../../src/domain/conflicts.ts';
import { api, ApiError, errorText } from '../api';
import { Empty, ErrorLine, Field, Notice, Pager, Select, useLoad, WhenLoaded } from '../components';
import { fmtDateTime, incidentNumber, labelOptions } from '../format';
import { useReference } from '../reference';
import { href } from '../router';
import { useAlertStream } from '../stream';
import type { AlertItem, Page } from '../types';

const LIMIT = 50;

/** The alert's text without its title and link lines (the table shows those as columns). */
const body = (text: string) =>
  text
    .split('\n')
    .filter((l, i) => i > 0 && !l.startsWith('Открыть: '))
    .join('\n');

export function AlertsPage() {
  const ref = useReference();
  const [status, setStatus] = useState('open');
  const [kind, setKind] = useState('');
  const [offset, setOffset] = useState(0);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const list = useLoad(
    () => api.get<Page<AlertItem>>('/alerts', { status, kind, limit: LIMIT, offset }),
    [status, kind, offset],
  );
  useAlertStream(() => list.reload(true));

  async function ack(a: AlertItem) {
    setBusy(a.id);
    setActionError(null);
    try {
      await api.post(`/alerts/${a.id}/ack`);
    } catch (e) {
      // Someone else acknowledged it first: the refreshed list shows who.
      if (!(e instanceof ApiError && e.code === 'ALERT_ACKNOWLEDGED')) setActionError(e);
    } finally {
      setBusy(null);
      list.reload(true);
    }
  }

  return (
    <section>
      <div class="page-head">
        <h1>Конфликтные ситуации</h1>
      </div>
      <div class="filters">
        <Select
          testid="alerts-status"
          value={status}
          options={[
            { value: 'open', label: 'Не рассмотренные' },
            { value: 'all', label: 'Все' },
          ]}
          onChange={(v) => (setStatus(v), setOffset(0))}
        />
        <Select
          testid="alerts-kind"
          value={kind}
          empty="Все виды"
          options={labelOptions(ALERT_KIND_LABELS)}
          onChange={(v) => (setKind(v), setOffset(0))}
        />
      </div>
      <ErrorLine error={actionError} />
      <WhenLoaded list={list}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty
              text={status === 'open' ? 'Нерассмотренных конфликтных ситуаций нет' : 'Ничего не найдено'}
            />
          ) : (
            <>
              <table class="grid" data-testid="alerts">
                <thead>
                  <tr>
                    <th class="c-date">Время</th>
                    <th>Вид</th>
                    <th>Сфера</th>
                    <th>Территория</th>
                    <th>Инцидент</th>
                    <th class="c-wide">Что произошло</th>
                    <th class="c-actions">Рассмотрение</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((a) => (
                    <tr
                      key={a.id}
                      data-testid="alert-row"
                      class={a.acknowledgedAt ? 'alert-done' : `alert-${a.severity}`}
                    >
                      <td class="c-date">{fmtDateTime(a.createdAt)}</td>
                      <td>
                        <span class={`badge al-${a.kind}`} data-testid="alert-kind">
                          {ALERT_KIND_LABELS[a.kind as keyof typeof ALERT_KIND_LABELS] ?? a.kindLabel}
                        </span>
                        {a.severity === 'critical' && (
                          <span class="tag tag-red"> {ALERT_SEVERITY_LABELS.critical.toLowerCase()}</span>
                        )}
                      </td>
                      <td>{ref.sector(a.sector)}</td>
                      <td>{a.municipalityName ?? ref.municipality(a.municipality)}</td>
                      <td>
                        {a.incidentId ? (
                          <a href={href(`/incidents/${a.incidentId}`)} data-testid="alert-incident">
                            {incidentNumber(a.incidentId)}
                          </a>
                        ) : a.sector && a.municipality ? (
                          <a
                            href={href('/incidents', {
                              sector: a.sector,
                              municipality: a.municipality,
                              sentiment: 'negative',
                            })}
                          >
                            негативные
                          </a>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td class="c-wide alert-text">{body(a.text)}</td>
                      <td class="c-actions">
                        {a.acknowledgedAt ? (
                          <span class="muted small" data-testid="alert-acked">
                            {a.acknowledgedBy?.replace(/^staff:/, '')}, {fmtDateTime(a.acknowledgedAt)}
                          </span>
                        ) : (
                          <button
                            type="button"
                            data-testid="alert-ack"
                            disabled={busy === a.id}
                            onClick={() => void ack(a)}
                          >
                            Рассмотрено
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager total={page.total} offset={offset} limit={LIMIT} onChange={setOffset} />
            </>
          )
        }
      </WhenLoaded>
      <AlertSettingsBox />
    </section>
  );
}

/** The detection settings: shown to those who may read settings, editable by those who may write them. */
function AlertSettingsBox() {
  const settings = useLoad(() => api.get<AlertSettings>('/settings/alerts'), []);
  const [draft, setDraft] = useState<Record<string, string> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  if (settings.error instanceof ApiError && settings.error.status === 403) return null;
  const s = settings.data;
  const form =
    draft ??
    (s
      ? {
          spikeK: String(s.spikeK),
          spikeMinCount: String(s.spikeMinCount),
          toxicThreshold: String(s.toxicThreshold),
          repeatCount: String(s.repeatCount),
          repeatWindowHours: String(s.repeatWindowHours),
          replyToxicScore: String(s.replyToxicScore),
          centerChatId: s.centerChatId ?? '',
        }
      : null);
  const set = (k: string) => (e: Event) =>
    setDraft({ ...(form ?? {}), [k]: (e.currentTarget as HTMLInputElement).value });

  async function save(e: Event) {
    e.preventDefault();
    if (!form) return;
    setError(null);
    setSaved(null);
    try {
      const next = await api.put<AlertSettings>('/settings/alerts', {
        spikeK: Number(form.spikeK.replace(',', '.')),
        spikeMinCount: Number(form.spikeMinCount),
        toxicThreshold: Number(form.toxicThreshold),
        repeatCount: Number(form.repeatCount),
        repeatWindowHours: Number(form.repeatWindowHours),
        replyToxicScore: Number(form.replyToxicScore.replace(',', '.')),
        centerChatId: form.centerChatId?.trim() || null,
      });
      settings.setData(next);
      setDraft(null);
      setSaved('Параметры сохранены.');
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 403
          ? 'Изменять параметры может администратор или руководитель ЦУР.'
          : errorText(err),
      );
    }
  }

  return (
    <details class="box alert-settings" data-testid="alert-settings">
      <summary>Параметры обнаружения</summary>
      <ErrorLine error={settings.error ?? error} />
      <Notice text={saved} />
      {form && (
        <form class="inline-form" onSubmit={(e) => void save(e)}>
          <Field label="Всплеск: k (стандартных отклонений)">
            <input class="w-5" value={form.spikeK} onInput={set('spikeK')} data-testid="alert-spike-k" />
          </Field>
          <Field label="Всплеск: не меньше сообщений за сутки">
            <input
              class="w-5"
              type="number"
              min={1}
              value={form.spikeMinCount}
              onInput={set('spikeMinCount')}
            />
          </Field>
          <Field label="Токсичных сообщений в ветке">
            <input
              class="w-5"
              type="number"
              min={1}
              value={form.toxicThreshold}
              onInput={set('toxicThreshold')}
            />
          </Field>
          <Field label="Повторов от одного заявителя">
            <input class="w-5" type="number" min={2} value={form.repeatCount} onInput={set('repeatCount')} />
          </Field>
          <Field label="…за часов">
            <input
              class="w-5"
              type="number"
              min={1}
              value={form.repeatWindowHours}
              onInput={set('repeatWindowHours')}
            />
          </Field>
          <Field label="Грубый ответ: порог токсичности (0,5–1)">
            <input class="w-5" value={form.replyToxicScore} onInput={set('replyToxicScore')} />
          </Field>
          <Field label="Чат ЦУР в Telegram (id; пусто — только рабочее место)">
            <input
              class="w-12"
              value={form.centerChatId}
              onInput={set('centerChatId')}
              data-testid="alert-chat"
            />
          </Field>
          <button type="submit" data-testid="alert-settings-save">
            Сохранить
          </button>
        </form>
      )}
    </details>
  );
}
