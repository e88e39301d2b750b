/**
 * Polls and public discussions for the workspace: drafts, submission, approval (the moment a poll goes out
 * or a discussion is published), closing, live results by option and municipality, and the summary of a
 * discussion (sectors, sentiment, recurring proposals, the comments). Every write is audited. A poll is
 * approved by someone other than its author, as a campaign is (`checkFourEyes`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Discussions } from '../responders/discussions.ts';
import type { PollResults, Polls } from '../responders/polls.ts';
import type { DiscussionRow, PollRow } from '../store/participation.store.ts';
import { actorName, canSeePersonalData } from './access.ts';
import { maskText } from '../responders/privacy.ts';
import { audited } from './audit.ts';
import { checkFourEyes } from './outreach.routes.ts';

export interface Participation {
  polls: Polls;
  discussions: Discussions;
}

const Id = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
const Channel = Type.Union([Type.Literal('telegram'), Type.Literal('vk'), Type.Literal('all')]);
const Mode = Type.Union([Type.Literal('buttons'), Type.Literal('native')]);
const Page = {
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
};
const PollBody = Type.Object(
  {
    question: Type.String({ minLength: 1, maxLength: 300 }),
    options: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 2, maxItems: 10 }),
    segmentId: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()]),
    ),
    channel: Channel,
    mode: Type.Optional(Mode),
    closesAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
const DiscussionBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    text: Type.String({ minLength: 1, maxLength: 3500 }),
    sourceId: Type.String({ minLength: 1, maxLength: 100 }),
    chatId: Type.Optional(Type.String({ maxLength: 70 })),
    postUrl: Type.Optional(Type.String({ maxLength: 300 })),
  },
  { additionalProperties: false },
);

const iso = (d: Date | null) => d?.toISOString() ?? null;

function pollView(p: PollRow & { recipients?: number; votes?: number }) {
  return {
    id: p.id,
    question: p.question,
    options: p.options,
    segmentId: p.segmentId,
    channel: p.channel,
    mode: p.mode,
    status: p.status,
    closesAt: p.closesAt.toISOString(),
    createdBy: p.createdBy,
    approvedBy: p.approvedBy,
    approvedAt: iso(p.approvedAt),
    closedAt: iso(p.closedAt),
    createdAt: p.createdAt.toISOString(),
    ...(p.recipients !== undefined ? { recipients: p.recipients, votes: p.votes ?? 0 } : {}),
  };
}

const resultsView = (r: PollResults) => ({ ...r, closesAt: r.closesAt.toISOString() });

function discussionView(d: DiscussionRow & { comments?: number }) {
  return {
    id: d.id,
    title: d.title,
    text: d.text,
    sourceId: d.sourceId,
    chatId: d.chatId,
    postExternalId: d.postExternalId,
    status: d.status,
    createdBy: d.createdBy,
    approvedBy: d.approvedBy,
    publishedAt: iso(d.publishedAt),
    closedAt: iso(d.closedAt),
    createdAt: d.createdAt.toISOString(),
    ...(d.comments !== undefined ? { comments: d.comments } : {}),
  };
}

export const participationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { polls, discussions } = app.services.participation;
  const audit = (
    req: { principal?: Parameters<typeof actorName>[0]; ip: string },
    action: string,
    entity: 'poll' | 'discussion',
    id: number,
    before: unknown,
    after: unknown,
  ) => audited(app, req, action, entity, id, before, after);

  // ---- polls ------------------------------------------------------------------------------------------

  app.get(
    '/polls',
    {
      schema: {
        querystring: Type.Object({
          status: Type.Optional(
            Type.String({
              pattern:
                '^(draft|pending_approval|open|closed|cancelled)(,(draft|pending_approval|open|closed|cancelled))*$',
            }),
          ),
          ...Page,
        }),
      },
      config: { access: 'outreach.read' },
    },
    async (req) => {
      const page = await polls.list({ ...req.query, status: req.query.status?.split(',') });
      return { total: page.total, items: page.items.map(pollView) };
    },
  );

  app.get(
    '/polls/audience',
    {
      schema: {
        querystring: Type.Object({
          segmentId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
          channel: Type.Optional(Channel),
        }),
      },
      config: { access: 'outreach.read' },
    },
    async (req) => ({
      recipients: await polls.audience(req.query.segmentId ?? null, req.query.channel ?? 'all'),
    }),
  );

  app.get('/polls/:id', { schema: { params: Id }, config: { access: 'outreach.read' } }, async (req) =>
    pollView(await polls.get(req.params.id)),
  );

  app.get(
    '/polls/:id/results',
    { schema: { params: Id }, config: { access: 'outreach.read' } },
    async (req) => resultsView(await polls.results(req.params.id)),
  );

  app.post(
    '/polls',
    { schema: { body: PollBody }, config: { access: 'outreach.write' } },
    async (req, reply) => {
      const b = req.body;
      const p = await polls.create(
        { ...b, mode: b.mode ?? 'buttons', closesAt: new Date(b.closesAt) },
        actorName(req.principal),
      );
      await audit(req, 'poll.create', 'poll', p.id, null, pollView(p));
      return reply.code(201).send(pollView(p));
    },
  );

  app.patch(
    '/polls/:id',
    { schema: { params: Id, body: Type.Partial(PollBody) }, config: { access: 'outreach.write' } },
    async (req) => {
      const before = await polls.get(req.params.id);
      const { closesAt, ...rest } = req.body;
      const p = await polls.update(
        req.params.id,
        { ...rest, ...(closesAt ? { closesAt: new Date(closesAt) } : {}) },
        actorName(req.principal),
      );
      await audit(req, 'poll.update', 'poll', p.id, pollView(before), pollView(p));
      return pollView(p);
    },
  );

  for (const [action, access] of [
    ['submit', 'outreach.write'],
    ['approve', 'outreach.approve'],
    ['close', 'outreach.write'],
  ] as const)
    app.post(`/polls/:id/${action}`, { schema: { params: Id }, config: { access } }, async (req) => {
      const actor = actorName(req.principal);
      const before = await polls.get(req.params.id);
      // Four eyes, as for campaigns: the author approves only where nobody else could (audited).
      const selfApproved =
        action === 'approve' &&
        (await checkFourEyes(app.services.outreach.store, req.principal, before.createdBy, 'poll'));
      const out =
        action === 'approve'
          ? await polls.approve(req.params.id, actor)
          : { poll: await polls[action](req.params.id, actor) };
      await audit(
        req,
        `poll.${action}`,
        'poll',
        before.id,
        { status: before.status },
        {
          status: out.poll.status,
          ...('recipients' in out ? { recipients: out.recipients } : {}),
        },
      );
      if (selfApproved)
        await audit(req, 'poll.self_approve', 'poll', before.id, null, {
          reason: 'no other staff member holds an approving role',
        });
      return { ...out, poll: pollView(out.poll) };
    });

  // ---- discussions ------------------------------------------------------------------------------------

  app.get(
    '/discussions',
    {
      schema: {
        querystring: Type.Object({
          status: Type.Optional(Type.String({ pattern: '^(draft|open|closed)(,(draft|open|closed))*$' })),
          ...Page,
        }),
      },
      config: { access: 'outreach.read' },
    },
    async (req) => {
      const page = await discussions.list({ ...req.query, status: req.query.status?.split(',') });
      return { total: page.total, items: page.items.map(discussionView) };
    },
  );

  app.get('/discussions/targets', { config: { access: 'outreach.read' } }, async () => ({
    items: await discussions.targets(),
  }));

  app.get('/discussions/:id', { schema: { params: Id }, config: { access: 'outreach.read' } }, async (req) =>
    discussionView(await discussions.get(req.params.id)),
  );

  app.get(
    '/discussions/:id/summary',
    { schema: { params: Id }, config: { access: 'outreach.read' } },
    async (req) => {
      if (canSeePersonalData(req.principal)) return discussions.summary(req.params.id, { names: true });
      // Without access to personal data: no names, links or platform ids; contacts and names masked in texts.
      const sum = await discussions.summary(req.params.id, { names: true });
      const names = new Map(sum.comments.map((c) => [c.id, c.authorName]));
      return {
        ...sum,
        proposals: sum.proposals.map((p) => ({
          ...p,
          example: { ...p.example, text: maskText(p.example.text, names.get(p.example.id)) },
        })),
        comments: sum.comments.map((c) => ({
          ...c,
          text: maskText(c.text, c.authorName),
          authorName: null,
          externalId: null,
          url: null,
        })),
      };
    },
  );

  app.post(
    '/discussions',
    { schema: { body: DiscussionBody }, config: { access: 'outreach.write' } },
    async (req, reply) => {
      const d = await discussions.create(req.body, actorName(req.principal));
      await audit(req, 'discussion.create', 'discussion', d.id, null, discussionView(d));
      return reply.code(201).send(discussionView(d));
    },
  );

  for (const [action, access] of [
    ['publish', 'outreach.approve'],
    ['close', 'outreach.write'],
  ] as const)
    app.post(`/discussions/:id/${action}`, { schema: { params: Id }, config: { access } }, async (req) => {
      const before = await discussions.get(req.params.id);
      const d = await discussions[action](req.params.id, actorName(req.principal));
      await audit(
        req,
        `discussion.${action}`,
        'discussion',
        d.id,
        { status: before.status },
        {
          status: d.status,
        },
      );
      return discussionView(d);
    });
};
