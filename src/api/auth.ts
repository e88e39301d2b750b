/** Bearer-token checks for integrations (staff login arrives with the web workspace issue). */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AuthError } from '../domain/errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison of the request's bearer token with any of `tokens`. */
export function requireBearer(req: FastifyRequest, tokens: readonly string[]): void {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!m) throw new AuthError('Authorization: Bearer <token> header is required', { code: 'AUTH_REQUIRED' });
  const given = digest(m[1]!);
  if (!tokens.some((t) => timingSafeEqual(given, digest(t))))
    throw new AuthError('the bearer token is not valid for this endpoint', { code: 'AUTH_INVALID' });
}
