/**
 * Audience and campaigns: segments (rules over the subscribers, with a live count), campaigns from draft
 * through approval to the broadcast, pause / resume / cancel at any time, statistics, and the public
 * click-counting redirect of the link buttons (`/r/<token>/<n>`, no login, like the webhooks).
 * Every staff write is in the audit trail.
 *
 * Approval: by a role with `outreach.approve`, and by someone other than the author — unless no other active
 * staff member holds an approving role (a one-person installation), which the audit records as such.
 * What was approved is what goes: the rules of a segment cannot change while a campaign or poll that will
 * still read them is approved or waiting for approval (409 SEGMENT_IN_USE).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { SECTORS } from '../domain/types.ts';
import {
  CAMPAIGN_STATUS_LABELS,
  checkCampaignText,
  isHttpUrl,
  MAX_BUTTONS,
} from '../responders/campaign-text.ts';
import { LANGUAGES } from '../responders/campaign-text.ts';
import {
  CAMPAIGN_STATUSES,
  type CampaignStatus,
  type DeliveryStatus,
  type SegmentRules,
} from '../store/outreach.schema.ts';
import {
  CAMPAIGN_CHANNELS,
  type CampaignChannel,
  type CampaignRow,
  type CampaignStats,
  type OutreachStore,
  type SegmentRow,
  type SegmentUse,
} from '../store/outreach.store.ts';
import { ACCESS, actorName, type Principal } from './access.ts';
import { audited } from './audit.ts';

export interface OutreachServices {
  store: OutreachStore;
  /** Adds the run job of a campaign, now or after `delayMs` (its schedule). */
  kick(campaignId: number, delayMs?: number): Promise<void>;
}

const Id = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
const Codes = (max: number) => Type.Optional(Type.Array(Type.String({ maxLength: 60 }), { maxItems: max }));
const Rules = Type.Object(
  {
    municipalities: Codes(100),
    topics: Codes(30),
    platforms: Type.Optional(
      Type.Array(Type.Union([Type.Literal('telegram'), Type.Literal('vk')]), { maxItems: 2 }),
    ),
    languages: Codes(10),
  },
  { additionalProperties: false },
);
const Channel = Type.Union(CAMPAIGN_CHANNELS.map((c) => Type.Literal(c)));
const SegmentBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), rules: Rules },
  { additionalProperties: false },
);
const CampaignBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    text: Type.String({ minLength: 1, maxLength: 20_000 }),
    photoUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    buttons: Type.Optional(
      Type.Array(
        Type.Object(
          { text: Type.String({ minLength: 1, maxLength: 40 }), url: Type.String({ maxLength: 2000 }) },
          { additionalProperties: false },
        ),
        { maxItems: MAX_BUTTONS },
      ),
    ),
    segmentId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    channel: Channel,
    scheduledAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false },
);
type CampaignBodyT = Static<typeof CampaignBody>;

const invalid = (field: string, reason: string) =>
  new ValidationError(field, reason, { code: 'CAMPAIGN_INVALID' });
const stateError = (c: CampaignRow, action: string) =>
  new ConflictError(
    `Рассылку в состоянии «${CAMPAIGN_STATUS_LABELS[c.status] ?? c.status}» нельзя ${action}.`,
    { code: 'CAMPAIGN_STATE', details: { status: c.status } },
  );

/**
 * Four eyes over what goes out to citizens (campaigns, polls): the approver is a staff member other than the
 * author, unless no other active staff member holds an approving role (a one-person installation such as the
 * first `admin`) — then the author may approve, and the caller audits `<kind>.self_approve`. Returns whether
 * it is such a self-approval.
 */
export async function checkFourEyes(
  store: OutreachStore,
  p: Principal | undefined,
  createdBy: string | null,
  kind: 'campaign' | 'poll',
): Promise<boolean> {
  if (p?.kind !== 'staff')
    throw new ForbiddenError(`${kind}s are approved by a staff member`, { code: 'STAFF_ONLY' });
  if (createdBy !== actorName(p)) return false;
  const others = await store.otherStaffWithRoles(p.member.login, ACCESS['outreach.approve'].roles);
  if (others === 0) return true; // nobody else could: a one-person installation
  throw kind === 'campaign'
    ? new ForbiddenError('Рассылку согласует другой сотрудник: автор не может согласовать свою рассылку.', {
        code: 'CAMPAIGN_SELF_APPROVAL',
      })
    : new ForbiddenError('Опрос утверждает другой сотрудник: автор не может утвердить свой опрос.', {
        code: 'POLL_SELF_APPROVAL',
      });
}

