/**
 * Settings of the center, editable at run time: sector blocks and agencies (names, Telegram chats, on/off),
 * routing rules, reply templates, SLA policies, the production calendar, staff users and roles, and the
 * audit trail. Every write records who, when, before and after, and refreshes the cached reference data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import { and, eq, ne } from 'drizzle-orm';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { validateCalendarData } from '../domain/calendar.ts';
import { calendarDataOf } from '../store/reference.store.ts';
import { pgErrorCode } from '../store/db.ts';
import * as s from '../store/schema.ts';
import { ROLES } from '../store/seed.ts';
import { audited } from './audit.ts';

const Opt = <T extends TSchema>(t: T) => Type.Optional(t);
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Target = Type.Object(
  {
    amount: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unit: Type.Union(['calendar_hours', 'working_hours', 'working_days'].map((u) => Type.Literal(u))),
  },
  { additionalProperties: false },
);
const Grant = Type.Object(
  {
    role: Type.Union(ROLES.map((r) => Type.Literal(r.code))),
    sector: Opt(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
    agencyId: Opt(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    municipality: Opt(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
  },
  { additionalProperties: false },
);

/** A form's empty select means «none»: '' → null for the optional references. */
const blankToNull = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(
    Object.entries(o).map(([k, v]) => [
      k,
      v === '' && ['sector', 'agencyId', 'municipality'].includes(k) ? null : v,
    ]),
  ) as T;

/** Runs a write; a reference to a row that does not exist (23503) becomes 400 naming `field`, not a 500. */
async function refsChecked<T>(field: string, reason: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (pgErrorCode(err) === '23503') throw new ValidationError(field, reason);
    throw err;
  }
}

