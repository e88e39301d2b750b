/**
 * SMM decisions on reply drafts. An edit re-runs the checks on the new text; failed checks stop an
 * approval unless the approver accepts them explicitly (they are shown, never hidden). A sensitive
 * incident's reply needs a second approval by another person holding a head's role. The approved text
 * goes to every citizen who wrote about the incident, where they wrote, under the key `draft-<id>`, so a
 * repeated approval never sends twice.
 */
import { ConflictError, ForbiddenError } from '../domain/errors.ts';
import { can, type IncidentScope } from '../domain/permissions.ts';
import type { IncidentStore, RouteContext } from '../store/incident.store.ts';
import type { OutboundStore } from '../store/outbound.store.ts';
import type { OutboxStore, ReplyDraftRow } from '../store/outbox.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import type { StaffMember, StaffStore } from '../store/staff.store.ts';
import { checkDraft, type DraftCheck } from './draft-engine.ts';
import { refreshCards, type NotifyDeps } from './notify.ts';
import { deliverReply, type CitizenNotifyDeps } from './outbound.ts';
import { actorOf } from './workflow.ts';

export interface ApprovalDeps extends CitizenNotifyDeps, Omit<NotifyDeps, 'outbound' | 'queues'> {
  outbox: OutboxStore;
  incidents: IncidentStore;
  outbound: OutboundStore;
  staff: StaffStore;
  reference: () => Promise<ReferenceSnapshot>;
  routeContext: () => Promise<RouteContext>;
}

export interface Approvals {
  staffByToken(token: string): Promise<StaffMember | undefined>;
  deliveries(d: ReplyDraftRow): Promise<
    {
      source: string;
      chatId: string;
      status: string;
      externalId: string | null;
      lastError: string | null;
      sentAt: string | null;
    }[]
  >;
  edit(d: ReplyDraftRow, text: string, staff: StaffMember): Promise<ReplyDraftRow>;
  approve(
    d: ReplyDraftRow,
    scope: IncidentScope,
    staff: StaffMember,
    text: string | undefined,
    acceptFailedChecks: boolean,
  ): Promise<{ draft: ReplyDraftRow; queued: number; recipients: number }>;
  reject(d: ReplyDraftRow, reason: string, staff: StaffMember): Promise<ReplyDraftRow | undefined>;
  /**
   * Finishes approved drafts marked `sent` before `before` whose messages to citizens were never queued
   * (the process died between the decision and the delivery); returns how many.
   */
  completeUndelivered(before: Date): Promise<number>;
}

const FIRST_RESPONSE_KINDS = ['acknowledgement', 'in_progress', 'redirect', 'details_request', 'resolved'];

