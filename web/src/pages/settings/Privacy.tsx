// Settings: personal data (152-ФЗ) — how long raw personal data are kept, a retention pass on demand, and a
// citizen's request: find them by their account, download everything stored about them, erase it.
// Retention periods: settings.write; citizens' requests and the pass: the technical administrator only
// (the API decides; a 403 turns the part read-only with a note).
import { useState } from 'preact/hooks';
import { api, downloadFile } from '../../api';
import { Empty, ErrorLine, Field, Notice, Select, useLoad, WhenLoaded } from '../../components';
import { fmtDateTime, fmtNumber, labelOptions, PLATFORM_LABELS } from '../../format';
import { SettingsHead, useMutation } from './common';

type Periods = { messageRetentionDays: number; dialogRetentionDays: number; auditRetentionDays: number };
type PrivacySettings = Periods & { defaults: Periods };

interface Citizen {
  id: number;
  platform: string;
  externalId: string;
  name: string | null;
  consentPersonalData: boolean;
  subscribed: boolean;
  messages: number;
  firstMessageAt: string | null;
  lastMessageAt: string | null;
  anonymizedAt: string | null;
  anonymizedReason: string | null;
}

const PERIODS: { key: keyof Periods; title: string; hint: string; min: number; max: number }[] = [
  {
    key: 'messageRetentionDays',
    title: 'Сообщения граждан и ответы им',
    hint: 'Текст, вложения, имя и идентификаторы автора обезличиваются; статистика сохраняется.',
    min: 30,
    max: 3650,
  },
  {
    key: 'dialogRetentionDays',
    title: 'Незавершённые диалоги с ботом',
    hint: 'Обращение, ожидающее муниципалитет; меню подписки.',
    min: 1,
    max: 365,
  },
  {
    key: 'auditRetentionDays',
    title: 'Журнал действий сотрудников',
    hint: 'Не меньше года.',
    min: 365,
    max: 3650,
  },
];

const PLATFORMS = labelOptions(PLATFORM_LABELS);

const REASONS: Record<string, string> = {
  retention: 'истёк срок хранения',
  request: 'удалено по запросу',
};

const COUNT_LABELS: Record<string, string> = {
  messages: 'сообщений',
  replies: 'ответов',
  authors: 'авторов',
  outbound: 'исходящих сообщений',
  deliveries: 'доставок рассылок',
  incidents: 'инцидентов',
  dialogs: 'диалогов',
  satisfaction: 'оценок',
  votes: 'голосов',
  pollMessages: 'сообщений опросов',
  notifications: 'карточек',
  alerts: 'оповещений',
  audit: 'записей журнала',
};

function counts(c: Record<string, unknown>): string {
  const parts = Object.entries(c)
    .filter(([k, v]) => typeof v === 'number' && v > 0 && COUNT_LABELS[k])
    .map(([k, v]) => `${COUNT_LABELS[k]} — ${fmtNumber(v as number)}`);
  return parts.length ? parts.join(', ') : 'ничего';
}

export function PrivacySettings() {
  return (
    <section>
      <Retention />
      <Requests />
    </section>
  );
}

function Retention() {
  const loaded = useLoad(() => api.get<PrivacySettings>('/settings/privacy'), []);
  const [edits, setEdits] = useState<Partial<Record<keyof Periods, string>>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const save = useMutation();
  const pass = useMutation();
  // Anonymising cannot be undone: the first press asks, the second runs.
  const [confirming, setConfirming] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setNotice(null);
    const body: Partial<Periods> = {};
    for (const p of PERIODS) {
      const raw = edits[p.key];
      if (raw === undefined) continue;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < p.min || n > p.max)
        return save.setError(`«${p.title}»: целое число дней от ${p.min} до ${p.max}.`);
      body[p.key] = n;
    }
    if (!Object.keys(body).length) return save.setError('Нет изменений.');
    const ok = await save.run(async () => {
      loaded.setData(await api.put<PrivacySettings>('/settings/privacy', body));
    });
    if (ok) {
      setEdits({});
      setNotice('Сроки хранения сохранены. Следующий проход обработки применит их.');
    }
  }

  async function runNow() {
    setNotice(null);
    if (!confirming) return setConfirming(true);
    setConfirming(false);
    await pass.run(async () => {
      const r = await api.post<Record<string, number>>('/privacy/retention/run');
      setNotice(`Обработка выполнена. Обезличено: ${counts(r)}.`);
    });
  }

  return (
    <>
      <SettingsHead title="Сроки хранения персональных данных" />
      <WhenLoaded list={loaded}>
        {(s) => (
          <form class="box" data-testid="privacy-retention" onSubmit={submit} noValidate>
            {PERIODS.map((p) => (
              <Field key={p.key} label={`${p.title}, дней`}>
                <input
                  type="number"
                  min={p.min}
                  max={p.max}
                  data-testid={`privacy-${p.key}`}
                  disabled={save.forbidden}
                  value={edits[p.key] ?? String(s[p.key])}
                  onInput={(e) => setEdits({ ...edits, [p.key]: e.currentTarget.value })}
                />
                <span class="small muted">
                  {p.hint} По умолчанию {fmtNumber(s.defaults[p.key])}.
                </span>
              </Field>
            ))}
            {save.forbidden ? (
              <p class="muted small">Изменение сроков недоступно для вашей роли — только просмотр.</p>
            ) : (
              <div class="row-actions">
                <button type="submit" class="primary" data-testid="privacy-save" disabled={save.busy}>
                  Сохранить
                </button>
                <button
                  type="button"
                  data-testid="privacy-run"
                  disabled={pass.busy || pass.forbidden}
                  onClick={runNow}
                  class={confirming ? 'danger' : undefined}
                  title="Обезличить всё, что старше сроков, сейчас (обычно — раз в час)"
                >
                  {confirming ? 'Подтвердите: обезличить сейчас' : 'Обработать сейчас'}
                </button>
                {confirming && (
                  <button type="button" onClick={() => setConfirming(false)}>
                    Отмена
                  </button>
                )}
              </div>
            )}
            {pass.forbidden && (
              <p class="muted small">Запустить обработку может только технический администратор.</p>
            )}
            <ErrorLine error={save.error ?? (pass.forbidden ? null : pass.error)} />
          </form>
        )}
      </WhenLoaded>
      <Notice text={notice} />
    </>
  );
}