/** The campaigns and polls that hold a segment's rules, as staff read them. */
export function segmentUsesText(uses: readonly SegmentUse[]): string {
  return uses
    .map((u) =>
      u.kind === 'campaign'
        ? `рассылка «${u.title}» (${(CAMPAIGN_STATUS_LABELS[u.status] ?? u.status).toLowerCase()})`
        : `опрос «${u.title}» (на согласовании)`,
    )
    .join(', ');
}

const sameRules = (a: SegmentRules, b: SegmentRules) => {
  const norm = (r: SegmentRules) =>
    JSON.stringify(
      (['municipalities', 'topics', 'platforms', 'languages'] as const).map((k) => [...(r[k] ?? [])].sort()),
    );
  return norm(a) === norm(b);
};

const NOT_FOUND_PAGE = `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Ссылка не найдена</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; padding: 0 1em">
<h1>Ссылка не найдена</h1>
<p>Эта ссылка из рассылки устарела или набрана с ошибкой. Новости и опросы — в официальных каналах
Правительства Алтайского края.</p>
</body></html>
`;

export const outreachRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const svc = () => app.services.outreach;
  const store = () => svc().store;

  // Public: a link button of a campaign message. Counts the click, then 302 to the button's address.
  app.get<{ Params: { token: string; n: string } }>('/r/:token/:n', async (req, reply) => {
    const { token, n } = req.params;
    const url =
      /^[A-Za-z0-9_-]{8,64}$/.test(token) && /^\d{1,2}$/.test(n)
        ? await store().click(token, Number(n))
        : undefined;
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (!url) return reply.code(404).type('text/html; charset=utf-8').send(NOT_FOUND_PAGE);
    return reply.redirect(url, 302);
  });

  await app.register(api, { prefix: '/api/v1' });
};

