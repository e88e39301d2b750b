/**
 * Personal data (152-ФЗ): the retention settings (how long raw personal data are kept before the retention
 * job anonymises them), and a citizen's data on request — find the citizen, export everything stored about
 * them (JSON), erase it. Requests are for technical administrators only and are audited with who, when and
 * which citizen (the author id), never the data itself.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { runRetention } from '../responders/privacy.ts';
import {
  createPrivacyStore,
  DEFAULT_PRIVACY_SETTINGS,
  PRIVACY_LIMITS,
  type PrivacySettings,
} from '../store/privacy.store.ts';
import { actorName, type Principal } from './access.ts';

const Days = (k: keyof PrivacySettings) => Type.Integer(PRIVACY_LIMITS[k]);
const Settings = Type.Object(
  {
    messageRetentionDays: Days('messageRetentionDays'),
    dialogRetentionDays: Days('dialogRetentionDays'),
    auditRetentionDays: Days('auditRetentionDays'),
  },
  { additionalProperties: false },
);
const AuthorParams = Type.Object({
  authorId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});

export const privacyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const store = createPrivacyStore(app.services.database);
  const M = { access: 'privacy.manage' as const };
  const audit = (
    req: { principal?: Principal; ip: string },
    action: string,
    entityId: string | number | null,
    after: unknown,
    entity = 'author',
  ) =>
    app.services.audit({
      actor: actorName(req.principal),
      action,
      entity,
      entityId,
      before: null,
      after,
      ip: req.ip,
    });

  app.get('/settings/privacy', { config: { access: 'settings.read' } }, async () => ({
    ...(await store.settings()),
    defaults: DEFAULT_PRIVACY_SETTINGS,
  }));

  app.put(
    '/settings/privacy',
    { schema: { body: Type.Partial(Settings) }, config: { access: 'settings.write' } },
    async (req) => {
      const before = await store.settings();
      const after: PrivacySettings = { ...before, ...(req.body as Partial<PrivacySettings>) };
      await store.saveSettings(after);
      await app.services.audit({
        actor: actorName(req.principal),
        action: 'settings.privacy.update',
        entity: 'settings',
        entityId: 'privacy',
        before,
        after,
        ip: req.ip,
      });
      return { ...after, defaults: DEFAULT_PRIVACY_SETTINGS };
    },
  );

  app.get(
    '/privacy/citizens',
    {
      schema: {
        querystring: Type.Object(
          {
            platform: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,49}$' })),
            // No control characters (PostgreSQL refuses a NUL in text).
            externalId: Type.Optional(Type.String({ pattern: '^[^\\u0000-\\u001f]{1,200}$' })),
            authorId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
          },
          { additionalProperties: false },
        ),
      },
      config: M,
    },
    async (req) => {
      const { platform, externalId, authorId } = req.query;
      if (authorId === undefined && (!platform || !externalId))
        throw new ValidationError('externalId', 'give platform and externalId (the account id), or authorId');
      const items = await store.findCitizens(
        authorId !== undefined ? { authorId } : { platform: platform!, externalId: externalId! },
      );
      // Who looked whom up: the author ids found, not the account id asked for.
      await audit(req, 'privacy.lookup', items.map((i) => i.id).join(',') || null, { found: items.length });
      return { items };
    },
  );

  app.get(
    '/privacy/citizens/:authorId/export',
    { schema: { params: AuthorParams }, config: M },
    async (req, reply) => {
      const data = await store.exportCitizen(req.params.authorId);
      if (!data) throw new NotFoundError('citizen', String(req.params.authorId));
      await audit(req, 'privacy.export', req.params.authorId, {
        messages: data.messages.length,
        replies: data.replies.length,
        votes: data.votes.length,
        satisfaction: data.satisfaction.length,
        dialogs: data.dialogs.length,
        campaigns: data.campaigns.length,
      });
      return reply
        .header('content-disposition', `attachment; filename="otklik-citizen-${req.params.authorId}.json"`)
        .header('cache-control', 'no-store')
        .send(data);
    },
  );

  app.delete('/privacy/citizens/:authorId', { schema: { params: AuthorParams }, config: M }, async (req) => {
    const counts = await store.eraseCitizen(req.params.authorId);
    if (!counts) throw new NotFoundError('citizen', String(req.params.authorId));
    await audit(req, 'privacy.erase', req.params.authorId, counts);
    req.log.info({ authorId: req.params.authorId, ...counts }, "a citizen's personal data erased on request");
    return { authorId: req.params.authorId, erased: counts };
  });

  app.post('/privacy/retention/run', { config: M }, async (req) => {
    return runRetention(
      { store, audit: (e) => app.services.audit(e), log: req.log },
      { actor: actorName(req.principal), ip: req.ip },
    );
  });
};