export const settingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const db = () => app.services.database.db;
  const R = { access: 'settings.read' as const };
  const W = { access: 'settings.write' as const };
  const U = { access: 'users.manage' as const };

  async function written(
    req: { principal?: import('./access.ts').Principal; ip: string },
    action: string,
    entity: string,
    id: string | number,
    before: unknown,
    after: unknown,
  ) {
    app.services.reference.invalidate();
    await audited(app, req, action, entity, id, before, after);
  }

  // Sector blocks
  app.get('/settings/sectors', { config: R }, async () => ({
    items: await db().select().from(s.sectorBlocks).orderBy(s.sectorBlocks.sort),
  }));
  app.patch(
    '/settings/sectors/:id',
    {
      schema: {
        params: Id,
        body: Type.Object(
          {
            telegramChatId: Opt(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
            active: Opt(Type.Boolean()),
            name: Opt(Type.String({ minLength: 2, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
      },
      config: W,
    },
    async (req) => {
      const [before] = await db().select().from(s.sectorBlocks).where(eq(s.sectorBlocks.code, req.params.id));
      if (!before) throw new NotFoundError('sector block', req.params.id);
      if (!Object.keys(req.body).length) return before; // nothing to change: no write, no audit entry
      const [after] = await db()
        .update(s.sectorBlocks)
        .set(req.body)
        .where(eq(s.sectorBlocks.code, req.params.id))
        .returning();
      await written(req, 'settings.sector.update', 'sector_block', req.params.id, before, after);
      return after;
    },
  );

  // Agencies
  app.get('/settings/agencies', { config: R }, async () => ({
    items: await db().select().from(s.agencies).orderBy(s.agencies.id),
  }));
  app.patch(
    '/settings/agencies/:id',
    {
      schema: {
        params: Id,
        body: Type.Object(
          {
            name: Opt(Type.String({ minLength: 2, maxLength: 300 })),
            shortName: Opt(Type.String({ minLength: 2, maxLength: 100 })),
            telegramChatId: Opt(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
            active: Opt(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
      config: W,
    },
    async (req) => {
      const [before] = await db().select().from(s.agencies).where(eq(s.agencies.id, req.params.id));
      if (!before) throw new NotFoundError('agency', req.params.id);
      if (!Object.keys(req.body).length) return before;
      const [after] = await db()
        .update(s.agencies)
        .set(req.body)
        .where(eq(s.agencies.id, req.params.id))
        .returning();
      await written(req, 'settings.agency.update', 'agency', req.params.id, before, after);
      return after;
    },
  );

  // Routing rules
  const RuleBody = Type.Object(
    {
      id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9-]+$' }),
      sector: Type.String({ maxLength: 50 }),
      municipality: Opt(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
      agencyId: Type.String({ maxLength: 100 }),
      priority: Opt(Type.Integer({ minimum: -1000, maximum: 1000 })),
      active: Opt(Type.Boolean()),
    },
    { additionalProperties: false },
  );
  app.get('/settings/routing-rules', { config: R }, async () => ({
    items: await db().select().from(s.routingRules).orderBy(s.routingRules.id),
  }));
  app.post('/settings/routing-rules', { schema: { body: RuleBody }, config: W }, async (req, reply) => {
    try {
      const [row] = await db().insert(s.routingRules).values(blankToNull(req.body)).returning();
      await written(req, 'settings.routing_rule.create', 'routing_rule', req.body.id, null, row);
      return reply.code(201).send(row);
    } catch (err) {
      const code = pgErrorCode(err);
      if (code === '23505') throw new ConflictError(`routing rule ${req.body.id} exists`, { code: 'EXISTS' });
      if (code === '23503')
        throw new ValidationError('sector/agencyId/municipality', 'refers to something that does not exist');
      throw err;
    }
  });
  app.patch(
    '/settings/routing-rules/:id',
    {
      schema: {
        params: Id,
        body: Type.Object(
          {
            agencyId: Opt(Type.String({ maxLength: 100 })),
            priority: Opt(Type.Integer({ minimum: -1000, maximum: 1000 })),
            active: Opt(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
      config: W,
    },
    async (req) => {
      const [before] = await db().select().from(s.routingRules).where(eq(s.routingRules.id, req.params.id));
      if (!before) throw new NotFoundError('routing rule', req.params.id);
      if (!Object.keys(req.body).length) return before;
      const [after] = await refsChecked('agencyId', 'refers to an agency that does not exist', () =>
        db().update(s.routingRules).set(req.body).where(eq(s.routingRules.id, req.params.id)).returning(),
      );
      await written(req, 'settings.routing_rule.update', 'routing_rule', req.params.id, before, after);
      return after;
    },
  );

  // Reply templates
  app.get('/settings/templates', { config: R }, async () => ({
    items: await db().select().from(s.replyTemplates).orderBy(s.replyTemplates.id),
  }));
  app.patch(
    '/settings/templates/:id',
    {
      schema: {
        params: Id,
        body: Type.Object(
          { text: Opt(Type.String({ minLength: 10, maxLength: 4000 })), active: Opt(Type.Boolean()) },
          { additionalProperties: false },
        ),
      },
      config: W,
    },
    async (req) => {
      const [before] = await db()
        .select()
        .from(s.replyTemplates)
        .where(eq(s.replyTemplates.id, req.params.id));
      if (!before) throw new NotFoundError('template', req.params.id);
      const [after] = await db()
        .update(s.replyTemplates)
        .set({ ...req.body, updatedAt: new Date() })
        .where(eq(s.replyTemplates.id, req.params.id))
        .returning();
      await written(req, 'settings.template.update', 'reply_template', req.params.id, before, after);
      return after;
    },
  );

  // SLA policies
  app.get('/settings/sla-policies', { config: R }, async () => ({
    items: await db().select().from(s.slaPolicies),
  }));
  app.put(
    '/settings/sla-policies/:id',
    {
      schema: {
        params: Id,
        body: Type.Object({ firstResponse: Target, resolution: Target }, { additionalProperties: false }),
      },
      config: W,
    },
    async (req) => {
      const [before] = await db()
        .select()
        .from(s.slaPolicies)
        .where(eq(s.slaPolicies.channelKind, req.params.id));
      if (!before) throw new NotFoundError('SLA policy', req.params.id);
      const body = req.body as {
        firstResponse: { amount: number; unit: 'calendar_hours' };
        resolution: { amount: number; unit: 'calendar_hours' };
      };
      const [after] = await db()
        .update(s.slaPolicies)
        .set(body)
        .where(eq(s.slaPolicies.channelKind, req.params.id))
        .returning();
      await written(req, 'settings.sla_policy.update', 'sla_policy', req.params.id, before, after);
      return after;
    },
  );

  // Production calendar
  app.get(
    '/settings/calendar',
    {
      schema: { querystring: Type.Object({ year: Opt(Type.Integer({ minimum: 2000, maximum: 2100 })) }) },
      config: R,
    },
    async (req) => {
      const years = await db().select().from(s.calendarYears).orderBy(s.calendarYears.year);
      const days = (await db().select().from(s.calendarDays).orderBy(s.calendarDays.day)).filter(
        (d) => !req.query.year || d.day.startsWith(`${req.query.year}-`),
      );
      return { years, days };
    },
  );
  const Kind = Type.Union(['holiday', 'working_weekend', 'short_day'].map((k) => Type.Literal(k)));
  app.post(
    '/settings/calendar',
    {
      schema: {
        body: Type.Object(
          {
            day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
            kind: Kind,
            note: Opt(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
      },
      config: W,
    },
    async (req, reply) => {
      // The day must leave a valid calendar: every deadline of the region is computed on it, and a bad one
      // would stop routing and sla-watch (createCalendar refuses inconsistent data).
      const ref = await app.services.reference.get();
      const year = Number(req.body.day.slice(0, 4));
      if (!ref.calendarYears.some((y) => y.year === year))
        throw new ValidationError(
          'day',
          `the production calendar has no year ${year} (shipped: 2025–2027); its days would be ignored`,
          { code: 'CALENDAR_YEAR_MISSING' },
        );
      const problems = validateCalendarData(
        calendarDataOf({
          calendarYears: ref.calendarYears,
          calendarDays: [...ref.calendarDays, { day: req.body.day, kind: req.body.kind, note: null }],
        }),
      );
      if (problems.length)
        throw new ValidationError('day', problems.join('; '), { code: 'CALENDAR_DAY_INVALID' });
      const [row] = await db()
        .insert(s.calendarDays)
        .values(req.body)
        .onConflictDoUpdate({
          target: [s.calendarDays.day, s.calendarDays.kind],
          set: { note: req.body.note ?? null },
        })
        .returning();
      await written(
        req,
        'settings.calendar.set',
        'calendar_day',
        `${req.body.day}:${req.body.kind}`,
        null,
        row,
      );
      return reply.code(201).send(row);
    },
  );
  app.delete(
    '/settings/calendar/:day/:kind',
    {
      schema: {
        params: Type.Object({ day: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), kind: Kind }),
      },
      config: W,
    },
    async (req, reply) => {
      const rows = await db()
        .delete(s.calendarDays)
        .where(and(eq(s.calendarDays.day, req.params.day), eq(s.calendarDays.kind, req.params.kind)))
        .returning();
      if (!rows.length) throw new NotFoundError('calendar day', `${req.params.day} ${req.params.kind}`);
      await written(
        req,
        'settings.calendar.delete',
        'calendar_day',
        `${req.params.day}:${req.params.kind}`,
        rows[0],
        null,
      );
      return reply.code(204).send();
    },
  );

  // Users and roles
  const userList = async () => {
    const users = await db().select().from(s.staffUsers).orderBy(s.staffUsers.id);
    const grants = await db().select().from(s.staffRoles);
    const now = new Date();
    return users.map((u) => ({
      id: u.id,
      login: u.login,
      name: u.name,
      telegramUserId: u.telegramUserId,
      active: u.active,
      locked: u.lockedUntil !== null && u.lockedUntil > now,
      grants: grants
        .filter((g) => g.userId === u.id)
        .map((g) => ({ role: g.role, sector: g.sector, agencyId: g.agencyId, municipality: g.municipality })),
    }));
  };
  /**
   * The staff bot knows who pressed a button by the Telegram id: two active users with one id would act with
   * whichever grants the database returns first.
   */
  async function assertTelegramFree(telegramUserId: string | null | undefined, userId?: number) {
    if (!telegramUserId) return;
    const [other] = await db()
      .select({ login: s.staffUsers.login })
      .from(s.staffUsers)
      .where(
        and(
          eq(s.staffUsers.telegramUserId, telegramUserId),
          eq(s.staffUsers.active, true),
          userId === undefined ? undefined : ne(s.staffUsers.id, userId),
        ),
      );
    if (other)
      throw new ConflictError(`Telegram id ${telegramUserId} belongs to ${other.login}`, {
        code: 'TELEGRAM_ID_IN_USE',
        details: { field: 'telegramUserId', login: other.login },
      });
  }
  app.get('/settings/users', { config: U }, async () => ({ items: await userList() }));
  app.post(
    '/settings/users',
    {
      schema: {
        body: Type.Object(
          {
            login: Type.String({ minLength: 2, maxLength: 60, pattern: '^[a-z0-9._-]+$' }),
            name: Type.String({ minLength: 2, maxLength: 200 }),
            password: Type.String({ minLength: 10, maxLength: 200 }),
            telegramUserId: Opt(Type.String({ pattern: '^\\d{1,20}$' })),
            grants: Type.Array(Grant, { minItems: 1, maxItems: 20 }),
          },
          { additionalProperties: false },
        ),
      },
      config: U,
    },
    async (req, reply) => {
      // A deactivated user keeps the login (the unique index would turn the insert into a 500).
      const [taken] = await db()
        .select({ id: s.staffUsers.id })
        .from(s.staffUsers)
        .where(eq(s.staffUsers.login, req.body.login));
      if (taken) throw new ConflictError(`login ${req.body.login} exists`, { code: 'EXISTS' });
      await assertTelegramFree(req.body.telegramUserId);
      const m = await refsChecked(
        'grants',
        'a sector, agency or municipality of a grant does not exist',
        () =>
          app.services.staff.create({
            login: req.body.login,
            name: req.body.name,
            telegramUserId: req.body.telegramUserId ?? null,
            grants: req.body.grants.map(blankToNull),
          }),
      );
      await app.services.auth.setPassword(m.id, req.body.password);
      await written(req, 'user.create', 'staff_user', m.id, null, {
        login: m.login,
        name: m.name,
        grants: m.grants,
      });
      return reply.code(201).send((await userList()).find((u) => u.id === m.id));
    },
  );
  app.patch(
    '/settings/users/:id',
    {
      schema: {
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
        body: Type.Object(
          {
            name: Opt(Type.String({ minLength: 2, maxLength: 200 })),
            active: Opt(Type.Boolean()),
            password: Opt(Type.String({ minLength: 10, maxLength: 200 })),
            telegramUserId: Opt(Type.Union([Type.String({ pattern: '^\\d{1,20}$' }), Type.Null()])),
            grants: Opt(Type.Array(Grant, { minItems: 1, maxItems: 20 })),
          },
          { additionalProperties: false },
        ),
      },
      config: U,
    },
    async (req) => {
      const before = (await userList()).find((u) => u.id === req.params.id);
      if (!before) throw new NotFoundError('staff user', String(req.params.id));
      const { password, grants, ...fields } = req.body;
      await assertTelegramFree(
        fields.telegramUserId === undefined && fields.active === true
          ? before.telegramUserId // reactivated: its id must still be its own
          : fields.telegramUserId,
        req.params.id,
      );
      await refsChecked('grants', 'a sector, agency or municipality of a grant does not exist', () =>
        app.services.database.db.transaction(async (tx) => {
          if (Object.keys(fields).length)
            await tx.update(s.staffUsers).set(fields).where(eq(s.staffUsers.id, req.params.id));
          if (grants) {
            await tx.delete(s.staffRoles).where(eq(s.staffRoles.userId, req.params.id));
            await tx.insert(s.staffRoles).values(
              grants.map(blankToNull).map((g) => ({
                userId: req.params.id,
                role: g.role,
                sector: g.sector ?? null,
                agencyId: g.agencyId ?? null,
                municipality: g.municipality ?? null,
              })),
            );
          }
        }),
      );
      if (password) await app.services.auth.setPassword(req.params.id, password);
      const after = (await userList()).find((u) => u.id === req.params.id);
      await written(req, 'user.update', 'staff_user', req.params.id, before, {
        ...after,
        passwordChanged: Boolean(password),
      });
      return after;
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        querystring: Type.Object({
          entity: Opt(Type.String({ maxLength: 50 })),
          entityId: Opt(Type.String({ maxLength: 100 })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
        }),
      },
      config: U,
    },
    async (req) => ({ items: await app.services.auth.auditLog(req.query) }),
  );
};
