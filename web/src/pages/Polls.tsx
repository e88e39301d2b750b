// Polls and public discussions: the list, the editor, submission and approval (nothing goes out before),
// closing, live results (bars by option, a table by municipality) and the summary of a discussion (sectors,
// sentiment, recurring proposals, comments). Open polls and discussions refresh every few seconds.
// Each role sees the buttons it may press (a refusal by role makes the page read-only); approving a poll
// asks first, naming how many subscribers it goes to.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, errorText } from '../api';
import {
  Empty,
  ErrorLine,
  Field,
  Notice,
  Select,
  useEvery,
  useLoad,
  WhenLoaded,
  type Loaded,
} from '../components';
import {
  fmtDateTime,
  fmtPercent,
  incidentNumber,
  label,
  labelOptions,
  platformOfSource,
  SENTIMENT_LABELS,
} from '../format';
import { useReference } from '../reference';
import { href, navigate, type Route } from '../router';
import type { DiscussionItem, DiscussionSummary, Page, PollItem, PollResults, SegmentItem } from '../types';
import { rulesText, useOutreachRoles, type OutreachRoles } from './Outreach';

/** The results with the messages skipped because the citizen left before their turn. */
type Results = PollResults & { delivery: PollResults['delivery'] & { skipped?: number } };

/** What the user may do here: the roles, less what the server refused by role. */
interface Rights {
  canWrite: boolean;
  canApprove: boolean;
  login: string;
  /** A refusal by role (403 FORBIDDEN_ROLE) of a write or an approval: that part becomes read-only. */
  refused: (kind: 'write' | 'approve') => void;
}

function useRights(): Rights {
  const roles: OutreachRoles = useOutreachRoles();
  const [refused, setRefused] = useState<{ write: boolean; approve: boolean }>({
    write: false,
    approve: false,
  });
  return {
    canWrite: roles.canWrite && !refused.write,
    canApprove: roles.canApprove && !refused.approve,
    login: roles.login,
    refused: (kind) => setRefused((r) => ({ ...r, [kind]: true })),
  };
}

const readOnlyText = (r: Rights, what: string) =>
  r.canWrite || r.canApprove
    ? null
    : `Только просмотр: ваша роль не позволяет создавать, утверждать и завершать ${what}.`;

const LIVE_MS = 3000;

const POLL_STATUS: Record<string, string> = {
  draft: 'Черновик',
  pending_approval: 'На согласовании',
  open: 'Идёт голосование',
  closed: 'Завершён',
  cancelled: 'Отменён',
};
const DISCUSSION_STATUS: Record<string, string> = {
  draft: 'Черновик',
  open: 'Идёт сбор мнений',
  closed: 'Завершено',
};
const CHANNELS: Record<string, string> = {
  all: 'Telegram и ВКонтакте',
  telegram: 'Telegram',
  vk: 'ВКонтакте',
};
const MODES: Record<string, string> = {
  buttons: 'Кнопки под сообщением',
  native: 'Опрос Telegram (ВКонтакте — кнопки)',
};

const TABS = [
  { key: 'polls', title: 'Опросы', href: '#/polls' },
  { key: 'discussions', title: 'Обсуждения', href: '#/polls/discussions' },
];

/** `datetime-local` value of a moment (the browser's time zone). */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function Bar({ share, testid }: { share: number; testid?: string }) {
  return (
    <span class="pl-bar" data-testid={testid}>
      <span class="pl-bar-fill" style={{ width: `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%` }} />
    </span>
  );
}

/** The status of a poll or a discussion as a badge. */
function Status({
  labels,
  status,
  testid,
}: {
  labels: Record<string, string>;
  status: string;
  testid?: string;
}) {
  return (
    <span class={`badge pl-st-${status}`} data-testid={testid}>
      {label(labels, status)}
    </span>
  );
}

