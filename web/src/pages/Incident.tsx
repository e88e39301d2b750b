// One incident: header with deadlines, actions (accept / work / done / hand over / ask details),
// status change, the message thread with analysis and one-click corrections, drafts, the timeline.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import {
  Deadline,
  Empty,
  ErrorLine,
  Loading,
  Notice,
  Select,
  StatusBadge,
  useEvery,
  useLoad,
} from '../components';
import { DraftEditor } from '../DraftEditor';
import {
  DRAFT_KIND_LABELS,
  EVENT_LABELS,
  fmtDateTime,
  platformOfSource,
  fmtPercent,
  label,
  labelOptions,
  safeUrl,
  SENTIMENT_LABELS,
  TRANSITIONS,
} from '../format';
import { useReference, type RefData } from '../reference';
import { listHash } from '../router';
import { useIncidentStream } from '../stream';
import type { Draft, IncidentDetail, IncidentEvent, Message, Page } from '../types';

type Mode = null | 'done' | 'details' | 'other' | 'transition';

const ACTION_NOTICES: Record<string, string> = {
  accept: 'Инцидент принят.',
  work: 'Инцидент взят в работу.',
  done: 'Инцидент отмечен как решённый.',
  other: 'Инцидент передан другому ведомству.',
  details: 'Вопрос к заявителю передан на согласование SMM.',
};

interface Loaded {
  incident: IncidentDetail;
  drafts: Draft[];
  /** Messages to the citizens of this incident and how they went; null when the role may not read them. */
  outbound: Outbound[] | null;
}