export function createApprovals(deps: ApprovalDeps): Approvals {
  async function recheck(d: ReplyDraftRow, text: string): Promise<DraftCheck[]> {
    const inc = await deps.incidents.get(d.incidentId);
    const ref = await deps.reference();
    const muni = inc?.municipality ? ref.municipalities.get(inc.municipality) : undefined;
    return checkDraft(text, { address: inc?.address ?? null, municipalityName: muni?.shortName ?? null });
  }

  /**
   * Step two of sending an approved draft: the text to every citizen (once per key), the events, the first
   * response and the pause of a question. Also run by the sweeper for a draft whose process died after step
   * one (`completeUndelivered`), so each part is safe to repeat.
   */
  async function deliver(d: ReplyDraftRow, actor: string, at: Date) {
    const r = await deliverReply(deps, d.incidentId, d.text, actor, `draft-${d.id}`);
    // A repair may follow a run that got part of the way: what it already wrote is not written again.
    const events = await deps.incidents.events(d.incidentId);
    if (!events.some((e) => e.type === 'reply_approved' && e.data?.draftId === d.id))
      await deps.incidents.addEvent(d.incidentId, 'reply_approved', actor, {
        draftId: d.id,
        kind: d.kind,
        approvals: d.approvals.map((a) => a.actor),
        recipients: r.recipients,
      });
    // The first response is a reply that reached a citizen's chat or thread through a bot. Where no bot can
    // carry it (appeals from the feedback platform, the API, an import) the clock keeps running, and the
    // workspace says so.
    if (r.recipients > 0 && FIRST_RESPONSE_KINDS.includes(d.kind))
      await deps.incidents.setFields(d.incidentId, { firstRespondedAt: at });
    // A question to the citizen stops the clock until they answer — unless the clock already stopped or
    // restarted since (a repair after the citizen answered must not stop it again).
    if (
      d.kind === 'details_request' &&
      r.recipients > 0 &&
      !events.some((e) => (e.type === 'sla_paused' || e.type === 'sla_resumed') && e.at >= at)
    )
      await deps.incidents.pause(d.incidentId, actor, at);
    await refreshCards(deps, d.incidentId);
    await deps.outbox.markDraftDelivered(d.id);
    return r;
  }

  async function send(d: ReplyDraftRow, staff: StaffMember, approvals: ReplyDraftRow['approvals']) {
    const now = new Date();
    // Step one: the decision, atomically (a concurrent rejection or approval loses).
    const decided = await deps.outbox.decideDraft(d.id, [d.status], {
      status: 'sent',
      approvals,
      decidedBy: actorOf(staff),
      decidedAt: now,
      sentAt: now,
    });
    if (!decided) throw new ConflictError(`draft ${d.id} was decided meanwhile`, { code: 'DRAFT_DECIDED' });
    const r = await deliver(decided, actorOf(staff), now);
    return { draft: decided, queued: r.queued, recipients: r.recipients };
  }

  return {
    staffByToken: (token) => deps.staff.byToken(token),

    async completeUndelivered(before) {
      let done = 0;
      for (const d of await deps.outbox.undeliveredDrafts(before, 200)) {
        await deliver(d, d.decidedBy ?? 'system', d.sentAt ?? new Date());
        done++;
      }
      return done;
    },

    async deliveries(d) {
      const rows = await deps.outbound.byIncident(d.incidentId);
      return rows
        .filter((r) => r.idempotencyKey.startsWith(`reply:${d.incidentId}:draft-${d.id}:`))
        .map((r) => ({
          source: r.sourceId,
          chatId: r.chatId,
          status: r.status,
          externalId: r.externalId,
          lastError: r.lastError,
          sentAt: r.sentAt?.toISOString() ?? null,
        }));
    },

    async edit(d, text, staff) {
      if (!['pending', 'approved_once'].includes(d.status))
        throw new ConflictError(`draft ${d.id} is already ${d.status}`, { code: 'DRAFT_DECIDED' });
      const checks = await recheck(d, text);
      const row = await deps.outbox.decideDraft(d.id, [d.status], {
        text,
        originalText: d.originalText ?? d.text,
        checks,
        // An edited text needs its approvals again.
        status: 'pending',
        approvals: [],
      });
      if (!row) throw new ConflictError(`draft ${d.id} was decided meanwhile`, { code: 'DRAFT_DECIDED' });
      await deps.incidents.addEvent(d.incidentId, 'draft_edited', actorOf(staff), { draftId: d.id });
      return row;
    },

    async approve(d, scope, staff, text, acceptFailedChecks) {
      if (!['pending', 'approved_once'].includes(d.status))
        throw new ConflictError(`draft ${d.id} is already ${d.status}`, { code: 'DRAFT_DECIDED' });
      let draft = d;
      if (text !== undefined && text.trim() !== d.text) draft = await this.edit(d, text.trim(), staff);
      const failed = draft.checks.filter((c) => !c.ok);
      // Rude words or a `{slot}` left unfilled never reach a citizen, whoever approves (DraftCheck.blocking).
      const blocking = failed.filter((c) => c.name === 'slots_filled' || c.blocking);
      if (blocking.length)
        throw new ConflictError(
          `draft ${d.id} cannot be sent: ${blocking.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}; ` +
            'fix the text (these checks cannot be overridden)',
          { code: 'DRAFT_CHECKS_BLOCKING', details: { checks: draft.checks } },
        );
      if (failed.length && !acceptFailedChecks)
        throw new ConflictError(
          `draft ${d.id} fails checks: ${failed.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}; ` +
            'fix the text or approve with acceptFailedChecks: true',
          { code: 'DRAFT_CHECKS_FAILED', details: { checks: draft.checks } },
        );
      const approvals = [...draft.approvals, { actor: actorOf(staff), at: new Date().toISOString() }];
      if (draft.requiresSecondApproval) {
        if (draft.status === 'pending') {
          if (!can(staff.grants, 'approve', scope))
            throw new ForbiddenError("the first approval is SMM's", { code: 'FORBIDDEN_ROLE' });
          const row = await deps.outbox.decideDraft(d.id, ['pending'], {
            status: 'approved_once',
            approvals,
          });
          if (!row) throw new ConflictError(`draft ${d.id} was decided meanwhile`, { code: 'DRAFT_DECIDED' });
          await deps.incidents.addEvent(d.incidentId, 'draft_approved_once', actorOf(staff), {
            draftId: d.id,
          });
          return { draft: row, queued: 0, recipients: 0 };
        }
        if (draft.approvals.some((a) => a.actor === actorOf(staff)))
          throw new ForbiddenError('the second approval must come from another person', {
            code: 'SECOND_APPROVAL_SAME_PERSON',
          });
        if (!can(staff.grants, 'second_approve', scope))
          throw new ForbiddenError(
            'a second approval needs the role of a head of the center or the curator',
            {
              code: 'FORBIDDEN_ROLE',
            },
          );
      } else if (!can(staff.grants, 'approve', scope))
        throw new ForbiddenError("approving replies is SMM's", { code: 'FORBIDDEN_ROLE' });
      return send(draft, staff, approvals);
    },

    async reject(d, reason, staff) {
      const row = await deps.outbox.decideDraft(d.id, ['pending', 'approved_once'], {
        status: 'rejected',
        rejectedReason: reason,
        decidedBy: actorOf(staff),
        decidedAt: new Date(),
      });
      if (row)
        await deps.incidents.addEvent(d.incidentId, 'draft_rejected', actorOf(staff), {
          draftId: d.id,
          reason,
        });
      return row;
    },
  };
}
