/**
 * Conflict situations (issue 7): detection and delivery. The rules are in src/domain/conflicts.ts; the
 * `conflicts` queue calls in here:
 *
 * - `scanSpikes` from the repeatable scan (negative messages per sector × municipality, last 24 h against
 *   the 7 days before);
 * - `checkRouted` after a route batch (toxic threads, one citizen writing again and again about one
 *   problem);
 * - `checkReply` after an official reply was sent (rude text, first response after its deadline).
 *
 * Every alert is written once per key and window (conflict_alerts), sent in Russian to the center's chat
 * through the staff outbox when a chat is set, and announced to the workspace (`onAlert`).
 */
import { jaccard } from '../domain/grouping.ts';
import {
  ALERT_KIND_LABELS,
  rudePhrases,
  spikeVerdict,
  timesRu,
  type AlertKind,
  type AlertSettings,
  type AlertSeverity,
} from '../domain/conflicts.ts';
import type { TextAnalyzer } from '../domain/types.ts';
import type { ConflictAlertInsert, ConflictAlertRow, ConflictStore } from '../store/conflict.store.ts';
import type { IncidentRow } from '../store/incident.store.ts';
import type { OutboundStore } from '../store/outbound.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import { formatDateTime, incidentNumber, sectorName } from './format.ts';
import { notifyStaff, type NotifyDeps } from './notify.ts';

export interface ConflictDeps extends NotifyDeps {
  conflicts: ConflictStore;
  outbound: OutboundStore;
  /** Toxicity of official replies; absent → the phrase list alone. */
  analyzer?: TextAnalyzer;
  /** Jaccard index of the terms at which two incidents are one problem. @defaultValue 0.5 */
  duplicateThreshold?: number;
  /** Called once for every new alert, with its incident's agency (live updates of the workspace). */
  onAlert?: (alert: ConflictAlertRow, agencyId: string | null) => void;
}

/** A retried job re-delivers an alert this young (its insert committed, its message maybe not). */
const REDELIVER_MS = 10 * 60_000;

const num = (v: number) =>
  Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0$/, '').replace('.', ',');

function place(ref: ReferenceSnapshot, sector: string, municipality: string | null): string {
  const muni = municipality ? (ref.municipalities.get(municipality)?.shortName ?? municipality) : null;
  return muni ? `${sectorName(sector)}, ${muni}` : sectorName(sector);
}

function render(kind: AlertKind, severity: AlertSeverity, lines: string[], link: string): string {
  return [
    `Конфликтная ситуация: ${ALERT_KIND_LABELS[kind]}${severity === 'critical' ? ' (срочно)' : ''}`,
    ...lines,
    `Открыть: ${link}`,
  ].join('\n');
}

const base = (deps: ConflictDeps) => deps.publicUrl.replace(/\/$/, '');
const incidentLink = (deps: ConflictDeps, id: number) => `${base(deps)}/#/incidents/${id}`;

async function deliver(deps: ConflictDeps, settings: AlertSettings, row: ConflictAlertRow): Promise<void> {
  if (!settings.centerChatId) return; // workspace only
  await notifyStaff(deps, {
    key: `alert:${row.id}`,
    incidentId: row.incidentId,
    recipient: settings.centerChatId,
    kind: 'conflict_alert',
    text: row.text,
  });
}

/** Writes the alert unless its key was raised within the window; returns whether it is new. */
async function raise(
  deps: ConflictDeps,
  settings: AlertSettings,
  alert: ConflictAlertInsert & { kind: AlertKind; severity: AlertSeverity },
  windowHours: number | null,
  agencyId: string | null,
): Promise<boolean> {
  const r = await deps.conflicts.raise(alert, windowHours);
  if ('created' in r) {
    await deliver(deps, settings, r.created);
    deps.onAlert?.(r.created, agencyId);
    return true;
  }
  // A job that died between the insert and the delivery completes it when retried (notifyStaff is keyed).
  if (Date.now() - r.duplicate.createdAt.getTime() < REDELIVER_MS) await deliver(deps, settings, r.duplicate);
  return false;
}