interface Outbound {
  id: number;
  purpose: string;
  source: string;
  status: string;
  text: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

const OUTBOUND_PURPOSES: Record<string, string> = {
  reply: 'Ответ',
  status: 'Изменение статуса',
  confirmation: 'Подтверждение регистрации',
  survey: 'Вопрос об оценке',
  prompt: 'Вопрос бота',
  discussion: 'Обсуждение',
};

const OUTBOUND_STATUSES: Record<string, { label: string; tag: string }> = {
  pending: { label: 'В очереди', tag: 'tag-grey' },
  sending: { label: 'Отправляется', tag: 'tag-grey' },
  sent: { label: 'Доставлено', tag: 'tag-green' },
  failed: { label: 'Не доставлено', tag: 'tag-red' },
  uncertain: { label: 'Не известно: сбой во время отправки', tag: 'tag-amber' },
  skipped: { label: 'Не отправлено: заявитель отписался', tag: 'tag-grey' },
};

async function loadIncident(id: string): Promise<Loaded> {
  const [incident, queue] = await Promise.all([
    api.get<IncidentDetail>(`/incidents/${encodeURIComponent(id)}`),
    // The queue has the richer draft shape (suggestions, approvals); not every role may read it.
    api
      .get<Page<Draft>>('/drafts', { incident: id, status: 'pending,approved_once', limit: 50 })
      .catch(() => null),
  ]);
  const rich = new Map((queue?.items ?? []).map((d) => [d.id, d]));
  const drafts = (incident.drafts ?? []).map((d) => ({ ...d, ...(rich.get(d.id) ?? {}) }));
  for (const d of queue?.items ?? []) if (!drafts.some((x) => x.id === d.id)) drafts.push(d);
  const outbound = await api
    .get<{ items: Outbound[] }>(`/incidents/${encodeURIComponent(id)}/outbound`)
    .then((r) => r.items.filter((o) => OUTBOUND_PURPOSES[o.purpose]))
    .catch(() => null);
  return { incident, drafts, outbound };
}

export function IncidentPage({ id }: { id: string }) {
  const ref = useReference();
  const state = useLoad(() => loadIncident(id), [id]);
  const [notice, setNotice] = useState<string | null>(null);
  useIncidentStream(
    () => state.reload(true),
    (e) => String(e.id) === id,
  );
  useEffect(() => setNotice(null), [id]);
  // Deliveries change without an incident event: look again while any is still on its way.
  const inFlight = (state.data?.outbound ?? []).some((o) => o.status === 'pending' || o.status === 'sending');
  useEvery(inFlight, 5000, () => state.reload(true));

  if (state.loading && !state.data) return <Loading />;
  if (!state.data)
    return (
      <section>
        <a href={listHash()}>← К списку инцидентов</a>
        <ErrorLine error={state.error ?? 'Инцидент не найден.'} />
      </section>
    );

  const { incident: inc, drafts, outbound } = state.data;
  const messages = inc.messages ?? [];
  const events = [...(inc.events ?? [])].sort((a, b) => b.at.localeCompare(a.at));
  const refresh = (msg?: string) => {
    if (msg) setNotice(msg);
    state.reload(true);
  };

  return (
    <section class="incident" data-testid="incident" data-id={inc.id} data-status={inc.status}>
      <div class="crumbs">
        <a href={listHash()} data-testid="back">
          ← К списку инцидентов
        </a>
      </div>
      <div class="page-head">
        <h1 data-testid="incident-number">Инцидент {inc.number}</h1>
        <span data-testid="incident-status">
          <StatusBadge status={inc.status} label={inc.statusLabel} />
        </span>
        {inc.overdue && <span class="tag tag-red">Просрочен</span>}
        {inc.paused && <span class="tag tag-grey">Срок приостановлен</span>}
        {inc.sensitive && <span class="tag tag-amber">Чувствительная тема</span>}
      </div>
      {inc.summary && <p class="lead">{inc.summary}</p>}
      <dl class="facts">
        <div>
          <dt>Профильный блок</dt>
          <dd>{inc.sectorName || ref.sector(inc.sector)}</dd>
        </div>
        <div>
          <dt>Муниципалитет</dt>
          <dd>{inc.municipalityName || ref.municipality(inc.municipality)}</dd>
        </div>
        <div>
          <dt>Ведомство</dt>
          <dd data-testid="incident-agency">{inc.agencyName || ref.agency(inc.agencyId)}</dd>
        </div>
        <div>
          <dt>Адрес / объект</dt>
          <dd>{inc.address || '—'}</dd>
        </div>
        <div>
          <dt>Канал</dt>
          <dd>{ref.channel(inc.channelKind)}</dd>
        </div>
        <div>
          <dt>Сообщений / авторов / негативных</dt>
          <dd>
            {inc.messageCount ?? inc.messagesCount ?? messages.length} /{' '}
            {inc.authorCount ?? inc.authorsCount ?? '—'} / {inc.negativeCount ?? '—'}
          </dd>
        </div>
        <div>
          <dt>Срок первого ответа</dt>
          <dd>
            <Deadline due={inc.firstResponseDue} overdue={inc.firstResponseOverdue} />
            {inc.firstRespondedAt && (
              <span class="small muted"> ответ дан {fmtDateTime(inc.firstRespondedAt)}</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Срок решения</dt>
          <dd data-testid="incident-deadline">
            <Deadline
              due={inc.resolutionDue}
              overdue={inc.resolutionOverdue ?? inc.overdue}
              paused={inc.paused}
            />
          </dd>
        </div>
        <div>
          <dt>Создан</dt>
          <dd>{fmtDateTime(inc.createdAt)}</dd>
        </div>
        {inc.updatedAt && (
          <div>
            <dt>Обновлён</dt>
            <dd>{fmtDateTime(inc.updatedAt)}</dd>
          </div>
        )}
        {inc.result && (
          <div class="wide">
            <dt>Результат</dt>
            <dd class="pre">{inc.result}</dd>
          </div>
        )}
      </dl>

      <Actions incident={inc} onDone={refresh} />
      <Notice text={notice} />
      {state.error && state.data ? <ErrorLine error={state.error} /> : null}

      <div class="incident-cols">
        <div>
          <h2>Сообщения ({messages.length})</h2>
          {messages.length ? (
            messages.map((m) => (
              <MessageCard
                key={m.id}
                message={m}
                onCorrected={(task, value) =>
                  refresh(
                    task === 'sector' && value !== inc.sector
                      ? `Сфера сообщения исправлена на «${ref.sector(value)}». Инцидент пока в блоке «${ref.sector(inc.sector)}»: если он не ваш, нажмите «Передать другому ведомству…»: ведомства новой сферы будут первыми.`
                      : undefined,
                  )
                }
              />
            ))
          ) : (
            <Empty text="Сообщений нет или они вам недоступны" />
          )}
        </div>
        <div>
          <h2>Черновики ответов</h2>
          {drafts.length ? (
            drafts.map((d) => (
              <DraftEditor
                key={d.id}
                draft={d}
                onChanged={() => {
                  setNotice(null);
                  state.reload(true);
                }}
              />
            ))
          ) : (
            <Empty text="Черновиков нет" />
          )}
          {outbound && outbound.length > 0 && <Deliveries items={outbound} />}
          <h2>История</h2>
          <Timeline events={events} ref_={ref} />
        </div>
      </div>
    </section>
  );
}

interface Choice {
  id: string;
  shortName: string;
  sector: string | null;
  suggested: boolean;
}

function groupBySector(items: Choice[]): [string, Choice[]][] {
  const m = new Map<string, Choice[]>();
  for (const c of items) m.set(c.sector ?? '', [...(m.get(c.sector ?? '') ?? []), c]);
  return [...m.entries()];
}

function Actions({ incident, onDone }: { incident: IncidentDetail; onDone: (msg: string) => void }) {
  const ref = useReference();
  const [mode, setMode] = useState<Mode>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [choices, setChoices] = useState<Choice[] | null>(null);
  const [other, setOther] = useState('');
  const [to, setTo] = useState('');

  useEffect(() => {
    setMode(null);
    setError(null);
  }, [incident.id, incident.status]);

  async function act(action: string, extra: Record<string, string> = {}) {
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ message?: string }>(`/incidents/${incident.id}/actions`, {
        action,
        ...extra,
      });
      setMode(null);
      setText('');
      // The server says what happened (in Russian), e.g. that a question waits for SMM approval.
      onDone(r?.message ?? ACTION_NOTICES[action] ?? 'Готово.');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function openOther() {
    if (mode === 'other') return setMode(null);
    setMode('other');
    setChoices(null);
    setError(null);
    try {
      const r = await api.get<{ items: Choice[] }>(`/incidents/${incident.id}/handover-choices`, {
        limit: 1000,
      });
      setChoices(r.items);
    } catch (e) {
      setError(e);
      setChoices([]);
    }
  }

  async function transition() {
    if (!to) return setError('Выберите новый статус.');
    setBusy(true);
    setError(null);
    try {
      await api.post(
        `/incidents/${incident.id}/transitions`,
        text.trim() ? { to, reason: text.trim() } : { to },
      );
      setMode(null);
      setText('');
      onDone(`Статус изменён: ${ref.status(to)}.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  function toggle(m: Mode) {
    setError(null);
    setText('');
    setMode(mode === m ? null : m);
  }

  const targets = TRANSITIONS[incident.status] ?? [];

  return (
    <div class="actions-box">
      <div class="buttons">
        <button type="button" data-testid="action-accept" disabled={busy} onClick={() => void act('accept')}>
          Принять
        </button>
        <button type="button" data-testid="action-work" disabled={busy} onClick={() => void act('work')}>
          Взять в работу
        </button>
        <button
          type="button"
          data-testid="action-done"
          class={mode === 'done' ? 'active' : ''}
          disabled={busy}
          onClick={() => toggle('done')}
        >
          Решено…
        </button>
        <button
          type="button"
          data-testid="action-other"
          class={mode === 'other' ? 'active' : ''}
          disabled={busy}
          onClick={() => void openOther()}
        >
          Передать другому ведомству…
        </button>
        <button
          type="button"
          data-testid="action-details"
          class={mode === 'details' ? 'active' : ''}
          disabled={busy}
          onClick={() => toggle('details')}
        >
          Запросить уточнения…
        </button>
        {targets.length > 0 && (
          <button
            type="button"
            data-testid="action-transition"
            class={mode === 'transition' ? 'active subtle' : 'subtle'}
            disabled={busy}
            onClick={() => {
              setTo('');
              toggle('transition');
            }}
          >
            Сменить статус…
          </button>
        )}
      </div>
      {(mode === 'done' || mode === 'details') && (
        <form
          class="action-form"
          onSubmit={(e) => {
            e.preventDefault();
            const v = text.trim();
            if (!v)
              return setError(mode === 'done' ? 'Опишите результат.' : 'Сформулируйте вопрос заявителю.');
            void act(mode, mode === 'done' ? { result: v } : { question: v });
          }}
        >
          <label class="field">
            <span class="field-label">
              {mode === 'done' ? 'Что сделано (будет сообщено заявителям)' : 'Вопрос заявителю'}
            </span>
            <textarea
              data-testid="action-text"
              rows={3}
              value={text}
              autoFocus
              onInput={(e) => setText(e.currentTarget.value)}
            />
          </label>
          <div class="buttons">
            <button type="submit" class="primary" data-testid="action-submit" disabled={busy}>
              {mode === 'done' ? 'Отметить решённым' : 'Отправить запрос'}
            </button>
            <button type="button" onClick={() => setMode(null)}>
              Отмена
            </button>
          </div>
        </form>
      )}
      {mode === 'other' && (
        <div class="action-form">
          <div class="field-label">Кому передать</div>
          {choices === null ? (
            <div class="loading">Загрузка…</div>
          ) : choices.length === 0 ? (
            <Empty text="Нет доступных ведомств для передачи" />
          ) : (
            <>
              {choices.some((c) => c.suggested) && (
                <p class="small" data-testid="handover-suggested">
                  Сфера сообщения исправлена на «{ref.sector(choices.find((c) => c.suggested)!.sector)}»:
                  первыми показаны ведомства этой сферы — инцидент перейдёт в её профильный блок.
                </p>
              )}
              <div class="choices">
                {choices.slice(0, 8).map((c) => (
                  <button
                    type="button"
                    key={c.id}
                    data-testid="handover-choice"
                    data-agency-id={c.id}
                    disabled={busy}
                    onClick={() => void act('other', { agencyId: c.id })}
                  >
                    {c.shortName}
                    {c.sector !== incident.sector && c.sector ? ` (${ref.sector(c.sector)})` : ''}
                  </button>
                ))}
              </div>
              {choices.length > 8 && (
                <div class="inline-form">
                  <select
                    data-testid="handover-other"
                    value={other}
                    onChange={(e) => setOther(e.currentTarget.value)}
                  >
                    <option value="">Другое ведомство…</option>
                    {groupBySector(choices.slice(8)).map(([sector, items]) => (
                      <optgroup key={sector} label={sector ? ref.sector(sector) : 'Без сферы'}>
                        {items.map((c) => (
                          <option key={c.id} value={c.id}>
                            {c.shortName}
                          </option>
                        ))}
                      </optgroup>
                    ))}
                  </select>
                  <button
                    type="button"
                    data-testid="handover-other-go"
                    disabled={busy || !other}
                    onClick={() => void act('other', { agencyId: other })}
                  >
                    Передать
                  </button>
                </div>
              )}
            </>
          )}
        </div>
      )}
      {mode === 'transition' && (
        <form
          class="action-form inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void transition();
          }}
        >
          <select data-testid="transition-to" value={to} onChange={(e) => setTo(e.currentTarget.value)}>
            <option value="">Новый статус…</option>
            {targets.map((s) => (
              <option key={s} value={s}>
                {ref.status(s)}
              </option>
            ))}
          </select>
          <input
            data-testid="transition-reason"
            placeholder={
              to === 'rejected'
                ? 'Причина (обязательно; её получит заявитель)'
                : to === 'reopened'
                  ? 'Причина (обязательно)'
                  : 'Причина / комментарий'
            }
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <button type="submit" class="primary" data-testid="transition-submit" disabled={busy}>
            Применить
          </button>
        </form>
      )}
      <ErrorLine error={error} />
    </div>
  );
}

const SENTIMENTS = labelOptions(SENTIMENT_LABELS);

function MessageCard({
  message: m,
  onCorrected,
}: {
  message: Message;
  onCorrected: (task: 'sector' | 'sentiment', value: string) => void;
}) {
  const ref = useReference();
  const a = m.analysis;
  const [sector, setSector] = useState(a?.sector ?? '');
  const [sentiment, setSentiment] = useState(a?.sentiment ?? '');
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setSector(a?.sector ?? ''), [a?.sector]);
  useEffect(() => setSentiment(a?.sentiment ?? ''), [a?.sentiment]);

  async function correct(task: 'sector' | 'sentiment', value: string, revert: () => void) {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await api.post(`/messages/${m.id}/labels`, { task, label: value });
      setDone('Исправлено');
      onCorrected(task, value);
    } catch (e) {
      revert();
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  // The labels a person may correct: «—» until one is set; a refused correction is reverted.
  const corrections = [
    { task: 'sector', title: 'Верный блок:', value: sector, set: setSector, options: ref.sectorOptions() },
    { task: 'sentiment', title: 'Тональность:', value: sentiment, set: setSentiment, options: SENTIMENTS },
  ] as const;

  const url = safeUrl(m.url);
  const corrected = a?.corrected;
  const wasCorrected = Array.isArray(corrected) ? corrected.length > 0 : !!corrected;

  return (
    <article class="message" data-testid="message" data-id={m.id}>
      <header class="message-head">
        <span class={m.author ? 'author' : 'author muted'} data-testid="message-author">
          {m.author ?? 'скрыто'}
        </span>
        {m.channelKind && <span class="muted">{ref.channel(m.channelKind)}</span>}
        <span class="muted small">{m.source}</span>
        <span class="muted">{fmtDateTime(m.postedAt)}</span>
        {url && (
          <a href={url} target="_blank" rel="noopener noreferrer nofollow">
            Открыть источник ↗
          </a>
        )}
      </header>
      <div class="message-text">{m.text}</div>
      {a ? (
        <div class="analysis">
          <span>
            Блок: <b>{ref.sector(a.sector)}</b> <span class="muted">({fmtPercent(a.sectorScore)})</span>
          </span>
          <span>Тональность: {label(SENTIMENT_LABELS, a.sentiment)}</span>
          <span class={a.toxicScore !== null && a.toxicScore >= 0.5 ? 'text-red' : ''}>
            Токсичность: {fmtPercent(a.toxicScore)}
          </span>
          <span>Муниципалитет: {ref.municipality(a.municipality)}</span>
          <span>Адрес: {a.address || '—'}</span>
          {a.needsReview && (
            <span class="tag tag-amber" data-testid="needs-review">
              Требует проверки
            </span>
          )}
          {wasCorrected && <span class="tag tag-grey">Исправлено сотрудником</span>}
        </div>
      ) : (
        <div class="analysis muted">Анализ ещё не выполнен</div>
      )}
      <div class="correct">
        {corrections.map((c) => (
          <label key={c.task}>
            {c.title}{' '}
            <Select
              testid={`correct-${c.task}`}
              value={c.value}
              empty={c.value ? undefined : '—'}
              options={c.options}
              disabled={busy}
              onChange={(v) => {
                const prev = c.value;
                c.set(v);
                if (v) void correct(c.task, v, () => c.set(prev));
              }}
            />
          </label>
        ))}
        {done && (
          <span class="ok-text" data-testid="corrected">
            {done}
          </span>
        )}
      </div>
      <ErrorLine error={error} />
    </article>
  );
}

const DATA_LABELS: Record<string, string> = {
  reason: 'Причина',
  result: 'Результат',
  question: 'Вопрос',
  comment: 'Комментарий',
  note: 'Примечание',
  text: 'Текст',
};
const AGENCY_KEYS: Record<string, string> = {
  agencyId: 'Ведомство',
  fromAgency: 'Было',
  toAgency: 'Стало',
  fromAgencyId: 'Было',
  toAgencyId: 'Стало',
};

function eventDetails(e: IncidentEvent, ref: RefData): string[] {
  const out: string[] = [];
  const from = e.fromStatus ?? e.from;
  const to = e.toStatus ?? e.to;
  if (from || to) out.push(`${from ? ref.status(from) : '—'} → ${to ? ref.status(to) : '—'}`);
  const d = e.data;
  if (d && typeof d === 'object' && !Array.isArray(d)) {
    for (const [k, v] of Object.entries(d as Record<string, unknown>)) {
      if (v === null || v === undefined || v === '') continue;
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      if (k in AGENCY_KEYS) out.push(`${AGENCY_KEYS[k]}: ${ref.agency(String(v))}`);
      else if (k in DATA_LABELS) out.push(`${DATA_LABELS[k]}: ${v}`);
      else if (k === 'kind' && DRAFT_KIND_LABELS[String(v)]) out.push(`Вид: ${DRAFT_KIND_LABELS[String(v)]}`);
      else if (k === 'sector') out.push(`Блок: ${ref.sector(String(v))}`);
    }
  }
  return out;
}

/** What was sent to the citizens of the incident, newest first, and whether it arrived. */
function Deliveries({ items }: { items: Outbound[] }) {
  const rows = [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const failed = rows.filter((o) => o.status === 'failed').length;
  return (
    <>
      <h2>Сообщения заявителям</h2>
      {failed > 0 && (
        <p class="small text-red" data-testid="deliveries-failed">
          Не доставлено сообщений: {failed}. Заявитель мог заблокировать бота или удалить сообщение —
          свяжитесь с ним иначе.
        </p>
      )}
      <table class="table small" data-testid="deliveries">
        <tbody>
          {rows.map((o) => {
            const st = OUTBOUND_STATUSES[o.status] ?? { label: o.status, tag: 'tag-grey' };
            return (
              <tr key={o.id} data-testid="delivery" data-status={o.status}>
                <td>{fmtDateTime(o.sentAt ?? o.createdAt)}</td>
                <td>
                  {OUTBOUND_PURPOSES[o.purpose]}, {platformOfSource(o.source)}
                </td>
                <td>
                  <span class={`tag ${st.tag}`}>{st.label}</span>
                  {o.status === 'failed' && o.lastError && (
                    <div class="muted" title={o.lastError}>
                      Попыток: {o.attempts}
                    </div>
                  )}
                </td>
                <td title={o.text}>{o.text.length > 90 ? `${o.text.slice(0, 90)}…` : o.text}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function Timeline({ events, ref_ }: { events: IncidentEvent[]; ref_: RefData }) {
  if (!events.length) return <Empty text="Событий нет" />;
  return (
    <ol class="timeline" data-testid="timeline">
      {events.map((e, i) => (
        <li key={e.id ?? i} data-testid="event" data-type={e.type}>
          <div class="tl-head">
            <b>{label(EVENT_LABELS, e.type)}</b>
            <span class="muted small">{fmtDateTime(e.at)}</span>
            {e.actor && <span class="muted small">{e.actor}</span>}
          </div>
          {eventDetails(e, ref_).map((t, j) => (
            <div key={j} class="small tl-detail">
              {t}
            </div>
          ))}
        </li>
      ))}
    </ol>
  );
}
