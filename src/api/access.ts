/**
 * Who may call what. Every API route names an access class (`config: { access: 'incidents.read' }`); this
 * table says which staff roles and which integration scopes each class admits — it is the README's table
 * and what the role-matrix test walks. Principals: a staff session (cookie + CSRF header on writes), a
 * staff member's personal token, or an integration token with scopes (the env INGEST_TOKEN has `ingest`,
 * API_TOKEN every scope but `ingest`). Scope by sector/agency/municipality is checked per incident in the handlers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError, ForbiddenError } from '../domain/errors.ts';
import { can, type IncidentScope } from '../domain/permissions.ts';
import type { StaffMember } from '../store/staff.store.ts';

export const SCOPES = [
  'ingest',
  'read',
  'personal_data',
  'labels',
  'incidents:write',
  'replies',
  'settings',
] as const;
export type Scope = (typeof SCOPES)[number];

const ALL_STAFF = [
  'curator',
  'responsible_executive',
  'sector_responsible',
  'sector_head',
  'tech_admin',
  'internal_policy',
  'center_head',
  'direction_head',
  'smm',
  'analyst',
  'agency_operator',
];
const HANDLERS = [
  'curator',
  'responsible_executive',
  'sector_responsible',
  'sector_head',
  'center_head',
  'agency_operator',
];
const APPROVERS = ['smm', 'center_head', 'direction_head', 'curator'];
const SETTINGS_READERS = ['tech_admin', 'center_head', 'direction_head', 'curator'];

export interface AccessRule {
  roles: readonly string[];
  scopes: readonly Scope[];
  what: string;
}

export const ACCESS = {
  'messages.ingest': { roles: [], scopes: ['ingest'], what: 'POST /messages' },
  'messages.read': { roles: ALL_STAFF, scopes: ['read'], what: 'GET /messages/:id' },
  'labels.write': {
    roles: [...HANDLERS, 'smm', 'analyst', 'direction_head'],
    scopes: ['labels'],
    what: 'POST /messages/:id/labels',
  },
  'incidents.read': {
    roles: ALL_STAFF,
    scopes: ['read'],
    what: 'GET /incidents, /incidents/:id, /incidents/:id/outbound, /incidents/:id/handover-choices, /sla/monitor, /stream, /reference',
  },
  'incidents.act': {
    roles: HANDLERS,
    scopes: ['incidents:write'],
    what: 'POST /incidents/:id/actions, /incidents/:id/transitions',
  },
  'incidents.reply': { roles: APPROVERS, scopes: ['replies'], what: 'POST /incidents/:id/replies' },
  'drafts.read': { roles: ALL_STAFF, scopes: [], what: 'GET /drafts, /drafts/:id' },
  'drafts.decide': {
    roles: APPROVERS,
    scopes: [],
    what: 'POST /drafts/:id/edit|approve|reject (staff only)',
  },
  'analytics.read': {
    roles: [
      'analyst',
      'center_head',
      'direction_head',
      'curator',
      'internal_policy',
      'sector_head',
      'responsible_executive',
    ],
    scopes: ['read'],
    what: 'GET /analytics/slice, ratings, workload, map, top-problems; GET /alerts; GET /reports, /reports/weekly, /reports/:id/:format',
  },
  'reports.generate': {
    roles: ['analyst', 'center_head', 'direction_head', 'curator', 'internal_policy'],
    scopes: [],
    what: 'POST /reports/weekly (staff only: stores the report and posts it to the configured chats)',
  },
  'alerts.ack': {
    roles: ['analyst', 'center_head', 'direction_head', 'curator', 'internal_policy', 'sector_head'],
    scopes: ['incidents:write'],
    what: 'POST /alerts/:id/ack',
  },
  'outreach.read': {
    roles: ['smm', 'center_head', 'direction_head', 'curator', 'analyst', 'internal_policy'],
    scopes: ['read'],
    what: 'GET /segments, /campaigns, /polls, /discussions (with counts, statistics, results, summaries)',
  },
  'outreach.write': {
    roles: ['smm', 'center_head', 'direction_head', 'curator'],
    scopes: [],
    what: 'POST/PATCH /segments, /campaigns, /polls, /discussions (drafts), submit for approval, pause, cancel',
  },
  'outreach.approve': {
    roles: ['center_head', 'direction_head', 'curator'],
    scopes: [],
    what: 'POST /campaigns/:id/approve, /polls/:id/approve, /discussions/:id/publish, resume',
  },
  'settings.read': { roles: SETTINGS_READERS, scopes: ['settings'], what: 'GET /settings/*' },
  'settings.write': {
    roles: ['tech_admin', 'center_head'],
    scopes: ['settings'],
    what: 'POST/PATCH/PUT/DELETE /settings/* (except users)',
  },
  'users.manage': { roles: ['tech_admin'], scopes: [], what: 'GET/POST/PATCH /settings/users, GET /audit' },
  'privacy.manage': {
    roles: ['tech_admin'],
    scopes: [],
    what: "GET /privacy/citizens, /privacy/citizens/:id/export; DELETE /privacy/citizens/:id; POST /privacy/retention/run (a citizen's data on request, audited)",
  },
} satisfies Record<string, AccessRule>;

export type AccessClass = keyof typeof ACCESS;

/** Roles that see citizens' names (personal data); the others see «скрыто». */
export const PERSONAL_DATA_ROLES = [...HANDLERS, 'smm', 'direction_head'];

