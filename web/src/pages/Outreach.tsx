// Outreach: audience segments (rules over the bots' subscribers, with a live count) and campaigns — the
// editor with a preview of what Telegram and VK readers will see, approval, pause / resume / cancel, and
// the statistics of a running broadcast, refreshed every few seconds.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import {
  CAMPAIGN_STATUS_LABELS,
  CHANNEL_LABELS,
  checkCampaignText,
  LANGUAGES,
  MAX_BUTTONS,
  plainForVk,
  type TextToken,
} from '../../../src/responders/campaign-text.ts';
import { api } from '../api';
import { Empty, ErrorLine, Field, Notice, Select, useEvery, useLoad, WhenLoaded } from '../components';
import { fmtDateTime, fmtNumber, fmtPercent, labelOptions, PLATFORM_LABELS } from '../format';
import { useReference } from '../reference';
import type { AudienceCount, AuthResponse, CampaignItem, Page, SegmentItem, SegmentRules } from '../types';

// Who may do what (src/api/access.ts: outreach.write, outreach.approve); the server checks again.
const WRITERS = ['smm', 'center_head', 'direction_head', 'curator'];
const APPROVERS = ['center_head', 'direction_head', 'curator'];
const LIVE = ['approved', 'running'];
/** How often a running broadcast's statistics refresh. */
const LIVE_MS = 3000;

/** The state of a campaign as a badge. */
function CampaignStatus({ c, testid }: { c: CampaignItem; testid: string }) {
  return (
    <span class={`badge cs-${c.status}`} data-testid={testid}>
      {CAMPAIGN_STATUS_LABELS[c.status] ?? c.statusLabel}
    </span>
  );
}

export interface OutreachRoles {
  login: string;
  /** outreach.write: drafts, submission, pause, cancel. */
  canWrite: boolean;
  /** outreach.approve: approval, resume, publishing. */
  canApprove: boolean;
}

/** What the signed-in user's roles allow on the outreach and polls pages (nothing until known). */
export function useOutreachRoles(): OutreachRoles {
  const me = useLoad(() => api.get<AuthResponse>('/auth/me'), []);
  const roles = me.data?.user.roles ?? [];
  return {
    login: me.data?.user.login ?? '',
    canWrite: roles.some((r) => WRITERS.includes(r)),
    canApprove: roles.some((r) => APPROVERS.includes(r)),
  };
}
const useRoles = useOutreachRoles;

export function OutreachPage({ section }: { section: string | undefined }) {
  const segmentsTab = section === 'segments';
  return (
    <section>
      <div class="page-head">
        <h1>Рассылки</h1>
      </div>
      <nav class="subnav" aria-label="Разделы рассылок">
        <a href="#/outreach" class={segmentsTab ? '' : 'active'} data-testid="outreach-campaigns">
          Рассылки
        </a>
        <a href="#/outreach/segments" class={segmentsTab ? 'active' : ''} data-testid="outreach-segments">
          Сегменты аудитории
        </a>
      </nav>
      {segmentsTab ? <Segments /> : <Campaigns />}
    </section>
  );
}

// ----- segments ------------------------------------------------------------------------------------------

/** A campaign or poll that holds a segment's rules (approved or waiting for approval). */
interface SegmentUse {
  kind: 'campaign' | 'poll';
  id: number;
  title: string;
  status: string;
  /** As staff read it: «рассылка «…» (на согласовании)». */
  text: string;
}
type Segment = SegmentItem & { inUse?: SegmentUse[] };

const noRules = (r: SegmentRules) =>
  !r.municipalities?.length && !r.topics?.length && !r.platforms?.length && !r.languages?.length;

function countText(c: AudienceCount | undefined | null): string {
  if (!c) return '…';
  return `${fmtNumber(c.total)} (Telegram ${fmtNumber(c.telegram)}, ВКонтакте ${fmtNumber(c.vk)})`;
}