/** (a) Spikes of negative messages per sector × municipality; returns how many alerts were raised. */
export async function scanSpikes(deps: ConflictDeps, now = new Date()): Promise<number> {
  const settings = await deps.conflicts.settings();
  const ref = await deps.reference();
  let raised = 0;
  for (const p of await deps.conflicts.negativeByDay(now, settings.spikeMinCount)) {
    const [current = 0, ...baseline] = p.days;
    const v = spikeVerdict(current, baseline, settings.spikeK, settings.spikeMinCount);
    if (!v.spike) continue;
    const lines = [
      `${place(ref, p.sector, p.municipality)}.`,
      `Негативных сообщений за последние 24 ч: ${current}; за 7 предыдущих суток в среднем ${num(v.mean)} в сутки ` +
        `(стандартное отклонение ${num(v.sd)}), порог ${num(v.threshold)} (среднее + ${num(settings.spikeK)} σ).`,
      `По суткам, от вчерашних назад: ${baseline.join(', ')}.`,
    ];
    const link = `${base(deps)}/#/incidents?sector=${encodeURIComponent(p.sector)}&municipality=${encodeURIComponent(p.municipality)}&sentiment=negative`;
    if (
      await raise(
        deps,
        settings,
        {
          kind: 'spike',
          severity: v.severity,
          key: `spike:${p.sector}:${p.municipality}`,
          sector: p.sector,
          municipality: p.municipality,
          incidentId: null,
          text: render('spike', v.severity, lines, link),
          details: {
            current,
            baseline,
            mean: v.mean,
            sd: v.sd,
            threshold: v.threshold,
            k: settings.spikeK,
            minCount: settings.spikeMinCount,
          },
        },
        24,
        null,
      )
    )
      raised++;
  }
  return raised;
}

/** (b) toxic threads and (c) repeated appeals among incidents a route batch opened or joined. */
export async function checkRouted(
  deps: ConflictDeps,
  incidentIds: readonly number[],
  now = new Date(),
): Promise<number> {
  const ids = [...new Set(incidentIds)];
  if (!ids.length) return 0;
  const settings = await deps.conflicts.settings();
  const ref = await deps.reference();
  const cache = new Map<number, IncidentRow | undefined>();
  const incident = async (id: number) => {
    if (!cache.has(id)) cache.set(id, await deps.incidents.get(id));
    return cache.get(id);
  };
  let raised = 0;

  const counts = await deps.conflicts.toxicCounts(ids);
  for (const id of ids) {
    const c = counts.get(id);
    const inc = c && c.toxic >= settings.toxicThreshold ? await incident(id) : undefined;
    if (!c || !inc) continue;
    const lines = [
      `Инцидент ${incidentNumber(inc.id)} (${place(ref, inc.sector, inc.municipality)}): токсичных сообщений ${c.toxic} из ${c.total} (порог ${settings.toxicThreshold}).`,
      `Суть: ${inc.summary}`,
    ];
    if (
      await raise(
        deps,
        settings,
        {
          kind: 'toxic_thread',
          severity: 'critical',
          key: `toxic:${inc.id}`,
          sector: inc.sector,
          municipality: inc.municipality,
          incidentId: inc.id,
          text: render('toxic_thread', 'critical', lines, incidentLink(deps, inc.id)),
          details: { toxic: c.toxic, total: c.total, threshold: settings.toxicThreshold },
        },
        null,
        inc.agencyId,
      )
    )
      raised++;
  }

  const since = new Date(now.getTime() - settings.repeatWindowHours * 3_600_000);
  for (const id of await deps.conflicts.repeatCandidates(ids, since, settings.repeatCount)) {
    const inc = await incident(id);
    if (!inc) continue;
    // The same problem: this incident and its near duplicates (same sector and municipality).
    const same = (await deps.conflicts.neighbours(inc, since))
      .filter((n) => jaccard(inc.terms, n.terms) >= (deps.duplicateThreshold ?? 0.5))
      .map((n) => n.id);
    for (const r of await deps.conflicts.repeatAuthors(inc.id, same, since, settings.repeatCount)) {
      const others = r.incidentIds.filter((x) => x !== inc.id);
      const lines = [
        `Один и тот же заявитель написал ${timesRu(r.messageIds.length)} за ${settings.repeatWindowHours} ч об одной проблеме: ` +
          `инцидент ${incidentNumber(inc.id)} (${place(ref, inc.sector, inc.municipality)})` +
          (others.length ? `, связанные: ${others.map(incidentNumber).join(', ')}.` : '.'),
        `Суть: ${inc.summary}`,
      ];
      if (
        await raise(
          deps,
          settings,
          {
            kind: 'repeat_author',
            severity: 'warning',
            // One problem of one author: keyed by the first of its incidents, whichever one this batch touched.
            key: `repeat:${r.authorId}:${r.incidentIds[0] ?? inc.id}`,
            sector: inc.sector,
            municipality: inc.municipality,
            incidentId: inc.id,
            text: render('repeat_author', 'warning', lines, incidentLink(deps, inc.id)),
            details: {
              authorId: r.authorId,
              count: r.messageIds.length,
              messageIds: r.messageIds,
              incidentIds: r.incidentIds,
              windowHours: settings.repeatWindowHours,
            },
          },
          settings.repeatWindowHours,
          inc.agencyId,
        )
      )
        raised++;
    }
  }
  return raised;
}