function Requests() {
  const [q, setQ] = useState({ platform: 'telegram', externalId: '' });
  const [found, setFound] = useState<Citizen[] | null>(null);
  const [confirm, setConfirm] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const m = useMutation();

  async function search(e: Event) {
    e.preventDefault();
    setNotice(null);
    setConfirm(null);
    const id = q.externalId.trim();
    if (!id) return m.setError('Укажите идентификатор аккаунта гражданина.');
    await m.run(async () => {
      const r = await api.get<{ items: Citizen[] }>('/privacy/citizens', {
        platform: q.platform,
        externalId: id,
      });
      setFound(r.items);
    });
  }

  async function exportOne(c: Citizen) {
    setNotice(null);
    await m.run(() => downloadFile(`/privacy/citizens/${c.id}/export`));
  }

  async function erase(c: Citizen) {
    setNotice(null);
    await m.run(async () => {
      const r = await api.del<{ erased: Record<string, number> }>(`/privacy/citizens/${c.id}`);
      setConfirm(null);
      const again = await api.get<{ items: Citizen[] }>('/privacy/citizens', { authorId: c.id });
      setFound((f) => f?.map((x) => (x.id === c.id ? (again.items[0] ?? x) : x)) ?? null);
      setNotice(`Данные гражданина удалены: ${counts(r.erased)}.`);
    });
  }

  return (
    <>
      <SettingsHead title="Запросы граждан (152-ФЗ)" />
      <p class="small muted">
        Выгрузка всех данных о гражданине и их удаление по его заявлению. Каждое действие записывается в
        журнал (кто, когда, какой гражданин — без самих данных).
      </p>
      {m.forbidden ? (
        <p class="muted small" data-testid="privacy-forbidden">
          Запросы граждан о персональных данных обрабатывает технический администратор.
        </p>
      ) : (
        <form class="inline-form box" data-testid="privacy-search" onSubmit={search}>
          <Select
            testid="privacy-platform"
            value={q.platform}
            options={PLATFORMS}
            onChange={(platform) => setQ({ ...q, platform })}
          />
          <input
            data-testid="privacy-external-id"
            placeholder="ID аккаунта (Telegram user id, VK id)"
            value={q.externalId}
            onInput={(e) => setQ({ ...q, externalId: e.currentTarget.value })}
          />
          <button type="submit" disabled={m.busy}>
            Найти
          </button>
        </form>
      )}
      {!m.forbidden && <ErrorLine error={m.error} />}
      <Notice text={notice} />
      {found &&
        (found.length === 0 ? (
          <Empty text="Гражданин с таким аккаунтом не найден (или его данные уже обезличены)." />
        ) : (
          <table class="table" data-testid="privacy-citizens">
            <thead>
              <tr>
                <th>№</th>
                <th>Аккаунт</th>
                <th>Имя</th>
                <th class="num">Сообщений</th>
                <th>Первое / последнее</th>
                <th>Состояние</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {found.map((c) => (
                <tr key={c.id} data-testid="privacy-citizen">
                  <td>{c.id}</td>
                  <td>
                    {PLATFORM_LABELS[c.platform] ?? c.platform} {c.externalId}
                  </td>
                  <td>{c.name ?? '—'}</td>
                  <td class="num">{fmtNumber(c.messages)}</td>
                  <td class="small">
                    {fmtDateTime(c.firstMessageAt)} / {fmtDateTime(c.lastMessageAt)}
                  </td>
                  <td class="small" data-testid="privacy-state">
                    {c.anonymizedAt
                      ? `Обезличен ${fmtDateTime(c.anonymizedAt)} (${REASONS[c.anonymizedReason ?? ''] ?? c.anonymizedReason ?? ''})`
                      : [
                          c.consentPersonalData ? 'согласие дано' : 'согласия нет',
                          c.subscribed ? 'подписан на новости' : null,
                        ]
                          .filter(Boolean)
                          .join(', ')}
                  </td>
                  <td class="row-actions">
                    <button
                      type="button"
                      data-testid="privacy-export"
                      disabled={m.busy}
                      onClick={() => exportOne(c)}
                    >
                      Выгрузить (JSON)
                    </button>
                    {!c.anonymizedAt &&
                      (confirm === c.id ? (
                        <>
                          <button
                            type="button"
                            class="danger"
                            data-testid="privacy-erase-confirm"
                            disabled={m.busy}
                            onClick={() => erase(c)}
                          >
                            Удалить безвозвратно
                          </button>
                          <button type="button" onClick={() => setConfirm(null)}>
                            Отмена
                          </button>
                        </>
                      ) : (
                        <button type="button" data-testid="privacy-erase" onClick={() => setConfirm(c.id)}>
                          Удалить данные…
                        </button>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </>
  );
}
