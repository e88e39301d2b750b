/**
 * Staff login for the web workspace: password (argon2id), lockout after 5 failures in a row for 15 min,
 * an HttpOnly SameSite=Strict session cookie, and a CSRF token that every write must echo in `x-csrf-token`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError, AuthError } from '../domain/errors.ts';
import type { StaffMember } from '../store/staff.store.ts';
import { SESSION_COOKIE } from './access.ts';

export const userView = (m: StaffMember) => ({
  id: m.id,
  login: m.login,
  name: m.name,
  roles: [...new Set(m.grants.map((g) => g.role))],
  grants: m.grants,
});

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/auth/login',
    {
      schema: {
        body: Type.Object(
          {
            login: Type.String({ minLength: 1, maxLength: 100 }),
            password: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const r = await app.services.auth.login(req.body.login, req.body.password);
      await app.services.audit({
        actor: `login:${req.body.login}`,
        action: r.ok ? 'auth.login' : `auth.login_failed:${r.reason}`,
        entity: 'staff_user',
        entityId: r.ok ? r.member.id : null,
        ip: req.ip,
      });
      if (!r.ok && r.reason === 'locked')
        throw new AppError(
          'AUTH_LOCKED',
          `слишком много неудачных попыток; вход заблокирован до ${r.until.toISOString()}`,
          {
            statusCode: 423,
          },
        );
      if (!r.ok) throw new AuthError('неверный логин или пароль', { code: 'AUTH_INVALID' });
      reply.setCookie(SESSION_COOKIE, r.sessionId, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: app.services.secureCookies,
        maxAge: 12 * 3600,
      });
      return { user: userView(r.member), csrfToken: r.csrfToken };
    },
  );

  app.get('/auth/me', async (req) => {
    const sid = req.cookies[SESSION_COOKIE];
    const s = sid ? await app.services.auth.session(sid) : undefined;
    if (!s) throw new AuthError('not logged in', { code: 'AUTH_REQUIRED' });
    return { user: userView(s.member), csrfToken: s.csrfToken };
  });

  app.post('/auth/logout', async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await app.services.auth.logout(sid);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });
};