const api: FastifyPluginAsyncTypebox = async (app) => {
  const store = () => app.services.outreach.store;
  const R = { access: 'outreach.read' as const };
  const W = { access: 'outreach.write' as const };
  const A = { access: 'outreach.approve' as const };

  const audit = (
    req: { principal?: Principal; ip: string },
    action: string,
    entity: string,
    id: number,
    before: unknown,
    after: unknown,
  ) => audited(app, req, action, entity, id, before, after);

  async function checkRules(rules: Static<typeof Rules>): Promise<SegmentRules> {
    const ref = await app.services.reference.get();
    const out: SegmentRules = {};
    const uniq = (a?: string[]) => [...new Set(a ?? [])];
    const munis = uniq(rules.municipalities);
    for (const m of munis)
      if (!ref.municipalities.has(m)) throw invalid('rules.municipalities', `неизвестный район «${m}»`);
    const topics = uniq(rules.topics);
    for (const t of topics)
      if (!SECTORS.some((s) => s.code === t)) throw invalid('rules.topics', `неизвестная тема «${t}»`);
    const langs = uniq(rules.languages);
    for (const l of langs)
      if (!LANGUAGES.some((x) => x.code === l)) throw invalid('rules.languages', `неизвестный язык «${l}»`);
    const platforms = [...new Set(rules.platforms ?? [])];
    if (munis.length) out.municipalities = munis;
    if (topics.length) out.topics = topics;
    if (platforms.length) out.platforms = platforms;
    if (langs.length) out.languages = langs;
    return out;
  }

  const segmentView = async (s: SegmentRow, uses?: Map<number, SegmentUse[]>) => ({
    id: s.id,
    name: s.name,
    rules: s.rules,
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    count: await store().countAudience(s.rules),
    /** Campaigns and polls that hold its rules now (approved or waiting for approval): no rule changes. */
    inUse: ((uses ?? (await store().segmentUses([s.id]))).get(s.id) ?? []).map((u) => ({
      ...u,
      text: segmentUsesText([u]),
    })),
  });

  app.get('/segments', { config: R }, async () => {
    const [list, uses] = await Promise.all([store().listSegments(), store().segmentUses()]);
    return { items: await Promise.all(list.map((s) => segmentView(s, uses))) };
  });

  app.post(
    '/segments/count',
    { schema: { body: Type.Object({ rules: Rules, channel: Type.Optional(Channel) }) }, config: R },
    async (req) => store().countAudience(await checkRules(req.body.rules), req.body.channel),
  );

  app.get(
    '/segments/:id/count',
    { schema: { params: Id, querystring: Type.Object({ channel: Type.Optional(Channel) }) }, config: R },
    async (req) => {
      const s = await store().segment(req.params.id);
      if (!s) throw new NotFoundError('segment', String(req.params.id));
      return store().countAudience(s.rules, req.query.channel);
    },
  );

  app.post('/segments', { schema: { body: SegmentBody }, config: W }, async (req, reply) => {
    const rules = await checkRules(req.body.rules);
    const s = await store().createSegment({
      name: req.body.name.trim(),
      rules,
      createdBy: actorName(req.principal),
    });
    await audit(req, 'segment.create', 'segment', s.id, null, { name: s.name, rules });
    return reply.code(201).send(await segmentView(s));
  });

  app.patch(
    '/segments/:id',
    { schema: { params: Id, body: Type.Partial(SegmentBody) }, config: W },
    async (req) => {
      const before = await store().segment(req.params.id);
      if (!before) throw new NotFoundError('segment', String(req.params.id));
      const rules = req.body.rules !== undefined ? await checkRules(req.body.rules) : undefined;
      const patch = {
        ...(req.body.name !== undefined ? { name: req.body.name.trim() } : {}),
        // Only a real change of the rules is one (a rename of a segment in use is fine).
        ...(rules && !sameRules(rules, before.rules) ? { rules } : {}),
      };
      const after = await store().updateSegment(before.id, patch);
      if (!after) throw new NotFoundError('segment', String(req.params.id));
      if ('inUse' in after)
        throw new ConflictError(
          `Правила сегмента «${before.name}» сейчас менять нельзя: по нему ${segmentUsesText(after.inUse)}. ` +
            'Согласование касается аудитории по этим правилам: изменение ушло бы подписчикам без согласования. ' +
            'Создайте новый сегмент или отмените рассылку (опрос).',
          { code: 'SEGMENT_IN_USE', details: { uses: after.inUse } },
        );
      await audit(
        req,
        'segment.update',
        'segment',
        after.id,
        { name: before.name, rules: before.rules },
        { name: after.name, rules: after.rules },
      );
      return segmentView(after);
    },
  );

  // ----- campaigns -------------------------------------------------------------------------------------

  async function view(c: CampaignRow, stats: CampaignStats | undefined, segmentName?: string) {
    const started = c.startedAt !== null;
    const seg = segmentName === undefined ? await store().segment(c.segmentId) : undefined;
    return {
      id: c.id,
      title: c.title,
      text: c.text,
      photoUrl: c.photoUrl,
      buttons: c.buttons,
      segmentId: c.segmentId,
      segmentName: segmentName ?? seg?.name ?? null,
      channel: c.channel,
      scheduledAt: c.scheduledAt?.toISOString() ?? null,
      status: c.status,
      statusLabel: CAMPAIGN_STATUS_LABELS[c.status] ?? c.status,
      createdBy: c.createdBy,
      approvedBy: c.approvedBy,
      approvedAt: c.approvedAt?.toISOString() ?? null,
      startedAt: c.startedAt?.toISOString() ?? null,
      finishedAt: c.finishedAt?.toISOString() ?? null,
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
      stats: stats ?? null,
      /** Subscribers the segment selects now (before the start; afterwards the recipients are fixed). */
      audience:
        !started && !['cancelled', 'done'].includes(c.status)
          ? (
              await store().countAudience(
                (seg ?? (await store().segment(c.segmentId)))?.rules ?? {},
                c.channel as CampaignChannel,
              )
            ).total
          : null,
    };
  }

  async function load(id: number): Promise<CampaignRow> {
    const c = await store().campaign(id);
    if (!c) throw new NotFoundError('campaign', String(id));
    return c;
  }

  async function checkCampaign(b: Partial<CampaignBodyT>, current?: CampaignRow) {
    const photoUrl = b.photoUrl === undefined ? (current?.photoUrl ?? null) : b.photoUrl?.trim() || null;
    if (photoUrl && !isHttpUrl(photoUrl))
      throw invalid('photoUrl', 'адрес фото должен начинаться с https://');
    const out: Record<string, unknown> = {};
    if (b.text !== undefined || (b.photoUrl !== undefined && current)) {
      const checked = checkCampaignText(b.text ?? current!.text, Boolean(photoUrl));
      if (checked.errors.length) throw invalid('text', checked.errors.join(' '));
      out.text = checked.html;
    }
    if (b.photoUrl !== undefined) out.photoUrl = photoUrl;
    if (b.buttons !== undefined) {
      b.buttons.forEach((x, i) => {
        if (!isHttpUrl(x.url.trim()))
          throw invalid(`buttons.${i}.url`, `у кнопки «${x.text}» адрес должен начинаться с https://`);
      });
      out.buttons = b.buttons.map((x) => ({ text: x.text.trim(), url: x.url.trim() }));
    }
    if (b.segmentId !== undefined) {
      if (!(await store().segment(b.segmentId))) throw invalid('segmentId', 'такого сегмента нет');
      out.segmentId = b.segmentId;
    }
    if (b.title !== undefined) out.title = b.title.trim();
    if (b.channel !== undefined) out.channel = b.channel;
    if (b.scheduledAt !== undefined) {
      const at = b.scheduledAt ? new Date(b.scheduledAt) : null;
      if (at && Number.isNaN(at.getTime())) throw invalid('scheduledAt', 'неверная дата');
      out.scheduledAt = at;
    }
    return out;
  }

  app.get(
    '/campaigns',
    {
      schema: {
        querystring: Type.Object({
          status: Type.Optional(
            Type.String({
              pattern: `^(${CAMPAIGN_STATUSES.join('|')})(,(${CAMPAIGN_STATUSES.join('|')}))*$`,
            }),
          ),
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
        }),
      },
      config: R,
    },
    async (req) => {
      const page = await store().listCampaigns({
        status: req.query.status?.split(',') as CampaignStatus[] | undefined,
        limit: req.query.limit,
        offset: req.query.offset,
      });
      const stats = await store().stats(page.items.map((c) => c.id));
      const names = new Map((await store().listSegments()).map((s) => [s.id, s.name]));
      return {
        total: page.total,
        items: await Promise.all(
          page.items.map((c) => view(c, stats.get(c.id), names.get(c.segmentId) ?? '')),
        ),
      };
    },
  );

  app.get('/campaigns/:id', { schema: { params: Id }, config: R }, async (req) => {
    const c = await load(req.params.id);
    return view(c, (await store().stats([c.id])).get(c.id));
  });

  app.get(
    '/campaigns/:id/deliveries',
    {
      schema: {
        params: Id,
        querystring: Type.Object({
          status: Type.Optional(
            Type.Union(
              ['pending', 'sending', 'sent', 'failed', 'blocked', 'skipped', 'uncertain'].map((s) =>
                Type.Literal(s),
              ),
            ),
          ),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
        }),
      },
      config: R,
    },
    async (req) => {
      await load(req.params.id);
      const page = await store().deliveries(req.params.id, {
        status: req.query.status as DeliveryStatus | undefined,
        limit: req.query.limit,
        offset: req.query.offset,
      });
      // No names or chat ids: analysts and internal policy read this too.
      return {
        total: page.total,
        items: page.items.map((d) => ({
          id: d.id,
          authorId: d.authorId,
          platform: d.platform,
          source: d.sourceId,
          status: d.status,
          attempts: d.attempts,
          error: d.error,
          sentAt: d.sentAt?.toISOString() ?? null,
          clicks: d.clicks,
        })),
      };
    },
  );

  app.post('/campaigns', { schema: { body: CampaignBody }, config: W }, async (req, reply) => {
    const v = await checkCampaign(req.body);
    const c = await store().createCampaign({
      ...(v as { title: string; text: string; segmentId: number; channel: string }),
      status: 'draft',
      createdBy: actorName(req.principal),
    });
    await audit(req, 'campaign.create', 'campaign', c.id, null, v);
    return reply.code(201).send(await view(c, undefined));
  });

  app.patch(
    '/campaigns/:id',
    { schema: { params: Id, body: Type.Partial(CampaignBody) }, config: W },
    async (req) => {
      const before = await load(req.params.id);
      if (!['draft', 'pending_approval'].includes(before.status)) throw stateError(before, 'изменить');
      const v = await checkCampaign(req.body, before);
      // An edit of a campaign waiting for approval sends it back to draft: what was approved is what goes.
      const after = await store().updateCampaign(before.id, ['draft', 'pending_approval'], {
        ...v,
        status: 'draft',
      });
      if (!after) throw stateError((await load(before.id)) ?? before, 'изменить');
      await audit(req, 'campaign.update', 'campaign', after.id, { status: before.status }, v);
      return view(after, undefined);
    },
  );

  /** One state change: from one of `from` to `to` (+ extra columns), audited. */
  async function move(
    req: { principal?: Principal; ip: string; params: { id: number } },
    from: CampaignStatus[],
    to: CampaignStatus | ((c: CampaignRow) => CampaignStatus),
    action: string,
    verb: string,
    extra: (c: CampaignRow) => Record<string, unknown> = () => ({}),
  ) {
    const before = await load(req.params.id);
    if (!from.includes(before.status)) throw stateError(before, verb);
    const status = typeof to === 'function' ? to(before) : to;
    const after = await store().updateCampaign(before.id, [before.status], { status, ...extra(before) });
    if (!after) throw stateError(await load(before.id), verb);
    await audit(req, action, 'campaign', after.id, { status: before.status }, { status: after.status });
    return after;
  }

  app.post('/campaigns/:id/submit', { schema: { params: Id }, config: W }, async (req) => {
    const c = await load(req.params.id);
    const checked = checkCampaignText(c.text, Boolean(c.photoUrl));
    if (checked.errors.length) throw invalid('text', checked.errors.join(' '));
    const after = await move(
      req,
      ['draft'],
      'pending_approval',
      'campaign.submit',
      'отправить на согласование',
    );
    return view(after, undefined);
  });

  app.post('/campaigns/:id/approve', { schema: { params: Id }, config: A }, async (req) => {
    const c = await load(req.params.id);
    const actor = actorName(req.principal);
    const selfApproved = await checkFourEyes(store(), req.principal, c.createdBy, 'campaign');
    const after = await move(
      req,
      ['pending_approval'],
      'approved',
      'campaign.approve',
      'согласовать',
      () => ({
        approvedBy: actor,
        approvedAt: new Date(),
      }),
    );
    if (selfApproved)
      await audit(req, 'campaign.self_approve', 'campaign', after.id, null, {
        reason: 'no other staff member holds an approving role',
      });
    await app.services.outreach.kick(after.id, (after.scheduledAt?.getTime() ?? 0) - Date.now());
    return view(after, undefined);
  });

  app.post('/campaigns/:id/pause', { schema: { params: Id }, config: W }, async (req) => {
    const after = await move(req, ['approved', 'running'], 'paused', 'campaign.pause', 'приостановить');
    return view(after, (await store().stats([after.id])).get(after.id));
  });

  app.post('/campaigns/:id/resume', { schema: { params: Id }, config: A }, async (req) => {
    const after = await move(
      req,
      ['paused'],
      (c) => (c.startedAt ? 'running' : 'approved'),
      'campaign.resume',
      'возобновить',
    );
    await app.services.outreach.kick(after.id, (after.scheduledAt?.getTime() ?? 0) - Date.now());
    return view(after, (await store().stats([after.id])).get(after.id));
  });

  app.post('/campaigns/:id/cancel', { schema: { params: Id }, config: W }, async (req) => {
    const after = await move(
      req,
      ['draft', 'pending_approval', 'approved', 'running', 'paused'],
      'cancelled',
      'campaign.cancel',
      'отменить',
      () => ({ finishedAt: new Date() }),
    );
    return view(after, (await store().stats([after.id])).get(after.id));
  });
};
