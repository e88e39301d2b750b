/**
 * Staff of the center and of agencies: users, their role grants (with scope), personal API tokens (kept as
 * SHA-256 only) and their Telegram ids (the staff bot recognises who pressed a button).
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { StaffGrant } from '../domain/permissions.ts';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export interface StaffMember {
  id: number;
  login: string;
  name: string;
  telegramUserId: string | null;
  grants: StaffGrant[];
}

export interface NewStaff {
  login: string;
  name: string;
  telegramUserId?: string | null;
  grants: { role: string; sector?: string | null; agencyId?: string | null; municipality?: string | null }[];
}

export interface StaffStore {
  create(user: NewStaff): Promise<StaffMember>;
  /** Issues a personal API token; only its hash is stored, the token is shown once. */
  issueToken(userId: number, name: string): Promise<string>;
  byToken(token: string): Promise<StaffMember | undefined>;
  byTelegramId(telegramUserId: string): Promise<StaffMember | undefined>;
  byLogin(login: string): Promise<StaffMember | undefined>;
  /** Whether any staff account exists (the first start creates an administrator when none does). */
  any(): Promise<boolean>;
  /** Active staff with a Telegram id holding one of `roles` whose scope includes `sector` (or is unscoped). */
  withRoles(roles: readonly string[], sector: string): Promise<StaffMember[]>;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export function createStaffStore(database: Database): StaffStore {
  const { db } = database;
  const u = s.staffUsers;
  const r = s.staffRoles;

  async function load(where: ReturnType<typeof eq>): Promise<StaffMember | undefined> {
    const [user] = await db
      .select()
      .from(u)
      .where(and(where, eq(u.active, true)));
    if (!user) return undefined;
    const grants = await db.select().from(r).where(eq(r.userId, user.id));
    return {
      id: user.id,
      login: user.login,
      name: user.name,
      telegramUserId: user.telegramUserId,
      grants: grants.map((g) => ({
        role: g.role,
        sector: g.sector,
        agencyId: g.agencyId,
        municipality: g.municipality,
      })),
    };
  }

  return {
    async create(n) {
      const id = await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(u)
          .values({ login: n.login, name: n.name, telegramUserId: n.telegramUserId ?? null })
          .returning({ id: u.id });
        if (n.grants.length)
          await tx.insert(r).values(
            n.grants.map((g) => ({
              userId: row!.id,
              role: g.role,
              sector: g.sector ?? null,
              agencyId: g.agencyId ?? null,
              municipality: g.municipality ?? null,
            })),
          );
        return row!.id;
      });
      return (await load(eq(u.id, id)))!;
    },
    async issueToken(userId, name) {
      const token = `stf_${randomBytes(24).toString('base64url')}`;
      await db.insert(s.staffTokens).values({ userId, tokenHash: hash(token), name });
      return token;
    },
    async byToken(token) {
      const [t] = await db
        .select({ id: s.staffTokens.id, userId: s.staffTokens.userId })
        .from(s.staffTokens)
        .where(and(eq(s.staffTokens.tokenHash, hash(token)), eq(s.staffTokens.revoked, false)));
      if (!t) return undefined;
      await db.update(s.staffTokens).set({ lastUsedAt: new Date() }).where(eq(s.staffTokens.id, t.id));
      return load(eq(u.id, t.userId));
    },
    byTelegramId: (telegramUserId) => load(eq(u.telegramUserId, telegramUserId)),
    byLogin: (login) => load(eq(u.login, login)),
    async any() {
      const [row] = await db.select({ id: u.id }).from(u).limit(1);
      return row !== undefined;
    },
    async withRoles(roles, sector) {
      if (!roles.length) return [];
      const rows = await db
        .selectDistinct({ id: u.id })
        .from(u)
        .innerJoin(r, eq(r.userId, u.id))
        .where(
          and(
            eq(u.active, true),
            isNotNull(u.telegramUserId),
            inArray(r.role, [...roles]),
            sql`(${r.sector} is null or ${r.sector} = ${sector})`,
          ),
        );
      const out: StaffMember[] = [];
      for (const row of rows) {
        const m = await load(eq(u.id, row.id));
        if (m) out.push(m);
      }
      return out.sort((a, b) => a.id - b.id);
    },
  };
}
