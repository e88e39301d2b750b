/**
 * Who may call what, route by route: every route of the running app (its own route table, collected as the
 * routes register) against every staff role, the integration tokens and no credential at all. A route
 * either names an access class of `ACCESS` or is on the explicit public list below — a new route with
 * neither fails here. Without a credential: 401. A role outside the class: 403. A role inside: anything but
 * 401/403 (the parameters are harmless — ids that do not exist, bodies that fail validation — so 404 and
 * 400 are the usual answers). Access is decided before the body is read, so even a malformed or oversized
 * body gets 401/403 from a caller without the right, never a 400/413 that would describe the route.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, SCOPES, type AccessClass, type AccessRule } from '../src/api/access.ts';
import type { RouteEntry } from '../src/api/server.ts';
import { ROLES } from '../src/store/seed.ts';
import { API_TOKEN, INGEST_TOKEN, ROOT, startTestApp, type TestApp } from './helpers.ts';

/** Routes without an access class, each with the reason it needs none. */
const PUBLIC: Record<string, string> = {
  'GET /health': 'component health for the load balancer; no personal data',
  'GET /metrics': 'Prometheus counters; no personal data',
  'POST /api/v1/auth/login': 'the login itself (argon2, lockout per account, throttling per address)',
  'GET /api/v1/auth/me': "the caller's own session, or 401",
  'POST /api/v1/auth/logout': "ends the caller's own session",
  'POST /webhooks/telegram/:botId': 'Telegram: the X-Telegram-Bot-Api-Secret-Token header is checked',
  'POST /webhooks/vk/:groupId': 'VK Callback API: the secret in the body is checked',
  'GET /r/:token/:n': 'the click-counting redirect of campaign link buttons (the token is the capability)',
  'GET /docs': 'redirects to Swagger UI',
  'GET /docs/json': 'the OpenAPI document',
  'GET /docs/yaml': 'the OpenAPI document',
  'GET /docs/static/index.html': 'Swagger UI',
  'GET /docs/static/swagger-initializer.js': 'Swagger UI',
  'GET /docs/static/*': 'Swagger UI',
};
const WEB_DIST = path.join(ROOT, 'web/dist');
/** A file of the built workspace (served statically; the data comes from the API). */
const isWebFile = (r: RouteEntry) =>
  r.method === 'GET' &&
  (r.url === '/' || (!r.url.includes(':') && fs.existsSync(path.join(WEB_DIST, r.url))));

/** Scope-allowed for integrations, but taken by named staff only (403 STAFF_ONLY, checked in the handler). */
const STAFF_ONLY = new Set(['POST /api/v1/incidents/:id/actions']);
/** A body that passes validation where the route's own check comes after it (the default is `[]`: a 400). */
const BODIES: Record<string, unknown> = { 'POST /api/v1/incidents/:id/actions': { action: 'accept' } };

/** Endless responses (Server-Sent Events): read the status line, then hang up. */
const STREAMS = new Set(['GET /api/v1/stream']);

function fill(url: string): string {
  return url
    .replace(/:day\b/, '2999-01-01')
    .replace(/:kind\b/, 'holiday')
    .replace(/:format\b/, 'pdf')
    .replace(/:[A-Za-z]+/g, '999999999');
}
const WRITE = ['POST', 'PUT', 'PATCH', 'DELETE'];
const key = (r: RouteEntry) => `${r.method} ${r.url}`;