/** The rules as staff read them; no rule at all selects every subscriber. */
export function rulesText(r: SegmentRules, ref: ReturnType<typeof useReference>): string {
  const parts: string[] = [];
  if (r.municipalities?.length) parts.push(r.municipalities.map((m) => ref.municipality(m)).join(', '));
  if (r.topics?.length) parts.push(r.topics.map((t) => ref.sector(t)).join(', '));
  if (r.platforms?.length) parts.push(r.platforms.map((p) => PLATFORM_LABELS[p] ?? p).join(', '));
  if (r.languages?.length)
    parts.push(r.languages.map((l) => LANGUAGES.find((x) => x.code === l)?.name ?? l).join(', '));
  return parts.join(' · ') || 'все подписчики';
}

function Segments() {
  const ref = useReference();
  const { canWrite } = useRoles();
  const list = useLoad(() => api.get<{ items: Segment[] }>('/segments'), []);
  const [editing, setEditing] = useState<Segment | 'new' | null>(null);
  return (
    <>
      {canWrite && (
        <div class="toolbar">
          <button type="button" data-testid="segment-new" onClick={() => setEditing('new')}>
            Новый сегмент
          </button>
        </div>
      )}
      {editing && (
        <SegmentEditor
          key={editing === 'new' ? 'new' : editing.id}
          segment={editing === 'new' ? null : editing}
          onDone={() => (setEditing(null), list.reload(true))}
        />
      )}
      <WhenLoaded list={list}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty text="Сегментов пока нет: создайте первый, например «Бийск, Транспорт»." />
          ) : (
            <table class="grid" data-testid="segments">
              <thead>
                <tr>
                  <th>Название</th>
                  <th class="c-wide">Правила</th>
                  <th>Подписчиков сейчас</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {d.items.map((s) => (
                  <tr key={s.id} data-testid="segment-row">
                    <td>{s.name}</td>
                    <td class="c-wide">
                      {noRules(s.rules) ? <strong>все подписчики</strong> : rulesText(s.rules, ref)}
                      {s.inUse?.length ? (
                        <div class="muted small" data-testid="segment-row-locked">
                          правила заморожены: {s.inUse.map((u) => u.text).join(', ')}
                        </div>
                      ) : null}
                    </td>
                    <td data-testid="segment-row-count">{countText(s.count)}</td>
                    <td>
                      {canWrite && (
                        <button type="button" class="link" onClick={() => setEditing(s)}>
                          Изменить
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </WhenLoaded>
    </>
  );
}

function toggle<T>(list: T[] | undefined, v: T): T[] {
  const l = list ?? [];
  return l.includes(v) ? l.filter((x) => x !== v) : [...l, v];
}

/** A checkbox per `[value, label]` item; `checked` holds the checked values. */
function Checks<V extends string>({
  testid,
  items,
  checked,
  onToggle,
}: {
  testid: string;
  items: [V, string | undefined][];
  checked: V[] | undefined;
  onToggle: (v: V) => void;
}) {
  return (
    <>
      {items.map(([v, text]) => (
        <label class="check" key={v}>
          <input
            type="checkbox"
            data-testid={`${testid}-${v}`}
            checked={checked?.includes(v) ?? false}
            onChange={() => onToggle(v)}
          />
          {text}
        </label>
      ))}
    </>
  );
}

function SegmentEditor({ segment, onDone }: { segment: Segment | null; onDone: () => void }) {
  const ref = useReference();
  const [name, setName] = useState(segment?.name ?? '');
  const [rules, setRules] = useState<SegmentRules>(segment?.rules ?? {});
  const [count, setCount] = useState<AudienceCount | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [muni, setMuni] = useState('');
  /** Saving a segment without rules (every subscriber) is asked about first. */
  const [confirmAll, setConfirmAll] = useState(false);
  // What was approved (or is being approved) goes by these rules: they stay as they are meanwhile.
  const locked = Boolean(segment?.inUse?.length);
  const all = noRules(rules);

  // The live count of the unsaved rules, a moment after the last change.
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      api
        .post<AudienceCount>('/segments/count', { rules })
        .then((c) => live && setCount(c))
        .catch((e: unknown) => live && setError(e));
    }, 250);
    return () => ((live = false), clearTimeout(t));
  }, [JSON.stringify(rules)]);

  async function save(e?: Event) {
    e?.preventDefault();
    setError(null);
    const changedToAll = all && !(segment && noRules(segment.rules));
    if (changedToAll && !confirmAll) {
      setConfirmAll(true);
      return;
    }
    setConfirmAll(false);
    try {
      if (segment) await api.patch(`/segments/${segment.id}`, { name, rules });
      else await api.post('/segments', { name, rules });
      onDone();
    } catch (err) {
      setError(err);
    }
  }
  const change = (next: SegmentRules) => (setConfirmAll(false), setRules(next));

  return (
    <form class="box segment-editor" data-testid="segment-editor" onSubmit={(e) => void save(e)}>
      <h2>{segment ? `Сегмент «${segment.name}»` : 'Новый сегмент'}</h2>
      <ErrorLine error={error} />
      {locked && (
        <Notice
          text={`Правила сегмента сейчас менять нельзя: по нему ${segment!.inUse!.map((u) => u.text).join(', ')}. Согласование касается аудитории по этим правилам. Название изменить можно; для других правил создайте новый сегмент.`}
        />
      )}
      <Field label="Название">
        <input
          class="w-full"
          value={name}
          required
          data-testid="segment-name"
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </Field>
      {/* One outer fieldset only to disable every rule control at once; it draws nothing itself. */}
      <fieldset
        class="rules"
        disabled={locked}
        data-testid="segment-rules"
        style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}
      >
        <fieldset>
          <legend>Районы (пусто — любой)</legend>
          <div class="chips">
            {(rules.municipalities ?? []).map((m) => (
              <span class="chip" key={m}>
                {ref.municipality(m)}
                <button
                  type="button"
                  aria-label="убрать"
                  onClick={() => change({ ...rules, municipalities: toggle(rules.municipalities, m) })}
                >
                  ×
                </button>
              </span>
            ))}
          </div>
          <Select
            testid="segment-municipality"
            value={muni}
            empty="Добавить район…"
            disabled={locked}
            options={ref.data.municipalities
              .filter((m) => !rules.municipalities?.includes(m.code))
              .map((m) => ({ value: m.code, label: m.shortName }))}
            onChange={(v) => {
              setMuni('');
              if (v) change({ ...rules, municipalities: toggle(rules.municipalities, v) });
            }}
          />
        </fieldset>
        <fieldset>
          <legend>Темы (хотя бы одна общая; пусто — любые)</legend>
          <Checks
            testid="segment-topic"
            items={ref.data.sectors.filter((s) => s.code !== 'other').map((s) => [s.code, s.name])}
            checked={rules.topics}
            onToggle={(v) => change({ ...rules, topics: toggle(rules.topics, v) })}
          />
        </fieldset>
        <fieldset>
          <legend>Платформы и язык обращения</legend>
          <Checks
            testid="segment-platform"
            items={(['telegram', 'vk'] as const).map((p) => [p, PLATFORM_LABELS[p]])}
            checked={rules.platforms}
            onToggle={(v) => change({ ...rules, platforms: toggle(rules.platforms, v) })}
          />
          <Checks
            testid="segment-language"
            items={LANGUAGES.map((l) => [l.code, l.name])}
            checked={rules.languages}
            onToggle={(v) => change({ ...rules, languages: toggle(rules.languages, v) })}
          />
        </fieldset>
      </fieldset>
      <p>
        Подходит подписчиков: <strong data-testid="segment-count">{countText(count)}</strong>
        {all && (
          <span data-testid="segment-all">
            {' '}
            — правил нет: <strong>все подписчики</strong>
          </span>
        )}
      </p>
      {confirmAll && (
        <div class="notice" role="alertdialog" data-testid="segment-all-confirm">
          <p>
            В сегменте нет ни одного правила: рассылки и опросы по нему получат{' '}
            <strong>все подписчики</strong> ({countText(count)}). Сохранить такой сегмент?
          </p>
          <div class="buttons">
            <button type="button" data-testid="segment-all-yes" onClick={() => void save()}>
              Да, все подписчики
            </button>
            <button type="button" onClick={() => setConfirmAll(false)}>
              Нет, добавить правила
            </button>
          </div>
        </div>
      )}
      <div class="buttons">
        <button type="submit" data-testid="segment-save">
          Сохранить
        </button>
        <button type="button" onClick={onDone}>
          Закрыть
        </button>
      </div>
    </form>
  );
}

