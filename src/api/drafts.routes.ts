/**
 * Reply drafts for SMM: the queue, one draft with its checks, suggestions and deliveries, approve (with an
 * edited text), edit, reject with a reason. Staff authenticate with their personal token; every decision is
 * checked against role and scope and written to the incident's events. An approved reply goes out through
 * the connector the citizen used, as a reply to their message or comment.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import { can, type IncidentScope } from '../domain/permissions.ts';
import type { ReplyDraftRow } from '../store/outbox.store.ts';
import type { StaffMember } from '../store/staff.store.ts';
import { IdParamsSchema } from './schemas/message.schema.ts';
import { canSeePersonalData, grantsSeePersonalData } from './access.ts';
import { maskText } from '../responders/privacy.ts';
import { incidentAuthorNames } from '../store/privacy.store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    staff?: StaffMember;
  }
}

const DRAFT_STATUSES = ['pending', 'approved_once', 'approved', 'rejected', 'sent'] as const;

function draftView(d: ReplyDraftRow) {
  return {
    id: d.id,
    incidentId: d.incidentId,
    kind: d.kind,
    status: d.status,
    text: d.text,
    originalText: d.originalText,
    templateId: d.templateId,
    checks: d.checks,
    failedChecks: d.checks.filter((c) => !c.ok).map((c) => c.name),
    suggestions: d.suggestions,
    requiresSecondApproval: d.requiresSecondApproval,
    approvals: d.approvals,
    rejectedReason: d.rejectedReason,
    decidedBy: d.decidedBy,
    decidedAt: d.decidedAt?.toISOString() ?? null,
    sentAt: d.sentAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
  };
}

export const draftsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const svc = () => app.services.workflow;

  // Drafts are decided by named staff only (a session or a personal token), never by an integration token.
  app.addHook('preHandler', async (req) => {
    const p = req.principal;
    if (p && p.kind !== 'staff')
      throw new ForbiddenError('drafts are read and decided by named staff (log in or use a staff token)', {
        code: 'STAFF_ONLY',
      });
    if (p?.kind === 'staff') req.staff = p.member;
  });

  /**
   * The drafts as `staff` may see them: the suggested replies (approved before, for similar incidents of any
   * sector) only of incidents within the caller's read scope — a reply names the appeal, its address, result.
   */
  async function viewsFor(staff: StaffMember, drafts: readonly ReplyDraftRow[]) {
    const ids = [...new Set(drafts.flatMap((d) => d.suggestions.map((x) => x.incidentId)))];
    const rows = ids.length
      ? await app.services.database.query<{
          id: number;
          sector: string;
          agency_id: string | null;
          municipality: string | null;
        }>(`select id, sector, agency_id, municipality from incidents where id = any($1::bigint[])`, [ids])
      : [];
    const readable = new Set(
      rows
        .filter((r) =>
          can(staff.grants, 'read', {
            sector: r.sector,
            agencyId: r.agency_id,
            municipality: r.municipality,
          }),
        )
        .map((r) => Number(r.id)),
    );
    // Without access to personal data the texts are masked like the citizens' own words (a reply may greet
    // its citizen by name, quote a phone number or an address of theirs).
    const pd = grantsSeePersonalData(staff.grants);
    const names = pd
      ? undefined
      : await incidentAuthorNames(app.services.database, [
          ...new Set([...drafts.map((d) => d.incidentId), ...readable]),
        ]);
    const shown = (text: string, incidentId: number) =>
      names ? maskText(text, names.get(incidentId)) : text;
    return drafts.map((d) => ({
      ...draftView(d),
      text: shown(d.text, d.incidentId),
      originalText: d.originalText === null ? null : shown(d.originalText, d.incidentId),
      suggestions: d.suggestions
        .filter((x) => readable.has(x.incidentId))
        .map((x) => ({ ...x, text: shown(x.text, x.incidentId) })),
    }));
  }
  const viewFor = async (staff: StaffMember, d: ReplyDraftRow) => (await viewsFor(staff, [d]))[0]!;

  /** A staff edit of the text (re-checked, approvals again), with its audit entry. */
  async function editAudited(d: ReplyDraftRow, text: string, staff: StaffMember, ip: string) {
    const r = await svc().edit(d, text, staff);
    await app.services.audit({
      actor: `staff:${staff.login}`,
      action: 'draft.edit',
      entity: 'reply_draft',
      entityId: d.id,
      before: { text: d.text },
      after: { text: r.text },
      ip,
    });
    return r;
  }

  async function loadScoped(id: number, staff: StaffMember, action: 'read' | 'approve') {
    const d = await app.services.outbox.draft(id);
    if (!d) throw new NotFoundError('draft', String(id));
    const inc = await app.services.incidents.get(d.incidentId);
    if (!inc) throw new NotFoundError('incident', String(d.incidentId));
    const scope: IncidentScope = {
      sector: inc.sector,
      agencyId: inc.agencyId,
      municipality: inc.municipality,
    };
    if (
      !can(staff.grants, action, scope) &&
      !(action === 'approve' && can(staff.grants, 'second_approve', scope))
    )
      throw new ForbiddenError(`role and scope of ${staff.login} do not allow to ${action} this draft`, {
        code: 'FORBIDDEN_SCOPE',
      });
    return { d, inc, scope };
  }

  app.get(
    '/drafts',
    {
      schema: {
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Array(Type.Union(DRAFT_STATUSES.map((s) => Type.Literal(s))), { maxItems: 5 }),
            ),
            sector: Type.Optional(Type.Array(Type.String({ maxLength: 50 }), { maxItems: 20 })),
            incident: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'drafts.read' },
      preValidation: async (req) => {
        const q = req.query as Record<string, unknown>;
        for (const k of ['status', 'sector'])
          if (typeof q[k] === 'string') q[k] = (q[k] as string).split(',').filter(Boolean);
      },
    },
    async (req) => {
      const staff = req.staff!;
      if (!can(staff.grants, 'read') && !can(staff.grants, 'approve'))
        throw new ForbiddenError('this role does not read drafts', { code: 'FORBIDDEN_ROLE' });
      // Scoped roles see the drafts of the incidents their grants reach (sector, agency, municipality).
      const r = await app.services.outbox.listDrafts({
        status: req.query.status ?? ['pending', 'approved_once'],
        sector: req.query.sector,
        scope: staff.grants.map((g) => ({
          sector: g.sector ?? null,
          agencyId: g.agencyId ?? null,
          municipality: g.municipality ?? null,
        })),
        incidentId: req.query.incident,
        limit: req.query.limit,
        offset: req.query.offset,
      });
      const views = await viewsFor(staff, r.items);
      return { total: r.total, items: r.items.map((d, i) => ({ ...views[i]!, sector: d.sector })) };
    },
  );

  app.get(
    '/drafts/:id',
    { schema: { params: IdParamsSchema }, config: { access: 'drafts.read' } },
    async (req) => {
      const { d, inc } = await loadScoped(req.params.id, req.staff!, 'read');
      const deliveries = await svc().deliveries(d);
      // Without access to personal data: the summary (a citizen's words) masked, no chats of citizens.
      const pd = canSeePersonalData(req.principal);
      return {
        ...(await viewFor(req.staff!, d)),
        incident: {
          id: inc.id,
          status: inc.status,
          summary: pd
            ? inc.summary
            : maskText(inc.summary, (await incidentAuthorNames(app.services.database, [inc.id])).get(inc.id)),
          sensitive: inc.sensitive,
        },
        deliveries: pd ? deliveries : deliveries.map((x) => ({ ...x, chatId: null, externalId: null })),
      };
    },
  );

  app.post(
    '/drafts/:id/edit',
    {
      schema: {
        params: IdParamsSchema,
        body: Type.Object(
          { text: Type.String({ minLength: 1, maxLength: 4000 }) },
          { additionalProperties: false },
        ),
      },
      config: { access: 'drafts.decide' },
    },
    async (req) => {
      const { d } = await loadScoped(req.params.id, req.staff!, 'approve');
      return viewFor(req.staff!, await editAudited(d, req.body.text, req.staff!, req.ip));
    },
  );

  app.post(
    '/drafts/:id/approve',
    {
      schema: {
        params: IdParamsSchema,
        body: Type.Object(
          {
            text: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
            acceptFailedChecks: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'drafts.decide' },
    },
    async (req) => {
      const staff = req.staff!;
      const { d, scope } = await loadScoped(req.params.id, staff, 'approve');
      // A changed text is an edit first (re-checked, back to pending, approvals again). It is decided here,
      // before anything is written: the edit used to be stored (and not audited) even when the approval that
      // followed was refused — by role, or by its checks.
      let draft = d;
      const text = req.body.text?.trim();
      if (text !== undefined && text !== d.text) {
        if (!['pending', 'approved_once'].includes(d.status))
          throw new ConflictError(`draft ${d.id} is already ${d.status}`, { code: 'DRAFT_DECIDED' });
        if (!can(staff.grants, 'approve', scope))
          throw new ForbiddenError(
            "a changed text needs the first approval again, and that is SMM's: approve the text as it is",
            { code: 'FORBIDDEN_ROLE' },
          );
        draft = await editAudited(d, text, staff, req.ip);
      }
      const r = await svc().approve(draft, scope, staff, undefined, req.body.acceptFailedChecks === true);
      await app.services.audit({
        actor: `staff:${req.staff!.login}`,
        action: 'draft.approve',
        entity: 'reply_draft',
        entityId: d.id,
        before: { status: d.status, text: d.text },
        after: { status: r.draft.status, text: r.draft.text },
        ip: req.ip,
      });
      app.services.live.publishId(d.incidentId);
      return { ...(await viewFor(staff, r.draft)), queued: r.queued, recipients: r.recipients };
    },
  );

  app.post(
    '/drafts/:id/reject',
    {
      schema: {
        params: IdParamsSchema,
        body: Type.Object(
          { reason: Type.String({ minLength: 3, maxLength: 1000 }) },
          { additionalProperties: false },
        ),
      },
      config: { access: 'drafts.decide' },
    },
    async (req) => {
      const { d } = await loadScoped(req.params.id, req.staff!, 'approve');
      if (!can(req.staff!.grants, 'approve', undefined))
        throw new ForbiddenError("only SMM and the center's heads reject drafts", { code: 'FORBIDDEN_ROLE' });
      const r = await svc().reject(d, req.body.reason, req.staff!);
      if (!r) throw new ConflictError(`draft ${d.id} is already ${d.status}`, { code: 'DRAFT_DECIDED' });
      await app.services.audit({
        actor: `staff:${req.staff!.login}`,
        action: 'draft.reject',
        entity: 'reply_draft',
        entityId: d.id,
        before: { status: d.status },
        after: { status: 'rejected', reason: req.body.reason },
        ip: req.ip,
      });
      return viewFor(req.staff!, r);
    },
  );
};
