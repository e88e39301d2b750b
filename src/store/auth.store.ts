/**
 * Staff login (argon2id password hashes, lockout after repeated failures, server-side sessions with a CSRF
 * token), integration API tokens with scopes, and the audit trail of writes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { and, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Database } from './db.ts';
import * as s from './schema.ts';
import type { StaffMember, StaffStore } from './staff.store.ts';

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;
export const SESSION_MS = 12 * 3600_000;

const sha = (v: string) => createHash('sha256').update(v).digest('hex');
const random = (n = 32) => randomBytes(n).toString('base64url');
// Verifying against a real hash when the login is unknown keeps the answer time the same (no user probing).
const DUMMY = argonHash('dummy-password-for-timing');

export type LoginResult =
  | { ok: true; member: StaffMember; sessionId: string; csrfToken: string }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked'; until: Date };

export interface AuditEntry {
  actor: string;
  action: string;
  entity: string;
  entityId?: string | number | null;
  before?: unknown;
  after?: unknown;
  ip?: string | null;
}

export interface AuthStore {
  setPassword(userId: number, password: string): Promise<void>;
  login(login: string, password: string): Promise<LoginResult>;
  session(sessionId: string): Promise<{ member: StaffMember; csrfToken: string } | undefined>;
  logout(sessionId: string): Promise<void>;
  createApiToken(name: string, scopes: string[]): Promise<string>;
  apiToken(token: string): Promise<{ name: string; scopes: string[] } | undefined>;
  audit(e: AuditEntry): Promise<void>;
  auditLog(f: {
    entity?: string;
    entityId?: string;
    limit: number;
    offset: number;
  }): Promise<(typeof s.auditLog.$inferSelect)[]>;
}

export function createAuthStore(database: Database, staff: StaffStore): AuthStore {
  const { db } = database;
  const u = s.staffUsers;
  return {
    async setPassword(userId, password) {
      await db
        .update(u)
        .set({ passwordHash: await argonHash(password), failedLogins: 0, lockedUntil: null })
        .where(eq(u.id, userId));
    },

    async login(login, password) {
      const [user] = await db
        .select()
        .from(u)
        .where(and(eq(u.login, login), eq(u.active, true)));
      if (!user?.passwordHash) {
        await argonVerify(await DUMMY, password).catch(() => false);
        return { ok: false, reason: 'invalid' };
      }
      const now = new Date();
      if (user.lockedUntil && user.lockedUntil > now)
        return { ok: false, reason: 'locked', until: user.lockedUntil };
      const good = await argonVerify(user.passwordHash, password).catch(() => false);
      if (!good) {
        // Counted in one statement (issue 9, «Hostile input»): read-then-write lost the count when guesses
        // came in parallel — 24 at once all read 0 and wrote 1, and the account never locked.
        const until = new Date(now.getTime() + LOCKOUT_MS);
        const [row] = await db
          .update(u)
          .set({
            failedLogins: sql`case when ${u.failedLogins} + 1 >= ${MAX_FAILED_LOGINS} then 0 else ${u.failedLogins} + 1 end`,
            lockedUntil: sql`case when ${u.failedLogins} + 1 >= ${MAX_FAILED_LOGINS} then ${until.toISOString()}::timestamptz else ${u.lockedUntil} end`,
          })
          .where(eq(u.id, user.id))
          .returning({ lockedUntil: u.lockedUntil });
        const lockedUntil = row?.lockedUntil;
        return lockedUntil && lockedUntil > now
          ? { ok: false, reason: 'locked', until: lockedUntil }
          : { ok: false, reason: 'invalid' };
      }
      await db.update(u).set({ failedLogins: 0, lockedUntil: null }).where(eq(u.id, user.id));
      const sessionId = random();
      const csrfToken = random(24);
      await db.insert(s.staffSessions).values({
        idHash: sha(sessionId),
        userId: user.id,
        csrfToken,
        expiresAt: new Date(now.getTime() + SESSION_MS),
      });
      await db.delete(s.staffSessions).where(lt(s.staffSessions.expiresAt, now));
      const member = await staff.byLogin(user.login);
      if (!member) return { ok: false, reason: 'invalid' };
      return { ok: true, member, sessionId, csrfToken };
    },

    async session(sessionId) {
      const [row] = await db
        .select()
        .from(s.staffSessions)
        .where(and(eq(s.staffSessions.idHash, sha(sessionId)), gt(s.staffSessions.expiresAt, new Date())));
      if (!row) return undefined;
      const [user] = await db.select({ login: u.login }).from(u).where(eq(u.id, row.userId));
      const member = user ? await staff.byLogin(user.login) : undefined;
      return member ? { member, csrfToken: row.csrfToken } : undefined;
    },

    async logout(sessionId) {
      await db.delete(s.staffSessions).where(eq(s.staffSessions.idHash, sha(sessionId)));
    },

    async createApiToken(name, scopes) {
      const token = `int_${random(24)}`;
      await db.insert(s.apiTokens).values({ name, tokenHash: sha(token), scopes });
      return token;
    },

    async apiToken(token) {
      const [row] = await db
        .select()
        .from(s.apiTokens)
        .where(and(eq(s.apiTokens.tokenHash, sha(token)), eq(s.apiTokens.revoked, false)));
      if (!row) return undefined;
      await db.update(s.apiTokens).set({ lastUsedAt: new Date() }).where(eq(s.apiTokens.id, row.id));
      return { name: row.name, scopes: row.scopes };
    },

    async audit(e) {
      await db.insert(s.auditLog).values({
        actor: e.actor,
        action: e.action,
        entity: e.entity,
        entityId: e.entityId === undefined || e.entityId === null ? null : String(e.entityId),
        before: e.before ?? null,
        after: e.after ?? null,
        ip: e.ip ?? null,
      });
    },

    auditLog: (f) =>
      db
        .select()
        .from(s.auditLog)
        .where(
          and(
            f.entity ? eq(s.auditLog.entity, f.entity) : sql`true`,
            f.entityId ? eq(s.auditLog.entityId, f.entityId) : sql`true`,
          ),
        )
        .orderBy(desc(s.auditLog.id))
        .limit(f.limit)
        .offset(f.offset),
  };
}
