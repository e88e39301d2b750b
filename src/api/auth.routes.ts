/**
 * Staff login for the web workspace: password (argon2id), lockout after 5 failures in a row for 15 min,
 * an HttpOnly SameSite=Strict session cookie, and a CSRF token that every write must echo in `x-csrf-token`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError, AuthError } from '../domain/errors.ts';
import { formatDateTime } from '../responders/format.ts';
import type { StaffMember } from '../store/staff.store.ts';
import { SESSION_COOKIE } from './access.ts';

/**
 * Failed logins per client address (issue 9, «Hostile input»): the per-account lockout does not stop one
 * client guessing across many accounts, nor make it pay for argon2 hashes. Past `LOGIN_IP_MAX_FAILURES`
 * failures within `LOGIN_IP_WINDOW_MS`, logins from the address are refused 429 (Retry-After) before any
 * hash is computed. An attempt counts from its start (parallel guesses cannot overtake the count) and is
 * taken back when it succeeds. In memory, per API process; the address is the socket's (behind a reverse
 * proxy, every client shares the proxy's: the limit then throttles failed logins installation-wide).
 */
export const LOGIN_IP_MAX_FAILURES = 20;
export const LOGIN_IP_WINDOW_MS = 15 * 60_000;
const LOGIN_IP_TRACKED = 10_000;

function loginThrottle(now: () => number = Date.now) {
  const failures = new Map<string, number[]>();
  const live = (ip: string) => {
    const list = (failures.get(ip) ?? []).filter((t) => t > now() - LOGIN_IP_WINDOW_MS);
    if (list.length) failures.set(ip, list);
    else failures.delete(ip);
    return list;
  };
  return {
    /** Seconds to wait, or 0 and the attempt is counted. */
    begin(ip: string): number {
      const list = live(ip);
      if (list.length >= LOGIN_IP_MAX_FAILURES)
        return Math.max(1, Math.ceil((list[0]! + LOGIN_IP_WINDOW_MS - now()) / 1000));
      list.push(now());
      failures.delete(ip); // re-inserted last: the map's order is least recently used first
      failures.set(ip, list);
      if (failures.size > LOGIN_IP_TRACKED) failures.delete(failures.keys().next().value!);
      return 0;
    },
    succeeded(ip: string) {
      const list = failures.get(ip);
      list?.pop();
      if (list && !list.length) failures.delete(ip);
    },
  };
}

export const userView = (m: StaffMember) => ({
  id: m.id,
  login: m.login,
  name: m.name,
  roles: [...new Set(m.grants.map((g) => g.role))],
  grants: m.grants,
});

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const throttle = loginThrottle();
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
      const wait = throttle.begin(req.ip);
      if (wait)
        return reply
          .code(429)
          .header('retry-after', String(wait))
          .send({
            error: 'AUTH_THROTTLED',
            message: `слишком много неудачных попыток входа с этого адреса; повторите через ${Math.ceil(wait / 60)} мин.`,
          });
      const r = await app.services.auth.login(req.body.login, req.body.password);
      if (r.ok) throttle.succeeded(req.ip);
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
          `слишком много неудачных попыток; вход заблокирован до ${formatDateTime(r.until)} (время барнаульское)`,
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
    const session = sid ? await app.services.auth.session(sid) : undefined;
    if (sid) await app.services.auth.logout(sid);
    // A session ended is in the audit trail beside the login that opened it.
    if (session)
      await app.services.audit({
        actor: `staff:${session.member.login}`,
        action: 'auth.logout',
        entity: 'staff_user',
        entityId: session.member.id,
        ip: req.ip,
      });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });
};