/** A button of a detail panel's actions. */
function ActButton({
  busy,
  testid,
  onClick,
  children,
}: {
  busy: boolean;
  testid: string;
  onClick: () => void;
  children: ComponentChildren;
}) {
  return (
    <button type="button" disabled={busy} data-testid={testid} onClick={onClick}>
      {children}
    </button>
  );
}

/**
 * The busy flag and the error of a detail panel's actions; `run` does one (errors go through `wrap`). A
 * refusal by role calls `onForbidden` (the page hides what the role may not do, as the other pages do).
 */
function useAction(wrap: (e: unknown) => unknown = (e) => e) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function run(fn: () => Promise<void>, onForbidden?: () => void) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 403 && e.code === 'FORBIDDEN_ROLE') onForbidden?.();
      setError(wrap(e));
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run };
}

/**
 * A tab of polls or discussions: the «new» toggle with its editor (a saved item is opened), the table of
 * `list` (`head` is its header row, `row` the cells of an item) and the detail panel of the selected item.
 */
function ListTab<T extends { id: number }>({
  kind,
  path,
  newText,
  emptyText,
  canCreate,
  readOnly,
  list,
  selected,
  head,
  row,
  editor,
  detail,
}: {
  /** `poll` or `discussion`: the prefix of the test ids. */
  kind: string;
  path: string;
  newText: string;
  emptyText: string;
  /** The role may write drafts (else no «new» button and no editor). */
  canCreate: boolean;
  /** Said above the list when the role may only read. */
  readOnly: string | null;
  list: Loaded<Page<T>>;
  selected: number | null;
  head: ComponentChildren;
  row: (item: T) => ComponentChildren;
  editor: (onSaved: (item: T) => void) => ComponentChildren;
  detail: (id: number, onChanged: () => void) => ComponentChildren;
}) {
  const [editing, setEditing] = useState(false);
  const open = (id: number) => navigate(href(path, { id }));
  return (
    <>
      {canCreate && (
        <div class="toolbar">
          <button type="button" data-testid={`${kind}-new`} onClick={() => setEditing(!editing)}>
            {editing ? 'Скрыть редактор' : newText}
          </button>
        </div>
      )}
      {readOnly && (
        <p class="muted" data-testid={`${kind}-read-only`}>
          {readOnly}
        </p>
      )}
      {editing &&
        canCreate &&
        editor((item) => {
          setEditing(false);
          list.reload(true);
          open(item.id);
        })}
      <WhenLoaded list={list}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty text={emptyText} />
          ) : (
            <table class="grid" data-testid={`${kind}s`}>
              <thead>
                <tr>{head}</tr>
              </thead>
              <tbody>
                {page.items.map((item) => (
                  <tr
                    key={item.id}
                    data-testid={`${kind}-row`}
                    class={item.id === selected ? 'pl-selected' : ''}
                    onClick={() => open(item.id)}
                  >
                    {row(item)}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </WhenLoaded>
      {selected && detail(selected, () => list.reload(true))}
    </>
  );
}

/** Counts of comments by a category with a bar of their share. */
function ShareTable<T>({
  title,
  items,
  total,
  keyOf,
  nameOf,
}: {
  title: string;
  items: (T & { count: number })[];
  total: number;
  keyOf: (x: T) => string;
  nameOf: (x: T) => ComponentChildren;
}) {
  return (
    <table class="grid narrow">
      <thead>
        <tr>
          <th>{title}</th>
          <th class="pl-bar-cell" />
          <th class="c-num">Комм.</th>
        </tr>
      </thead>
      <tbody>
        {items.map((x) => (
          <tr key={keyOf(x)}>
            <td>{nameOf(x)}</td>
            <td class="pl-bar-cell">
              <Bar share={x.count / total} />
            </td>
            <td class="c-num">{x.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PollsPage({ route }: { route: Route }) {
  const tab = route.parts[1] === 'discussions' ? 'discussions' : 'polls';
  const selected = Number(route.query.get('id')) || null;
  const rights = useRights();
  return (
    <section>
      <div class="page-head">
        <h1>Опросы и обсуждения</h1>
      </div>
      <nav class="subnav" aria-label="Опросы и обсуждения">
        {TABS.map((t) => (
          <a key={t.key} href={t.href} data-testid={`tab-${t.key}`} class={t.key === tab ? 'active' : ''}>
            {t.title}
          </a>
        ))}
      </nav>
      {tab === 'polls' ? (
        <PollsTab selected={selected} rights={rights} />
      ) : (
        <DiscussionsTab selected={selected} rights={rights} />
      )}
    </section>
  );
}

// ---- polls ----------------------------------------------------------------------------------------------

function PollsTab({ selected, rights }: { selected: number | null; rights: Rights }) {
  const list = useLoad(() => api.get<Page<PollItem>>('/polls', { limit: 100 }), []);
  const anyOpen = list.data?.items.some((p) => p.status === 'open') ?? false;
  useEvery(anyOpen, LIVE_MS * 2, () => list.reload(true));
  return (
    <ListTab
      kind="poll"
      path="/polls"
      newText="Новый опрос"
      emptyText="Опросов пока нет"
      canCreate={rights.canWrite}
      readOnly={readOnlyText(rights, 'опросы')}
      list={list}
      selected={selected}
      head={
        <>
          <th class="c-wide">Вопрос</th>
          <th>Статус</th>
          <th>Канал</th>
          <th class="c-date">До</th>
          <th class="c-num">Получатели</th>
          <th class="c-num">Голоса</th>
        </>
      }
      row={(p) => (
        <>
          <td class="c-wide">
            <a href={href('/polls', { id: p.id })}>{p.question}</a>
          </td>
          <td>
            <Status labels={POLL_STATUS} status={p.status} />
          </td>
          <td>{label(CHANNELS, p.channel)}</td>
          <td class="c-date">{fmtDateTime(p.closesAt)}</td>
          <td class="c-num">{p.recipients ?? 0}</td>
          <td class="c-num">{p.votes ?? 0}</td>
        </>
      )}
      editor={(onSaved) => <PollEditor onSaved={onSaved} />}
      detail={(id, onChanged) => <PollDetail key={id} id={id} rights={rights} onChanged={onChanged} />}
    />
  );
}

function PollEditor({ onSaved }: { onSaved: (p: PollItem) => void }) {
  const segments = useLoad(
    () => api.get<{ items: SegmentItem[] }>('/segments').catch(() => ({ items: [] as SegmentItem[] })),
    [],
  );
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState<string[]>(['', '']);
  const [segmentId, setSegmentId] = useState('');
  const [channel, setChannel] = useState('all');
  const [mode, setMode] = useState('buttons');
  const [closesAt, setClosesAt] = useState(localInput(new Date(Date.now() + 3 * 86_400_000)));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const audience = useLoad(
    () =>
      api.get<{ recipients: number }>('/polls/audience', {
        segmentId: segmentId || undefined,
        channel,
      }),
    [segmentId, channel],
  );

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    const opts = options.map((o) => o.trim()).filter(Boolean);
    const when = new Date(closesAt);
    if (!question.trim()) return setError('Напишите вопрос.');
    if (opts.length < 2) return setError('Нужно не меньше двух вариантов ответа.');
    if (Number.isNaN(when.getTime()) || when <= new Date())
      return setError('Время завершения должно быть в будущем.');
    setBusy(true);
    try {
      const p = await api.post<PollItem>('/polls', {
        question: question.trim(),
        options: opts,
        segmentId: segmentId ? Number(segmentId) : null,
        channel,
        mode,
        closesAt: when.toISOString(),
      });
      onSaved(p);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const setOption = (i: number, v: string) => setOptions(options.map((o, j) => (j === i ? v : o)));
  return (
    <form class="box pl-editor" data-testid="poll-editor" onSubmit={(e) => void save(e)}>
      <h2>Новый опрос</h2>
      <ErrorLine error={error} />
      <Field label="Вопрос">
        <textarea
          class="w-full"
          rows={2}
          maxLength={300}
          value={question}
          data-testid="poll-question"
          onInput={(e) => setQuestion(e.currentTarget.value)}
        />
      </Field>
      <div class="field">
        <span class="field-label">Варианты ответа (2–10)</span>
        {options.map((o, i) => (
          <div class="inline-form" key={i}>
            <span class="muted">{i + 1}.</span>
            <input
              class="w-full"
              maxLength={100}
              value={o}
              data-testid={`poll-option-${i}`}
              onInput={(e) => setOption(i, e.currentTarget.value)}
            />
            {options.length > 2 && (
              <button
                type="button"
                title="Убрать вариант"
                onClick={() => setOptions(options.filter((_, j) => j !== i))}
              >
                ✕
              </button>
            )}
          </div>
        ))}
        {options.length < 10 && (
          <button type="button" data-testid="poll-add-option" onClick={() => setOptions([...options, ''])}>
            + Вариант
          </button>
        )}
      </div>
      <div class="inline-form">
        <Field label="Кому">
          <Select
            testid="poll-segment"
            value={segmentId}
            empty="Все подписчики"
            options={(segments.data?.items ?? []).map((s) => ({ value: String(s.id), label: s.name }))}
            onChange={setSegmentId}
          />
        </Field>
        <Field label="Канал">
          <Select
            testid="poll-channel"
            value={channel}
            options={labelOptions(CHANNELS)}
            onChange={setChannel}
          />
        </Field>
        <Field label="Вид">
          <Select testid="poll-mode" value={mode} options={labelOptions(MODES)} onChange={setMode} />
        </Field>
        <Field label="Голосование до">
          <input
            type="datetime-local"
            value={closesAt}
            data-testid="poll-closes"
            onInput={(e) => setClosesAt(e.currentTarget.value)}
          />
        </Field>
      </div>
      <p class="muted small" data-testid="poll-audience">
        {audience.data ? `Получат сейчас: ${audience.data.recipients} подписчиков` : ' '}
      </p>
      <div class="buttons">
        <button type="submit" disabled={busy} data-testid="poll-save">
          Сохранить черновик
        </button>
      </div>
    </form>
  );
}

/** The audience of a poll as staff read it: its segment (with its rules) or every subscriber. */
function audienceName(
  p: PollItem,
  segments: SegmentItem[] | undefined,
  ref: ReturnType<typeof useReference>,
) {
  if (p.segmentId === null) return 'все подписчики';
  const seg = segments?.find((s) => s.id === p.segmentId);
  if (!seg) return `сегмент № ${p.segmentId}`;
  return `сегмент «${seg.name}»: ${rulesText(seg.rules, ref)}`;
}

function PollDetail({ id, rights, onChanged }: { id: number; rights: Rights; onChanged: () => void }) {
  const ref = useReference();
  const poll = useLoad(() => api.get<PollItem>(`/polls/${id}`), [id]);
  const results = useLoad(() => api.get<Results>(`/polls/${id}/results`), [id]);
  const segments = useLoad(
    () => api.get<{ items: SegmentItem[] }>('/segments').catch(() => ({ items: [] as SegmentItem[] })),
    [],
  );
  const { error, busy, run } = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  /** The approval step: the audience counted right now, shown before anything is sent. */
  const [confirming, setConfirming] = useState<{ recipients: number } | null>(null);
  const p = poll.data;
  useEvery(p?.status === 'open', LIVE_MS, () => {
    results.reload(true);
    poll.reload(true);
  });

  async function act(action: 'submit' | 'approve' | 'close', confirmText?: string) {
    if (confirmText && !window.confirm(confirmText)) return;
    setNotice(null);
    setConfirming(null);
    await run(
      async () => {
        const out = await api.post<{ poll: PollItem; recipients?: number; queued?: number }>(
          `/polls/${id}/${action}`,
        );
        poll.setData(out.poll);
        if (action === 'approve')
          setNotice(`Опрос утверждён и отправляется: получателей — ${out.recipients ?? 0}.`);
        if (action === 'submit') setNotice('Опрос отправлен на согласование.');
        if (action === 'close')
          setNotice(out.poll.status === 'cancelled' ? 'Опрос отменён.' : 'Голосование завершено.');
        results.reload(true);
        onChanged();
      },
      () => rights.refused(action === 'approve' ? 'approve' : 'write'),
    );
  }

  /** First step of approving: count who would get it now and ask. */
  async function askApprove(item: PollItem) {
    setNotice(null);
    await run(async () => {
      const a = await api.get<{ recipients: number }>('/polls/audience', {
        segmentId: item.segmentId ?? undefined,
        channel: item.channel,
      });
      setConfirming(a);
    });
  }

  return (
    <div class="box pl-detail" data-testid="poll-detail">
      <WhenLoaded list={poll}>
        {(p) => (
          <>
            <h2 data-testid="poll-title">{p.question}</h2>
            <dl class="facts">
              <dt>Статус</dt>
              <dd>
                <Status labels={POLL_STATUS} status={p.status} testid="poll-status" />
              </dd>
              <dt>Кому</dt>
              <dd data-testid="poll-audience-name">{audienceName(p, segments.data?.items, ref)}</dd>
              <dt>Канал</dt>
              <dd>
                {label(CHANNELS, p.channel)}; {label(MODES, p.mode).toLowerCase()}
              </dd>
              <dt>Голосование до</dt>
              <dd>{fmtDateTime(p.closesAt)}</dd>
              <dt>Автор</dt>
              <dd>{p.createdBy?.replace(/^staff:/, '') ?? '—'}</dd>
              {p.approvedBy && (
                <>
                  <dt>Утвердил</dt>
                  <dd>
                    {p.approvedBy.replace(/^staff:/, '')}, {fmtDateTime(p.approvedAt)}
                  </dd>
                </>
              )}
            </dl>
            <ErrorLine error={error} />
            <Notice text={notice} />
            {confirming && p.status === 'pending_approval' ? (
              <div class="notice" role="alertdialog" data-testid="poll-approve-confirm">
                <p data-testid="poll-approve-text">
                  {confirming.recipients > 0
                    ? `Опрос сразу уйдёт ${confirming.recipients} подписчикам (${audienceName(p, segments.data?.items, ref)}; ${label(CHANNELS, p.channel)}). Отозвать отправленные сообщения будет нельзя.`
                    : `Сейчас этот опрос не получит никто (${audienceName(p, segments.data?.items, ref)}; ${label(CHANNELS, p.channel)}).`}
                </p>
                <div class="buttons">
                  <ActButton busy={busy} testid="poll-approve-yes" onClick={() => void act('approve')}>
                    {confirming.recipients > 0
                      ? `Утвердить и отправить ${confirming.recipients} подписчикам`
                      : 'Утвердить'}
                  </ActButton>
                  <button type="button" data-testid="poll-approve-no" onClick={() => setConfirming(null)}>
                    Не отправлять
                  </button>
                </div>
              </div>
            ) : (
              <div class="buttons">
                {p.status === 'draft' && rights.canWrite && (
                  <ActButton busy={busy} testid="poll-submit" onClick={() => void act('submit')}>
                    На согласование
                  </ActButton>
                )}
                {p.status === 'pending_approval' && rights.canApprove && (
                  <button
                    type="button"
                    disabled={busy}
                    data-testid="poll-approve"
                    title={
                      p.createdBy === `staff:${rights.login}`
                        ? 'Утвердить свой опрос можно, только если других утверждающих нет'
                        : ''
                    }
                    onClick={() => void askApprove(p)}
                  >
                    Утвердить и отправить…
                  </button>
                )}
                {p.status === 'open' && rights.canWrite && (
                  <ActButton
                    busy={busy}
                    testid="poll-close"
                    onClick={() => void act('close', 'Завершить голосование досрочно?')}
                  >
                    Завершить досрочно
                  </ActButton>
                )}
                {(p.status === 'draft' || p.status === 'pending_approval') && rights.canWrite && (
                  <ActButton busy={busy} testid="poll-cancel" onClick={() => void act('close')}>
                    Отменить
                  </ActButton>
                )}
              </div>
            )}
            {p.status === 'draft' || p.status === 'pending_approval' ? (
              <ol class="pl-options">
                {p.options.map((o, i) => (
                  <li key={i}>{o}</li>
                ))}
              </ol>
            ) : (
              <WhenLoaded list={results}>{(r) => <PollResultsView r={r} />}</WhenLoaded>
            )}
          </>
        )}
      </WhenLoaded>
    </div>
  );
}

function PollResultsView({ r }: { r: Results }) {
  const max = Math.max(1, ...r.byMunicipality.map((m) => m.total));
  return (
    <div data-testid="poll-results">
      <p>
        Голосов: <b data-testid="poll-total">{r.total}</b>
        <span class="muted small">
          {' '}
          · сообщений: отправлено {r.delivery.sent} из {r.delivery.recipients}
          {r.delivery.failed ? `, не доставлено ${r.delivery.failed}` : ''}
          {r.delivery.pending ? `, в очереди ${r.delivery.pending}` : ''}
          {r.delivery.skipped ? `, не отправлено отписавшимся ${r.delivery.skipped}` : ''}
        </span>
      </p>
      <table class="grid narrow pl-results">
        <tbody>
          {r.options.map((o) => (
            <tr key={o.option} data-testid="poll-option-row">
              <td>{o.text}</td>
              <td class="pl-bar-cell">
                <Bar share={o.share} />
              </td>
              <td class="c-num" data-testid="poll-option-votes">
                {o.votes}
              </td>
              <td class="c-num">{fmtPercent(o.share)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>По муниципалитетам</h3>
      {r.byMunicipality.length === 0 ? (
        <Empty text="Голосов пока нет" />
      ) : (
        <table class="grid narrow" data-testid="poll-municipalities">
          <thead>
            <tr>
              <th>Муниципалитет</th>
              <th class="c-num">Всего</th>
              <th class="pl-bar-cell" />
              {r.options.map((o) => (
                <th key={o.option} class="c-num" title={o.text}>
                  {o.option + 1}. {o.text.length > 18 ? `${o.text.slice(0, 17)}…` : o.text}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.byMunicipality.map((m) => (
              <tr key={m.municipality ?? ''} data-testid="poll-muni-row">
                <td>{m.name}</td>
                <td class="c-num">{m.total}</td>
                <td class="pl-bar-cell">
                  <Bar share={m.total / max} />
                </td>
                {m.votes.map((v, i) => (
                  <td key={i} class="c-num">
                    {v} <span class="muted small">({fmtPercent(m.total ? v / m.total : 0)})</span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

// ---- discussions ----------------------------------------------------------------------------------------

function DiscussionsTab({ selected, rights }: { selected: number | null; rights: Rights }) {
  const list = useLoad(() => api.get<Page<DiscussionItem>>('/discussions', { limit: 100 }), []);
  return (
    <ListTab
      kind="discussion"
      path="/polls/discussions"
      newText="Новое обсуждение"
      emptyText="Обсуждений пока нет"
      canCreate={rights.canWrite}
      readOnly={readOnlyText(rights, 'обсуждения')}
      list={list}
      selected={selected}
      head={
        <>
          <th class="c-wide">Тема</th>
          <th>Статус</th>
          <th>Площадка</th>
          <th class="c-date">Опубликовано</th>
          <th class="c-num">Комментарии</th>
        </>
      }
      row={(d) => (
        <>
          <td class="c-wide">
            <a href={href('/polls/discussions', { id: d.id })}>{d.title}</a>
          </td>
          <td>
            <Status labels={DISCUSSION_STATUS} status={d.status} />
          </td>
          <td>{platformOfSource(d.sourceId)}</td>
          <td class="c-date">{fmtDateTime(d.publishedAt)}</td>
          <td class="c-num">{d.comments ?? 0}</td>
        </>
      )}
      editor={(onSaved) => <DiscussionEditor onSaved={onSaved} />}
      detail={(id, onChanged) => <DiscussionDetail key={id} id={id} rights={rights} onChanged={onChanged} />}
    />
  );
}

function DiscussionEditor({ onSaved }: { onSaved: (d: DiscussionItem) => void }) {
  const targets = useLoad(
    () => api.get<{ items: { id: string; platform: string; name: string }[] }>('/discussions/targets'),
    [],
  );
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [sourceId, setSourceId] = useState('');
  const [chatId, setChatId] = useState('');
  const [postUrl, setPostUrl] = useState('');
  const [error, setError] = useState<unknown>(null);
  const items = targets.data?.items ?? [];
  const source = sourceId || items[0]?.id || '';
  const vk = source.startsWith('vk:');

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      onSaved(
        await api.post<DiscussionItem>('/discussions', {
          title: title.trim(),
          text: text.trim(),
          sourceId: source,
          ...(vk ? { postUrl: postUrl.trim() } : { chatId: chatId.trim() }),
        }),
      );
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form class="box pl-editor" data-testid="discussion-editor" onSubmit={(e) => void save(e)}>
      <h2>Новое обсуждение</h2>
      <ErrorLine error={error ?? targets.error} />
      {targets.data && items.length === 0 && (
        <Notice text="Нет ни одного бота Telegram или сообщества ВКонтакте: обсуждение некуда опубликовать." />
      )}
      <Field label="Тема">
        <input
          class="w-full"
          maxLength={200}
          value={title}
          data-testid="discussion-title"
          onInput={(e) => setTitle(e.currentTarget.value)}
        />
      </Field>
      <Field label="Текст поста">
        <textarea
          class="w-full"
          rows={4}
          maxLength={3500}
          value={text}
          data-testid="discussion-text"
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </Field>
      <div class="inline-form">
        <Field label="Где">
          <Select
            testid="discussion-source"
            value={source}
            options={items.map((t) => ({ value: t.id, label: t.name }))}
            onChange={setSourceId}
          />
        </Field>
        {vk ? (
          <Field label="Ссылка на пост сообщества (https://vk.com/wall-…)">
            <input
              class="w-full"
              value={postUrl}
              data-testid="discussion-post-url"
              onInput={(e) => setPostUrl(e.currentTarget.value)}
            />
          </Field>
        ) : (
          <Field label="Канал (id -100… или @имя)">
            <input
              class="w-12"
              value={chatId}
              data-testid="discussion-chat"
              onInput={(e) => setChatId(e.currentTarget.value)}
            />
          </Field>
        )}
      </div>
      <p class="muted small">
        {vk
          ? 'Токен сообщества не позволяет публиковать записи на стене: опубликуйте пост во ВКонтакте и укажите ссылку — комментарии под ним будут собраны.'
          : 'Бот опубликует пост в канале (он должен быть администратором канала и участником его группы обсуждения).'}
      </p>
      <div class="buttons">
        <button type="submit" data-testid="discussion-save">
          Сохранить черновик
        </button>
      </div>
    </form>
  );
}

function DiscussionDetail({ id, rights, onChanged }: { id: number; rights: Rights; onChanged: () => void }) {
  const ref = useReference();
  const discussion = useLoad(() => api.get<DiscussionItem>(`/discussions/${id}`), [id]);
  const summary = useLoad(() => api.get<DiscussionSummary>(`/discussions/${id}/summary`), [id]);
  const { error, busy, run } = useAction(errorText);
  useEvery(discussion.data?.status === 'open', LIVE_MS * 2, () => {
    summary.reload(true);
    discussion.reload(true);
  });

  async function act(action: 'publish' | 'close') {
    await run(
      async () => {
        discussion.setData(await api.post<DiscussionItem>(`/discussions/${id}/${action}`));
        onChanged();
      },
      () => rights.refused(action === 'publish' ? 'approve' : 'write'),
    );
  }

  return (
    <div class="box pl-detail" data-testid="discussion-detail">
      <WhenLoaded list={discussion}>
        {(d) => (
          <>
            <h2>{d.title}</h2>
            <p class="pre">{d.text}</p>
            <dl class="facts">
              <dt>Статус</dt>
              <dd>
                <Status labels={DISCUSSION_STATUS} status={d.status} testid="discussion-status" />
              </dd>
              <dt>Площадка</dt>
              <dd>
                {platformOfSource(d.sourceId)}, {d.chatId}
                {d.postExternalId ? ` (пост ${d.postExternalId})` : ''}
              </dd>
              {d.publishedAt && (
                <>
                  <dt>Опубликовано</dt>
                  <dd>{fmtDateTime(d.publishedAt)}</dd>
                </>
              )}
            </dl>
            <ErrorLine error={error} />
            <div class="buttons">
              {d.status === 'draft' && rights.canApprove && (
                <ActButton busy={busy} testid="discussion-publish" onClick={() => void act('publish')}>
                  Опубликовать
                </ActButton>
              )}
              {d.status !== 'closed' && rights.canWrite && (
                <ActButton busy={busy} testid="discussion-close" onClick={() => void act('close')}>
                  {d.status === 'draft' ? 'Отменить' : 'Завершить сбор'}
                </ActButton>
              )}
            </div>
          </>
        )}
      </WhenLoaded>
      <WhenLoaded list={summary}>
        {(s) =>
          s.total === 0 ? (
            <Empty text="Комментариев пока нет" />
          ) : (
            <div data-testid="discussion-summary">
              <p>
                Комментариев: <b data-testid="discussion-total">{s.total}</b>
                {s.appeals ? <span class="muted"> · из них стали обращениями: {s.appeals}</span> : null}
              </p>
              <div class="pl-cols">
                <ShareTable
                  title="Сфера"
                  items={s.bySector}
                  total={s.total}
                  keyOf={(x) => x.sector}
                  nameOf={(x) => x.name}
                />
                <ShareTable
                  title="Тональность"
                  items={s.bySentiment}
                  total={s.total}
                  keyOf={(x) => x.sentiment}
                  nameOf={(x) => label(SENTIMENT_LABELS, x.sentiment)}
                />
              </div>
              <h3>Повторяющиеся предложения</h3>
              {s.proposals.length === 0 ? (
                <Empty text="Повторяющихся предложений пока нет" />
              ) : (
                <ol class="pl-proposals" data-testid="discussion-proposals">
                  {s.proposals.map((p) => (
                    <li key={p.example.id} data-testid="discussion-proposal">
                      <b>{p.count}</b> комм. — «{p.example.text}»
                      <div class="muted small">ключевые слова: {p.terms.join(', ')}</div>
                    </li>
                  ))}
                </ol>
              )}
              <h3>Комментарии</h3>
              <table class="grid" data-testid="discussion-comments">
                <thead>
                  <tr>
                    <th class="c-date">Время</th>
                    <th>Автор</th>
                    <th class="c-wide">Текст</th>
                    <th>Сфера</th>
                    <th>Тональность</th>
                  </tr>
                </thead>
                <tbody>
                  {s.comments.map((c) => (
                    <tr key={c.id}>
                      <td class="c-date">{fmtDateTime(c.postedAt)}</td>
                      <td>{c.authorName ?? <span class="muted">скрыто</span>}</td>
                      <td class="c-wide">
                        {c.text}
                        {c.incidentId ? (
                          <>
                            {' '}
                            <a href={href(`/incidents/${c.incidentId}`)} class="tag tag-amber">
                              обращение {incidentNumber(c.incidentId)}
                            </a>
                          </>
                        ) : null}
                      </td>
                      <td>{ref.sector(c.sector)}</td>
                      <td>{label(SENTIMENT_LABELS, c.sentiment)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </WhenLoaded>
    </div>
  );
}
