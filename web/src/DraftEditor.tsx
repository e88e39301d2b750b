// The reply-draft editor shared by the incident page and the approvals queue: text, automatic check
// results, similar earlier replies to insert, and save / approve / reject. A 409 DRAFT_CHECKS_FAILED
// on approval lists the failed checks and offers to send anyway.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api';
import { ErrorLine, Notice } from './components';
import {
  CHECK_LABELS,
  DRAFT_KIND_LABELS,
  DRAFT_STATUS_LABELS,
  fmtDateTime,
  fmtPercent,
  incidentNumber,
  label,
} from './format';
import type { Check, Draft } from './types';

const EDITABLE = new Set(['pending', 'approved_once']);

function failedFromError(e: ApiError, draft: Draft): Check[] {
  const b = e.body;
  if (Array.isArray(b.checks)) return (b.checks as Check[]).filter((c) => c && !c.ok);
  if (Array.isArray(b.failedChecks)) {
    const names = b.failedChecks as unknown[];
    return names.map((n) => {
      if (n && typeof n === 'object') return n as Check;
      const known = draft.checks.find((c) => c.name === n);
      return { name: String(n), ok: false, detail: known?.detail ?? null };
    });
  }
  if (typeof b.reason === 'string') return [{ name: b.reason, ok: false }];
  return draft.checks.filter((c) => !c.ok);
}

export function CheckList({ checks }: { checks: Check[] }) {
  if (!checks.length) return null;
  return (
    <ul class="checks" data-testid="draft-checks">
      {checks.map((c) => (
        <li
          key={c.name}
          class={c.ok ? 'ok' : 'fail'}
          data-testid="draft-check"
          data-ok={c.ok ? 'true' : 'false'}
        >
          <span class="mark">{c.ok ? '✓' : '✗'}</span> {label(CHECK_LABELS, c.name)}
          {c.detail && <span class="muted"> — {c.detail}</span>}
        </li>
      ))}
    </ul>
  );
}