// ----- campaigns -----------------------------------------------------------------------------------------

function Campaigns() {
  const roles = useRoles();
  const [status, setStatus] = useState('');
  const [selected, setSelected] = useState<number | 'new' | null>(null);
  const list = useLoad(() => api.get<Page<CampaignItem>>('/campaigns', { status, limit: 100 }), [status]);
  const live = list.data?.items.some((c) => LIVE.includes(c.status)) ?? false;
  // Statistics of running broadcasts move: refresh every few seconds while one runs.
  useEvery(live, LIVE_MS, () => list.reload(true));

  return (
    <>
      <div class="filters">
        <Select
          testid="campaigns-status"
          value={status}
          empty="Все состояния"
          options={labelOptions(CAMPAIGN_STATUS_LABELS)}
          onChange={setStatus}
        />
        {roles.canWrite && (
          <button type="button" data-testid="campaign-new" onClick={() => setSelected('new')}>
            Новая рассылка
          </button>
        )}
      </div>
      {selected !== null && (
        <CampaignPanel
          key={String(selected)}
          id={selected}
          roles={roles}
          onChanged={(id) => (id && setSelected(id), list.reload(true))}
          onClose={() => setSelected(null)}
        />
      )}
      <WhenLoaded list={list}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty text="Рассылок пока нет." />
          ) : (
            <table class="grid campaigns" data-testid="campaigns">
              <thead>
                <tr>
                  <th>Рассылка</th>
                  <th>Состояние</th>
                  <th>Канал</th>
                  <th>Сегмент</th>
                  <th>Время</th>
                  <th class="num">Получателей</th>
                  <th class="num">Доставлено</th>
                  <th class="num">Ошибки</th>
                  <th class="num">Заблокировали</th>
                  <th class="num">Отписались</th>
                  <th class="num">Не известно</th>
                  <th class="num">Переходы</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((c) => (
                  <tr
                    key={c.id}
                    data-testid="campaign-row"
                    class={selected === c.id ? 'selected' : ''}
                    onClick={() => setSelected(c.id)}
                  >
                    <td>
                      <a href="#/outreach" onClick={(e) => (e.preventDefault(), setSelected(c.id))}>
                        {c.title}
                      </a>
                    </td>
                    <td>
                      <CampaignStatus c={c} testid="campaign-status" />
                    </td>
                    <td>{CHANNEL_LABELS[c.channel] ?? c.channel}</td>
                    <td>{c.segmentName}</td>
                    <td class="c-date">{c.scheduledAt ? fmtDateTime(c.scheduledAt) : 'сразу'}</td>
                    <td class="num">{fmtNumber(c.stats?.recipients ? c.stats.recipients : c.audience)}</td>
                    <td class="num" data-testid="campaign-sent">
                      {fmtNumber(c.stats?.sent)}
                    </td>
                    <td class="num">{fmtNumber(c.stats?.failed)}</td>
                    <td class="num">{fmtNumber(c.stats?.blocked)}</td>
                    <td class="num">{fmtNumber(c.stats?.skipped)}</td>
                    <td class="num">{fmtNumber(c.stats?.uncertain)}</td>
                    <td class="num">
                      {fmtNumber(c.stats?.clicked)} ({fmtPercent(c.stats?.clickRate)})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </WhenLoaded>
    </>
  );
}

interface Draft {
  title: string;
  text: string;
  photoUrl: string;
  buttons: { text: string; url: string }[];
  segmentId: string;
  channel: string;
  /** `YYYY-MM-DDTHH:mm` in Barnaul time, or ''. */
  scheduledAt: string;
}

const BARNAUL_MS = 7 * 3_600_000;
const toLocal = (iso: string | null) =>
  iso ? new Date(new Date(iso).getTime() + BARNAUL_MS).toISOString().slice(0, 16) : '';
const fromLocal = (v: string) => (v ? new Date(`${v}:00+07:00`).toISOString() : null);

function draftOf(c: CampaignItem | null): Draft {
  return {
    title: c?.title ?? '',
    text: c?.text ?? '',
    photoUrl: c?.photoUrl ?? '',
    buttons: c?.buttons ?? [],
    segmentId: c ? String(c.segmentId) : '',
    channel: c?.channel ?? 'telegram',
    scheduledAt: toLocal(c?.scheduledAt ?? null),
  };
}

function CampaignPanel({
  id,
  roles,
  onChanged,
  onClose,
}: {
  id: number | 'new';
  roles: ReturnType<typeof useRoles>;
  onChanged: (id?: number) => void;
  onClose: () => void;
}) {
  const campaign = useLoad(
    () => (id === 'new' ? Promise.resolve(null) : api.get<CampaignItem>(`/campaigns/${id}`)),
    [id],
  );
  const ref = useReference();
  const segments = useLoad(() => api.get<{ items: SegmentItem[] }>('/segments'), []);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const c = campaign.data ?? null;
  const running = c !== null && LIVE.includes(c.status);
  useEvery(running, LIVE_MS, () => campaign.reload(true));

  if (campaign.loading && id !== 'new') return null;
  const editable = roles.canWrite && (c === null || ['draft', 'pending_approval'].includes(c.status));
  const form = draft ?? draftOf(c);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft({ ...form, [k]: v });
  const setButton = (i: number, patch: Partial<Draft['buttons'][number]>) =>
    set(
      'buttons',
      form.buttons.map((x, j) => (j === i ? { ...x, ...patch } : x)),
    );
  /** The input of a text field of the draft (disabled unless the campaign is editable). */
  const input = (
    k: 'title' | 'photoUrl' | 'scheduledAt',
    testid: string,
    attrs: { class?: string; type?: string },
  ) => (
    <input
      {...attrs}
      value={form[k]}
      disabled={!editable}
      data-testid={testid}
      onInput={(e) => set(k, e.currentTarget.value)}
    />
  );
  /** A campaign the server answered with: shown, the edits dropped, `done` said. */
  const show = (next: CampaignItem, done: string) => {
    campaign.setData(next);
    setDraft(null);
    setNotice(done);
  };

  async function act(what: string, done: string, body?: unknown) {
    setError(null);
    setNotice(null);
    try {
      const next = await api.post<CampaignItem>(`/campaigns/${c!.id}/${what}`, body);
      show(next, done);
      onChanged(next.id);
    } catch (e) {
      setError(e);
    }
  }

  /** `notify: false` when another step follows (submit): the parent re-keys this panel on a new id. */
  async function save(notify = true): Promise<CampaignItem | null> {
    setError(null);
    setNotice(null);
    const body = {
      title: form.title,
      text: form.text,
      photoUrl: form.photoUrl.trim() || null,
      buttons: form.buttons.filter((b) => b.text.trim() || b.url.trim()),
      segmentId: Number(form.segmentId),
      channel: form.channel,
      scheduledAt: fromLocal(form.scheduledAt),
    };
    try {
      const next = c
        ? await api.patch<CampaignItem>(`/campaigns/${c.id}`, body)
        : await api.post<CampaignItem>('/campaigns', body);
      show(next, 'Черновик сохранён.');
      if (notify) onChanged(next.id);
      return next;
    } catch (e) {
      setError(e);
      return null;
    }
  }

  const checked = checkCampaignText(form.text, Boolean(form.photoUrl.trim()));
  const mine = c !== null && c.createdBy === `staff:${roles.login}`;
  const segment = segments.data?.items.find((s) => String(s.id) === form.segmentId);
  /** Who the campaign goes to, as the approver must read it («все подписчики» when the segment has no rules). */
  const audienceText = segment
    ? `сегмент «${segment.name}»: ${rulesText(segment.rules, ref)}`
    : 'сегмент не выбран';

  return (
    <div class="box campaign-panel" data-testid="campaign-panel">
      <div class="page-head">
        <h2>{c ? c.title : 'Новая рассылка'}</h2>
        {c && <CampaignStatus c={c} testid="panel-status" />}
        <button type="button" class="link" onClick={onClose}>
          Закрыть
        </button>
      </div>
      <ErrorLine error={error ?? campaign.error} />
      <Notice text={notice} />
      {c?.stats && c.startedAt && <Stats c={c} />}
      <div class="campaign-body">
        <div class="campaign-form">
          <Field label="Название (видно только сотрудникам)">
            {input('title', 'campaign-title', { class: 'w-full' })}
          </Field>
          <Field label='Текст: <b>, <i>, <u>, <s>, <code>, <a href="https://…">'>
            <textarea
              rows={8}
              class="w-full"
              value={form.text}
              disabled={!editable}
              data-testid="campaign-text"
              onInput={(e) => set('text', e.currentTarget.value)}
            />
          </Field>
          {checked.errors.length > 0 && form.text && (
            <div class="error small" data-testid="campaign-text-errors">
              {checked.errors.join(' ')}
            </div>
          )}
          <Field label="Фото (адрес https://…, необязательно)">
            {input('photoUrl', 'campaign-photo', { class: 'w-full' })}
          </Field>
          <fieldset>
            <legend>Кнопки-ссылки (до {MAX_BUTTONS}; под сообщением всегда есть «Отписаться»)</legend>
            {form.buttons.map((b, i) => (
              <div class="button-row" key={i}>
                <input
                  class="w-12"
                  placeholder="Надпись"
                  value={b.text}
                  disabled={!editable}
                  data-testid={`campaign-button-text-${i}`}
                  onInput={(e) => setButton(i, { text: e.currentTarget.value })}
                />
                <input
                  class="url"
                  placeholder="https://…"
                  value={b.url}
                  disabled={!editable}
                  data-testid={`campaign-button-url-${i}`}
                  onInput={(e) => setButton(i, { url: e.currentTarget.value })}
                />
                {editable && (
                  <button
                    type="button"
                    onClick={() =>
                      set(
                        'buttons',
                        form.buttons.filter((_, j) => j !== i),
                      )
                    }
                  >
                    Убрать
                  </button>
                )}
              </div>
            ))}
            {editable && form.buttons.length < MAX_BUTTONS && (
              <button
                type="button"
                data-testid="campaign-button-add"
                onClick={() => set('buttons', [...form.buttons, { text: '', url: '' }])}
              >
                Добавить кнопку
              </button>
            )}
          </fieldset>
          <div class="inline-form">
            <Field label="Сегмент">
              <Select
                testid="campaign-segment"
                value={form.segmentId}
                empty="— выберите —"
                disabled={!editable}
                options={(segments.data?.items ?? []).map((s) => ({
                  value: String(s.id),
                  label: `${s.name} (${fmtNumber(s.count.total)})`,
                }))}
                onChange={(v) => set('segmentId', v)}
              />
            </Field>
            <Field label="Канал">
              <Select
                testid="campaign-channel"
                value={form.channel}
                disabled={!editable}
                options={labelOptions(CHANNEL_LABELS)}
                onChange={(v) => set('channel', v)}
              />
            </Field>
            <Field label="Когда (время барнаульское; пусто — сразу после согласования)">
              {input('scheduledAt', 'campaign-schedule', { type: 'datetime-local' })}
            </Field>
          </div>
          {segment && (
            <p class="muted small" data-testid="campaign-segment-rules">
              Кому: {audienceText}
            </p>
          )}
          {c && c.audience !== null && (
            <p class="muted">
              Получателей сейчас: <strong data-testid="campaign-audience">{fmtNumber(c.audience)}</strong>
            </p>
          )}
          {c && (
            <p class="muted small">
              Автор: {c.createdBy?.replace(/^staff:/, '') ?? '—'}
              {c.approvedBy &&
                `; согласовал: ${c.approvedBy.replace(/^staff:/, '')}, ${fmtDateTime(c.approvedAt)}`}
              {c.startedAt && `; начата ${fmtDateTime(c.startedAt)}`}
              {c.finishedAt && `; завершена ${fmtDateTime(c.finishedAt)}`}
            </p>
          )}
          <div class="buttons">
            {editable && (
              <button type="button" data-testid="campaign-save" onClick={() => void save()}>
                Сохранить черновик
              </button>
            )}
            {editable && (c === null || c.status === 'draft') && (
              <button
                type="button"
                data-testid="campaign-submit"
                onClick={() =>
                  void (async () => {
                    const saved = draft || !c ? await save(false) : c;
                    if (!saved) return;
                    try {
                      const next = await api.post<CampaignItem>(`/campaigns/${saved.id}/submit`);
                      campaign.setData(next);
                      setNotice('Отправлено на согласование.');
                      onChanged(next.id);
                    } catch (e) {
                      setError(e);
                      onChanged(saved.id);
                    }
                  })()
                }
              >
                На согласование
              </button>
            )}
            {c?.status === 'pending_approval' && roles.canApprove && (
              <button
                type="button"
                data-testid="campaign-approve"
                title={mine ? 'Согласовать свою рассылку можно, только если других согласующих нет' : ''}
                onClick={() => {
                  // The approver sees whom it goes to before it can go.
                  const when = c.scheduledAt ? `в ${fmtDateTime(c.scheduledAt)}` : 'сразу после согласования';
                  if (
                    confirm(
                      `Согласовать рассылку «${c.title}»? Её получат ${fmtNumber(c.audience)} подписчиков ` +
                        `(${audienceText}; ${CHANNEL_LABELS[c.channel] ?? c.channel}) ${when}.`,
                    )
                  )
                    void act('approve', 'Рассылка согласована.');
                }}
              >
                Согласовать
              </button>
            )}
            {c && ['approved', 'running'].includes(c.status) && roles.canWrite && (
              <button
                type="button"
                data-testid="campaign-pause"
                onClick={() => void act('pause', 'Рассылка приостановлена.')}
              >
                Приостановить
              </button>
            )}
            {c?.status === 'paused' && roles.canApprove && (
              <button
                type="button"
                data-testid="campaign-resume"
                onClick={() => void act('resume', 'Рассылка возобновлена.')}
              >
                Возобновить
              </button>
            )}
            {c && !['cancelled', 'done'].includes(c.status) && roles.canWrite && (
              <button
                type="button"
                class="danger"
                data-testid="campaign-cancel"
                onClick={() => {
                  if (confirm('Отменить рассылку? Неотправленные сообщения не уйдут.'))
                    void act('cancel', 'Рассылка отменена.');
                }}
              >
                Отменить рассылку
              </button>
            )}
          </div>
        </div>
        <Preview
          tokens={checked.tokens}
          photoUrl={form.photoUrl.trim()}
          buttons={form.buttons}
          channel={form.channel}
        />
      </div>
    </div>
  );
}

function Stats({ c }: { c: CampaignItem }) {
  const s = c.stats!;
  const cell = (label: string, v: ComponentChildren, testid?: string) => (
    <div class="stat">
      <div class="stat-value" data-testid={testid}>
        {v}
      </div>
      <div class="stat-label">{label}</div>
    </div>
  );
  return (
    <div class="stats" data-testid="campaign-stats">
      {cell('получателей', fmtNumber(s.recipients), 'stat-recipients')}
      {cell('в очереди', fmtNumber(s.pending + s.sending), 'stat-pending')}
      {cell('доставлено', fmtNumber(s.sent), 'stat-sent')}
      {cell('ошибки', fmtNumber(s.failed), 'stat-failed')}
      {cell('заблокировали бота', fmtNumber(s.blocked), 'stat-blocked')}
      {cell('отписались до отправки', fmtNumber(s.skipped), 'stat-skipped')}
      {cell('не известно (сбой)', fmtNumber(s.uncertain), 'stat-uncertain')}
      {cell('перешли по ссылке', `${fmtNumber(s.clicked)} · ${fmtPercent(s.clickRate)}`, 'stat-clicked')}
    </div>
  );
}

/** The text as Telegram shows it (formatting as elements, never as raw HTML) and as VK shows it. */
function Preview({
  tokens,
  photoUrl,
  buttons,
  channel,
}: {
  tokens: TextToken[];
  photoUrl: string;
  buttons: { text: string; url: string }[];
  channel: string;
}) {
  const labels = [...buttons.filter((b) => b.text.trim()).map((b) => b.text), 'Отписаться'];
  return (
    <div class="campaign-preview" data-testid="campaign-preview">
      {channel !== 'vk' && (
        <div class="bubble">
          <div class="bubble-head">Telegram</div>
          {photoUrl && <div class="bubble-photo">фото: {photoUrl}</div>}
          <div class="bubble-text" data-testid="preview-telegram">
            {renderTokens(tokens)}
          </div>
          <BubbleButtons labels={labels} />
        </div>
      )}
      {channel !== 'telegram' && (
        <div class="bubble">
          <div class="bubble-head">ВКонтакте</div>
          <div class="bubble-text" data-testid="preview-vk">
            {plainForVk(tokens) + (photoUrl ? `\n\n${photoUrl}` : '')}
          </div>
          <BubbleButtons labels={labels} />
        </div>
      )}
    </div>
  );
}

function BubbleButtons({ labels }: { labels: string[] }) {
  return (
    <>
      {labels.map((l, i) => (
        <div class="bubble-button" key={i}>
          {l}
        </div>
      ))}
    </>
  );
}

function renderTokens(tokens: TextToken[]): ComponentChildren {
  type Node = { tag: string; href?: string; children: ComponentChildren[] };
  const root: Node = { tag: 'root', children: [] };
  const stack: Node[] = [root];
  for (const t of tokens) {
    const top = stack[stack.length - 1]!;
    if (t.kind === 'text') top.children.push(t.text);
    else if (t.kind === 'open') {
      const n: Node = { tag: t.tag, href: t.href, children: [] };
      top.children.push(n as unknown as ComponentChildren);
      stack.push(n);
    } else if (stack.length > 1) stack.pop();
  }
  const build = (n: Node, key: number): ComponentChildren => {
    const kids = n.children.map((c, i) =>
      typeof c === 'object' && c !== null && 'tag' in (c as object) ? build(c as unknown as Node, i) : c,
    );
    switch (n.tag) {
      case 'b':
        return <b key={key}>{kids}</b>;
      case 'i':
        return <i key={key}>{kids}</i>;
      case 'u':
        return <u key={key}>{kids}</u>;
      case 's':
        return <s key={key}>{kids}</s>;
      case 'code':
        return <code key={key}>{kids}</code>;
      case 'a':
        return (
          <a key={key} href={n.href} target="_blank" rel="noreferrer noopener">
            {kids}
          </a>
        );
      default:
        return <>{kids}</>;
    }
  };
  return build(root, 0);
}