export type Principal =
  | { kind: 'staff'; member: StaffMember; via: 'session' | 'token'; csrfToken?: string }
  | { kind: 'integration'; name: string; scopes: readonly string[] };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    access?: AccessClass;
  }
}

export const SESSION_COOKIE = 'otklik_session';

export interface PrincipalSources {
  envTokens: { ingest: string; api: string };
  session(id: string): Promise<{ member: StaffMember; csrfToken: string } | undefined>;
  staffToken(token: string): Promise<StaffMember | undefined>;
  apiToken(token: string): Promise<{ name: string; scopes: string[] } | undefined>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export async function resolvePrincipal(
  req: FastifyRequest,
  src: PrincipalSources,
): Promise<Principal | undefined> {
  const header = req.headers.authorization;
  const bearer = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
  if (bearer) {
    if (same(bearer, src.envTokens.api))
      return { kind: 'integration', name: 'API_TOKEN', scopes: SCOPES.filter((x) => x !== 'ingest') };
    if (same(bearer, src.envTokens.ingest))
      return { kind: 'integration', name: 'INGEST_TOKEN', scopes: ['ingest'] };
    if (bearer.startsWith('stf_')) {
      const member = await src.staffToken(bearer);
      return member ? { kind: 'staff', member, via: 'token' } : undefined;
    }
    if (bearer.startsWith('int_')) {
      const t = await src.apiToken(bearer);
      return t ? { kind: 'integration', name: t.name, scopes: t.scopes } : undefined;
    }
    return undefined;
  }
  const sid = (req.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
  if (sid) {
    const s = await src.session(sid);
    if (s) return { kind: 'staff', member: s.member, via: 'session', csrfToken: s.csrfToken };
  }
  return undefined;
}

export function allowed(p: Principal, access: AccessClass): boolean {
  const rule: AccessRule = ACCESS[access];
  if (p.kind === 'integration') return rule.scopes.some((s) => p.scopes.includes(s));
  return p.member.grants.some((g) => rule.roles.includes(g.role));
}

export function canSeePersonalData(p: Principal | undefined): boolean {
  if (!p) return false;
  if (p.kind === 'integration') return p.scopes.includes('personal_data');
  return grantsSeePersonalData(p.member.grants);
}

/** A staff member with these grants may read citizens' personal data. */
export function grantsSeePersonalData(grants: readonly { role: string }[]): boolean {
  return grants.some((g) => PERSONAL_DATA_ROLES.includes(g.role));
}

/** Actor name for events and the audit trail. */
export function actorName(p: Principal | undefined): string {
  if (!p) return 'anonymous';
  return p.kind === 'staff' ? `staff:${p.member.login}` : `token:${p.name}`;
}

/**
 * The global hook: authenticate, check the access class, and the CSRF header for cookie sessions. It runs
 * before the body is even read (`preParsing`; the cookies are parsed `onRequest`), so a caller without the
 * right gets 401/403 whatever the body — never a 400 or 413 that tells them about the route, and no
 * parsing of up to 256 KiB of JSON for an anonymous client (issue 9, «Hostile input»).
 */
export function installAccessControl(app: FastifyInstance, src: () => PrincipalSources): void {
  app.addHook('preParsing', async (req) => {
    const access = req.routeOptions.config?.access;
    if (!access) return;
    const p = await resolvePrincipal(req, src());
    if (!p)
      throw new AuthError(
        req.headers.authorization
          ? 'the token is not valid'
          : 'log in, or send Authorization: Bearer <token>',
        { code: req.headers.authorization ? 'AUTH_INVALID' : 'AUTH_REQUIRED' },
      );
    if (p.kind === 'staff' && p.via === 'session' && !['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
      const given = req.headers['x-csrf-token'];
      if (typeof given !== 'string' || !p.csrfToken || !same(given, p.csrfToken))
        throw new ForbiddenError('the x-csrf-token header is missing or wrong', { code: 'CSRF_FAILED' });
    }
    if (!allowed(p, access))
      throw new ForbiddenError(
        p.kind === 'staff'
          ? `the roles of ${p.member.login} (${p.member.grants.map((g) => g.role).join(', ') || 'none'}) do not allow ${access}`
          : `the token ${p.name} has no scope for ${access} (needs one of: ${ACCESS[access].scopes.join(', ') || 'staff only'})`,
        { code: 'FORBIDDEN_ROLE' },
      );
    req.principal = p;
  });
}

/** The README table of who may call what. */
export function accessTable(): string {
  const rows = Object.entries(ACCESS as Record<string, AccessRule>).map(
    ([k, r]) =>
      `| \`${k}\` | ${r.what.replace(/\|/g, '\\|')} | ${r.roles.join(', ') || '—'} | ${r.scopes.join(', ') || 'staff only'} |`,
  );
  return ['| class | endpoints | staff roles | integration scopes |', '|---|---|---|---|', ...rows].join(
    '\n',
  );
}

/**
 * Staff read only what their grants' scope covers (sector, agency, municipality); integration tokens are
 * limited by their scopes at the route instead. Throws 403 FORBIDDEN_SCOPE naming `what`.
 */
export function assertMayRead(p: Principal | undefined, scope: IncidentScope, what: string): void {
  if (p?.kind !== 'staff') return;
  if (!can(p.member.grants, 'read', scope))
    throw new ForbiddenError(`${what} is outside the scope of ${p.member.login}`, {
      code: 'FORBIDDEN_SCOPE',
    });
}

/** What a staff member's grants let analytics show: per dimension, the codes allowed; absent = all. */
export interface AnalyticsScope {
  sector?: string[];
  agency?: string[];
  municipality?: string[];
}

/**
 * The analytics scope of a caller: undefined when any grant is unscoped (or for integration tokens, which
 * their scopes limit). A dimension is constrained when every grant constrains it, to the union of their
 * codes — exact for the usual one-dimension grants (a sector head's sector), wider for grants that combine
 * two dimensions differently (aggregates only). Grants that share no dimension get 403.
 */
export function analyticsScope(p: Principal | undefined): AnalyticsScope | undefined {
  if (p?.kind !== 'staff') return undefined;
  const grants = p.member.grants;
  if (!grants.length || grants.some((g) => !g.sector && !g.agencyId && !g.municipality)) return undefined;
  const out: AnalyticsScope = {};
  const pick = (f: (g: (typeof grants)[number]) => string | null | undefined) =>
    grants.every((g) => f(g)) ? [...new Set(grants.map((g) => f(g)!))] : undefined;
  const sector = pick((g) => g.sector);
  const agency = pick((g) => g.agencyId);
  const municipality = pick((g) => g.municipality);
  if (sector) out.sector = sector;
  if (agency) out.agency = agency;
  if (municipality) out.municipality = municipality;
  if (!Object.keys(out).length)
    throw new ForbiddenError(`the grants of ${p.member.login} share no scope analytics can be limited to`, {
      code: 'FORBIDDEN_SCOPE',
    });
  return out;
}

/** A filter narrowed to what the scope allows (the scope alone when none was asked); 403 when none is left. */
export function narrowToScope(
  asked: readonly string[] | undefined,
  allowed: readonly string[] | undefined,
  field: string,
): string[] | undefined {
  if (!allowed) return asked ? [...asked] : undefined;
  if (!asked?.length) return [...allowed];
  const both = asked.filter((a) => allowed.includes(a));
  if (!both.length)
    throw new ForbiddenError(`${field}: outside the caller's scope`, { code: 'FORBIDDEN_SCOPE' });
  return both;
}