describe('route × role matrix', () => {
  let t: TestApp;
  let routes: RouteEntry[];
  const callers = new Map<string, { headers: Record<string, string>; roles: string[]; scopes: string[] }>();

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], listen: true });
    routes = t.app.api!.routeTable;
    for (const role of ROLES) {
      const m = await t.app.staff.create({
        login: `m-${role.code}`,
        name: role.name,
        grants: [{ role: role.code }],
      });
      callers.set(role.code, {
        headers: { authorization: `Bearer ${await t.app.staff.issueToken(m.id, 'matrix')}` },
        roles: [role.code],
        scopes: [],
      });
    }
    callers.set('API_TOKEN', {
      headers: { authorization: `Bearer ${API_TOKEN}` },
      roles: [],
      scopes: SCOPES.filter((s) => s !== 'ingest'),
    });
    callers.set('INGEST_TOKEN', {
      headers: { authorization: `Bearer ${INGEST_TOKEN}` },
      roles: [],
      scopes: ['ingest'],
    });
    callers.set('int_ read', {
      headers: { authorization: `Bearer ${await t.app.auth.createApiToken('matrix-read', ['read'])}` },
      roles: [],
      scopes: ['read'],
    });
  });
  afterAll(async () => t?.close());

  async function request(r: RouteEntry, headers: Record<string, string>, body?: string | Buffer) {
    const url = fill(r.url);
    if (STREAMS.has(key(r))) {
      const ctrl = new AbortController();
      const res = await fetch(`${t.app.url}${url}`, { headers, signal: ctrl.signal });
      const text = res.status >= 400 ? await res.text() : '';
      ctrl.abort();
      return { statusCode: res.status, body: text };
    }
    const payload =
      body ??
      (key(r) in BODIES ? JSON.stringify(BODIES[key(r)]) : WRITE.includes(r.method) ? '[]' : undefined);
    return t.app.api!.inject({
      method: r.method as 'GET',
      url,
      headers: { ...headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
      payload,
    });
  }

  it('every route names an access class of the table, or is on the explicit public list', () => {
    expect(routes.length).toBeGreaterThan(100);
    const unknown = routes.filter((r) => r.access && !(r.access in ACCESS)).map(key);
    expect(unknown, 'access classes missing from ACCESS').toEqual([]);
    const open = routes.filter((r) => !r.access && r.method !== 'HEAD' && !isWebFile(r)).map(key);
    expect(
      open.sort(),
      'routes with no access class (add one, or list it in PUBLIC with the reason)',
    ).toEqual(Object.keys(PUBLIC).sort());
    // HEAD twins of GET routes carry the same class
    const mismatched = routes
      .filter((r) => r.method === 'HEAD')
      .filter((h) => routes.find((g) => g.method === 'GET' && g.url === h.url)?.access !== h.access)
      .map(key);
    expect(mismatched).toEqual([]);
    // every class of the table is used by some route
    const used = new Set(routes.map((r) => r.access));
    expect(Object.keys(ACCESS).filter((c) => !used.has(c))).toEqual([]);
  });

  it('every protected route: 401 without a credential, 403 for roles and scopes outside its class, neither for those inside', async () => {
    const wrong: string[] = [];
    const table: string[] = [];
    const protectedRoutes = routes.filter((r) => r.access && r.method !== 'HEAD');
    for (const r of protectedRoutes) {
      const rule: AccessRule = ACCESS[r.access as AccessClass];
      const none = await request(r, {});
      if (none.statusCode !== 401) wrong.push(`${key(r)} without a credential: ${none.statusCode}`);
      const row: string[] = [];
      for (const [who, c] of callers) {
        const allowed =
          c.roles.some((x) => rule.roles.includes(x)) ||
          c.scopes.some((s) => (rule.scopes as readonly string[]).includes(s));
        const res = await request(r, c.headers);
        const error = res.statusCode === 403 ? (JSON.parse(res.body) as { error: string }).error : undefined;
        row.push(`${who}:${res.statusCode}`);
        if (allowed && c.roles.length === 0 && STAFF_ONLY.has(key(r))) {
          if (error !== 'STAFF_ONLY')
            wrong.push(
              `${key(r)} ${who}: expected 403 STAFF_ONLY, got ${res.statusCode} ${res.body.slice(0, 120)}`,
            );
        } else if (allowed) {
          if (res.statusCode === 401 || res.statusCode === 403)
            wrong.push(`${key(r)} ${who} (inside ${r.access}): ${res.statusCode} ${res.body.slice(0, 120)}`);
          else if (res.statusCode >= 500)
            wrong.push(`${key(r)} ${who}: ${res.statusCode} ${res.body.slice(0, 120)}`);
        } else if (res.statusCode !== 403 || error !== 'FORBIDDEN_ROLE')
          wrong.push(
            `${key(r)} ${who} (outside ${r.access}): expected 403 FORBIDDEN_ROLE, got ${res.statusCode} ${res.body.slice(0, 120)}`,
          );
      }
      table.push(`${key(r).padEnd(52)} ${r.access!.padEnd(18)} ${row.join(' ')}`);
    }
    if (process.env.MATRIX_PRINT) console.log(table.join('\n'));
    expect(wrong).toEqual([]);
    expect(protectedRoutes.length * (callers.size + 1)).toBeGreaterThan(1000);
  });

  it('access is decided before the body is read: a malformed, oversized or mistyped body still gets 401/403', async () => {
    const outsider = (r: RouteEntry) =>
      [...callers.entries()].find(
        ([, c]) =>
          c.roles.length &&
          !c.roles.some((x) => (ACCESS[r.access as AccessClass].roles as readonly string[]).includes(x)),
      );
    const bodies: [string, string | Buffer, Record<string, string>][] = [
      ['broken JSON', '{"text": ', { 'content-type': 'application/json' }],
      ['a 300-level deep body', '['.repeat(300) + ']'.repeat(300), { 'content-type': 'application/json' }],
      ['an oversized body', Buffer.alloc(400 * 1024, 0x61), { 'content-type': 'application/json' }],
      [
        'invalid UTF-8',
        Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        { 'content-type': 'application/json' },
      ],
      ['an unsupported media type', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }],
    ];
    const wrong: string[] = [];
    for (const r of routes.filter((x) => x.access && WRITE.includes(x.method)))
      for (const [what, body, headers] of bodies) {
        const url = fill(r.url);
        const anon = await t.app.api!.inject({ method: r.method as 'POST', url, headers, payload: body });
        if (anon.statusCode !== 401) wrong.push(`${key(r)} anonymous with ${what}: ${anon.statusCode}`);
        const out = outsider(r);
        if (!out) continue;
        const res = await t.app.api!.inject({
          method: r.method as 'POST',
          url,
          headers: { ...headers, ...out[1].headers },
          payload: body,
        });
        if (res.statusCode !== 403) wrong.push(`${key(r)} ${out[0]} with ${what}: ${res.statusCode}`);
      }
    expect(wrong).toEqual([]);
  });
});