export function DraftEditor({
  draft: initial,
  onChanged,
}: {
  draft: Draft;
  /** After a save / approval / rejection: `notice` says what happened, for the parent to show. */
  onChanged: (notice: string, draft?: Draft) => void;
}) {
  const [draft, setDraft] = useState<Draft>(initial);
  const [text, setText] = useState(initial.text);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [failed, setFailed] = useState<Check[] | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');

  // A fresh copy from the server replaces ours unless the user is editing.
  useEffect(() => {
    if (text === draft.text) setText(initial.text);
    setDraft(initial);
  }, [initial]);

  const editable = EDITABLE.has(draft.status);
  const dirty = text !== draft.text;

  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  async function save() {
    const d = await run(() => api.post<Draft>(`/drafts/${draft.id}/edit`, { text }));
    if (!d) return;
    const next = { ...draft, ...d };
    setDraft(next);
    setText(next.text);
    setFailed(null);
    setNotice('Изменения сохранены.');
    onChanged('Черновик сохранён.', next);
  }

  async function approve(acceptFailedChecks = false) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const body: { text?: string; acceptFailedChecks?: boolean } = {};
      if (dirty) body.text = text;
      if (acceptFailedChecks) body.acceptFailedChecks = true;
      const d = await api.post<Draft & { recipients?: number }>(`/drafts/${draft.id}/approve`, body);
      const next = { ...draft, ...d };
      setDraft(next);
      setText(next.text);
      setFailed(null);
      const msg =
        next.status === 'approved_once'
          ? 'Согласование учтено. Для отправки нужно второе согласование другим сотрудником.'
          : d.recipients === 0
            ? 'Ответ согласован, но бот не может его отправить: обращения поступили не через Telegram или ВКонтакте. Передайте ответ заявителю по каналу обращения; срок первого ответа продолжает идти.'
            : d.recipients && d.recipients > 1
              ? `Ответ согласован и отправлен заявителям (${d.recipients}).`
              : 'Ответ согласован и отправлен заявителю.';
      setNotice(msg);
      onChanged(msg, next);
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'DRAFT_CHECKS_FAILED' || e.code === 'DRAFT_CHECKS_BLOCKING')) {
        setFailed(failedFromError(e, draft));
        setError(e);
      } else setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function reject() {
    if (!reason.trim()) {
      setError('Укажите причину отклонения.');
      return;
    }
    const d = await run(() => api.post<Draft>(`/drafts/${draft.id}/reject`, { reason: reason.trim() }));
    if (!d) return;
    const next = { ...draft, ...d };
    setDraft(next);
    setRejecting(false);
    setReason('');
    setNotice('Черновик отклонён.');
    onChanged('Черновик отклонён.', next);
  }

  const approvals = draft.approvals ?? [];
  const suggestions = draft.suggestions ?? [];

  return (
    <div class="draft" data-testid="draft-editor" data-draft-id={draft.id} data-status={draft.status}>
      <div class="draft-head">
        <strong>{label(DRAFT_KIND_LABELS, draft.kind)}</strong>
        <span class={`badge ds-${draft.status}`} data-testid="draft-status">
          {label(DRAFT_STATUS_LABELS, draft.status)}
        </span>
        {draft.requiresSecondApproval && (
          <span class="tag tag-amber" data-testid="second-approval">
            Требуется второе согласование
          </span>
        )}
        {draft.createdAt && <span class="muted small">подготовлен {fmtDateTime(draft.createdAt)}</span>}
      </div>
      {approvals.length > 0 && (
        <div class="muted small" data-testid="draft-approvals">
          Согласовали: {approvals.map((a) => `${a.actor} (${fmtDateTime(a.at)})`).join('; ')}
        </div>
      )}
      {editable ? (
        <textarea
          data-testid="draft-text"
          rows={6}
          value={text}
          disabled={busy}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void approve();
          }}
        />
      ) : (
        <div class="draft-text-ro" data-testid="draft-text-readonly">
          {draft.text}
        </div>
      )}
      {draft.originalText && draft.originalText !== draft.text && (
        <details class="small">
          <summary>Исходный текст черновика</summary>
          <div class="draft-text-ro">{draft.originalText}</div>
        </details>
      )}
      <CheckList checks={draft.checks ?? []} />
      {dirty && editable && <div class="muted small">Проверки будут выполнены заново после сохранения.</div>}
      {editable && suggestions.length > 0 && (
        <div class="suggestions">
          <div class="field-label">Похожие ответы по другим инцидентам</div>
          {suggestions.map((s) => (
            <div class="suggestion" key={`${s.draftId}`} data-testid="suggestion">
              <div class="suggestion-meta muted small">
                <a href={`#/incidents/${s.incidentId}`}>{incidentNumber(s.incidentId)}</a> · сходство{' '}
                {fmtPercent(s.similarity)}
              </div>
              <div class="suggestion-text">{s.text}</div>
              <button
                type="button"
                class="small-btn"
                data-testid="suggestion-insert"
                onClick={() => setText(s.text)}
              >
                Вставить
              </button>
            </div>
          ))}
        </div>
      )}
      <ErrorLine error={error} />
      {failed && (
        <div class="failed-box" data-testid="failed-checks">
          <div>Автоматические проверки не пройдены:</div>
          <CheckList checks={failed} />
          {failed.some((c) => c.name === 'slots_filled' || c.blocking) ? (
            <div class="small" data-testid="draft-blocking">
              Вежливость и заполненные поля обязательны: исправьте текст, отправить «несмотря на замечания»
              нельзя.
            </div>
          ) : (
            <button
              type="button"
              class="warn"
              data-testid="draft-approve-anyway"
              disabled={busy}
              onClick={() => void approve(true)}
            >
              Отправить, несмотря на замечания
            </button>
          )}
        </div>
      )}
      <Notice text={notice} />
      {editable && (
        <div class="buttons">
          <button
            type="button"
            class="primary"
            data-testid="draft-approve"
            disabled={busy}
            onClick={() => void approve()}
          >
            {draft.status === 'approved_once' ? 'Согласовать (второе)' : 'Согласовать и отправить'}
          </button>
          <button
            type="button"
            data-testid="draft-save"
            disabled={busy || !dirty}
            onClick={() => void save()}
          >
            Сохранить
          </button>
          <button
            type="button"
            class="danger-outline"
            data-testid="draft-reject"
            disabled={busy}
            onClick={() => setRejecting((r) => !r)}
          >
            Отклонить
          </button>
        </div>
      )}
      {editable && rejecting && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void reject();
          }}
        >
          <input
            data-testid="draft-reject-reason"
            placeholder="Причина отклонения"
            value={reason}
            autoFocus
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <button type="submit" class="danger" data-testid="draft-reject-confirm" disabled={busy}>
            Отклонить черновик
          </button>
          <button type="button" onClick={() => setRejecting(false)}>
            Отмена
          </button>
        </form>
      )}
    </div>
  );
}