function lateness(ms: number): string {
  const min = Math.max(1, Math.round(ms / 60_000));
  const h = Math.floor(min / 60);
  return h ? `${h} ч ${min % 60} мин` : `${min} мин`;
}

/** (d) A sent official reply: rude text, or the incident's first response after its deadline. */
export async function checkReply(deps: ConflictDeps, outboundId: number): Promise<number> {
  const row = await deps.outbound.get(outboundId);
  if (!row || row.purpose !== 'reply' || row.status !== 'sent' || !row.incidentId) return 0;
  const inc = await deps.incidents.get(row.incidentId);
  if (!inc) return 0;
  const [settings, ref] = await Promise.all([deps.conflicts.settings(), deps.reference()]);
  let raised = 0;

  // The staff's words, without the header a messenger reply gets.
  const text = row.text.replace(/^Ответ по обращению [^\n]*:\n\n/, '');
  const phrases = rudePhrases(text);
  const analysis = deps.analyzer ? (await deps.analyzer.analyze([text]))[0] : undefined;
  const toxic = analysis !== undefined && analysis.toxicScore >= settings.replyToxicScore;
  if (phrases.length || toxic) {
    const lines = [
      `Инцидент ${incidentNumber(inc.id)} (${place(ref, inc.sector, inc.municipality)}): ответ заявителю звучит грубо.`,
      phrases.length
        ? `Найдено: ${phrases.map((p) => `«${p}»`).join(', ')}.`
        : 'Анализатор текста отнёс ответ к токсичным.',
      analysis ? `Оценка токсичности: ${num(Math.round(analysis.toxicScore * 100) / 100)}.` : null,
      `Текст ответа: «${text.length > 300 ? `${text.slice(0, 297)}…` : text}»`,
    ].filter((l): l is string => l !== null);
    // One alert per reply, however many citizens it went to: the key drops the per-message suffix.
    const replyKey = row.idempotencyKey.replace(/:\d+$/, '');
    if (
      await raise(
        deps,
        settings,
        {
          kind: 'rude_reply',
          severity: 'critical',
          key: `rude:${replyKey}`,
          sector: inc.sector,
          municipality: inc.municipality,
          incidentId: inc.id,
          text: render('rude_reply', 'critical', lines, incidentLink(deps, inc.id)),
          details: {
            outboundId: row.id,
            phrases,
            toxic,
            toxicScore: analysis?.toxicScore ?? null,
            replyText: text.slice(0, 1000),
          },
        },
        null,
        inc.agencyId,
      )
    )
      raised++;
  }

  const first = await deps.conflicts.firstResponseAt(inc.id);
  if (first && first > inc.firstResponseDue) {
    const lines = [
      `Инцидент ${incidentNumber(inc.id)} (${place(ref, inc.sector, inc.municipality)}): первый ответ дан ${formatDateTime(first)} ` +
        `при сроке ${formatDateTime(inc.firstResponseDue)} (опоздание ${lateness(first.getTime() - inc.firstResponseDue.getTime())}, время барнаульское).`,
      `Суть: ${inc.summary}`,
    ];
    if (
      await raise(
        deps,
        settings,
        {
          kind: 'late_reply',
          severity: 'warning',
          key: `late:${inc.id}`,
          sector: inc.sector,
          municipality: inc.municipality,
          incidentId: inc.id,
          text: render('late_reply', 'warning', lines, incidentLink(deps, inc.id)),
          details: {
            outboundId: row.id,
            firstResponseDue: inc.firstResponseDue.toISOString(),
            respondedAt: first.toISOString(),
            lateMinutes: Math.round((first.getTime() - inc.firstResponseDue.getTime()) / 60_000),
          },
        },
        null,
        inc.agencyId,
      )
    )
      raised++;
  }
  return raised;
}
