/** What the API shows of stored rows (no raw payloads; Russian labels beside codes). */
import { INCIDENT_STATUS_LABELS, isOpenStatus, type IncidentStatus } from '../domain/incident-status.ts';
import { overdueDeadlines } from '../domain/sla.ts';
import type { IncidentEventRow, IncidentRow } from '../store/incident.store.ts';
import type { LabelTask } from '../store/label.store.ts';
import type { MessageRow } from '../store/message.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import { incidentNumber, sectorName } from '../responders/format.ts';

/** `corrections`: how many staff corrections each task of the message had (see label.store.ts). */
export function messageView(m: MessageRow, corrections: Partial<Record<LabelTask, number>> = {}) {
  return {
    id: m.id,
    source: m.sourceId,
    externalId: m.externalId,
    authorId: m.authorId,
    text: m.text,
    postedAt: m.postedAt.toISOString(),
    receivedAt: m.receivedAt.toISOString(),
    url: m.url,
    parentExternalId: m.parentExternalId,
    attachments: m.attachments,
    state: m.state,
    error: m.lastError,
    analysis: m.analyzedAt
      ? {
          sector: m.sector,
          sectorName: m.sector ? sectorName(m.sector) : null,
          sectorScore: m.sectorScore,
          sentiment: m.sentiment,
          sentimentScore: m.sentimentScore,
          toxic: m.toxic,
          toxicScore: m.toxicScore,
          municipality: m.municipality,
          address: m.address,
          model: m.model,
          needsReview: m.needsReview,
          analyzedAt: m.analyzedAt.toISOString(),
          /** Tasks whose value above was set by staff rather than by the model. */
          corrected: (['sector', 'sentiment'] as const).filter((t) => (corrections[t] ?? 0) > 0),
          corrections: (corrections.sector ?? 0) + (corrections.sentiment ?? 0),
        }
      : null,
    incidentId: m.incidentId,
  };
}

export function eventView(e: IncidentEventRow) {
  return {
    id: e.id,
    type: e.type,
    from: e.fromStatus,
    to: e.toStatus,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    actor: e.actor,
    at: e.at.toISOString(),
    data: e.data,
  };
}

export function incidentView(i: IncidentRow, ref: ReferenceSnapshot, now: Date, events?: IncidentEventRow[]) {
  const open = isOpenStatus(i.status as IncidentStatus);
  // Overdue: a deadline that still applies is past (as the list filter and sla-watch judge it); a paused
  // incident is not overdue while it waits for the citizen.
  const late = overdueDeadlines(
    {
      open,
      paused: i.pausedAt !== null,
      firstResponseDue: i.firstResponseDue,
      firstRespondedAt: i.firstRespondedAt,
      resolutionDue: i.resolutionDue,
    },
    now,
  );
  return {
    id: i.id,
    number: incidentNumber(i.id),
    status: i.status,
    statusLabel: INCIDENT_STATUS_LABELS[i.status as IncidentStatus] ?? i.status,
    sector: i.sector,
    sectorName: sectorName(i.sector),
    municipality: i.municipality,
    municipalityName: i.municipality ? (ref.municipalities.get(i.municipality)?.shortName ?? null) : null,
    agencyId: i.agencyId,
    agencyName: i.agencyId ? (ref.agencies.get(i.agencyId)?.shortName ?? null) : null,
    address: i.address,
    summary: i.summary,
    channelKind: i.channelKind,
    messagesCount: i.messageCount,
    authorsCount: i.authorCount,
    messageCount: i.messageCount,
    authorCount: i.authorCount,
    paused: i.pausedAt !== null,
    sensitive: i.sensitive,
    result: i.result,
    updatedAt: i.updatedAt.toISOString(),
    negativeCount: i.negativeCount,
    firstMessageAt: i.firstMessageAt.toISOString(),
    lastMessageAt: i.lastMessageAt.toISOString(),
    firstResponseDue: i.firstResponseDue.toISOString(),
    resolutionDue: i.resolutionDue.toISOString(),
    firstRespondedAt: i.firstRespondedAt?.toISOString() ?? null,
    /** Either deadline missed (see the two below). */
    overdue: late.any,
    firstResponseOverdue: late.firstResponse,
    resolutionOverdue: late.resolution,
    /** Set after a reopening: the resolution deadline counts from this moment. */
    resolutionStartedAt: i.resolutionStartedAt?.toISOString() ?? null,
    createdAt: i.createdAt.toISOString(),
    ...(events ? { events: events.map(eventView) } : {}),
  };
}
