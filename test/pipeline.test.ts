/**
 * Ingest → analyzed → incident through the real parts: fastify, PostgreSQL, Redis, BullMQ workers and the
 * shipped classic analyzer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, INGEST_TOKEN, ingestBody, startTestApp, waitFor, type TestApp } from './helpers.ts';

let t: TestApp;
const ingestAuth = { authorization: `Bearer ${INGEST_TOKEN}` };
const apiAuth = { authorization: `Bearer ${API_TOKEN}` };

beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'workers'] });
});
afterAll(() => t.close());

const api = () => t.app.api!;
const post = (body: unknown, headers: Record<string, string> = ingestAuth) =>
  api().inject({ method: 'POST', url: '/api/v1/messages', headers, payload: body as object });
const getJson = async (url: string) => {
  const r = await api().inject({ method: 'GET', url, headers: apiAuth });
  return { status: r.statusCode, body: r.json() };
};

describe('ingest → analysis → incident', () => {
  it('accepts a message, analyses it and opens a routed incident with a deadline, a card and a draft', async () => {
    const body = ingestBody(
      'Уже неделю не вывозят мусор в Бийске, ул. Мухачева, 210. Контейнеры переполнены.',
    );
    const r = await post(body);
    expect(r.statusCode).toBe(202);
    const { id } = r.json<{ id: number }>();
    expect(id).toBeGreaterThan(0);

    const msg = await waitFor(
      async () => {
        const m = await getJson(`/api/v1/messages/${id}`);
        return m.body.incidentId ? m.body : null;
      },
      { what: 'the message to be routed' },
    );
    expect(msg.state).toBe('routed');
    expect(msg.analysis).toMatchObject({ sector: 'waste', municipality: 'biysk' });
    expect(msg.analysis.address).toContain('Мухачева');

    const inc = await waitFor(
      async () => {
        const i = await getJson(`/api/v1/incidents/${msg.incidentId}`);
        const types = (i.body.events ?? []).map((e: { type: string }) => e.type);
        return types.includes('draft_prepared') && types.includes('notification_queued') ? i.body : null;
      },
      { what: 'the card and the acknowledgement draft' },
    );
    expect(inc).toMatchObject({
      sector: 'waste',
      sectorName: 'ТКО',
      municipality: 'biysk',
      status: 'assigned',
    });
    expect(inc.agencyName).toBe('Минприроды Алтайского края');
    expect(inc.messagesCount).toBe(1);
    expect(new Date(inc.firstResponseDue).getTime() - new Date(msg.receivedAt).getTime()).toBe(
      24 * 3_600_000,
    );
    expect(inc.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['created', 'status_changed', 'notification_queued', 'draft_prepared']),
    );
    expect(inc.drafts[0].text).toContain(inc.number);
    expect(inc.drafts[0].text).toContain('Мухачева');
    const cards = await t.app.outbox.notifications(inc.id);
    expect(cards).toHaveLength(1);
    expect(cards[0]!.text).toContain('Сфера: ТКО');
    expect(cards[0]!.text).toContain('Территория: Бийск');
  });

  it('stores the same source + externalId once and answers with the same id', async () => {
    const body = ingestBody('Яма на дороге по ул. Малахова в Барнауле');
    const [a, b] = await Promise.all([post(body), post(body)]);
    const c = await post(body);
    expect([a.statusCode, b.statusCode, c.statusCode]).toEqual([202, 202, 202]);
    const ids = [a, b, c].map((r) => r.json<{ id: number }>().id);
    expect(new Set(ids).size).toBe(1);
    expect([a, b, c].filter((r) => r.json<{ created: boolean }>().created)).toHaveLength(1);
    const rows = await t.app.database.rows<{ n: number }>(
      (await import('drizzle-orm'))
        .sql`select count(*)::int as n from messages where external_id = ${body.externalId}`,
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('joins a second resident writing about the same problem to the open incident', async () => {
    const first = await post(
      ingestBody('Не горят фонари во дворе дома ул. Попова, 105 в Барнауле, темно вечером'),
    );
    const second = await post(
      ingestBody('Во дворе ул. Попова, 105 (Барнаул) не горят фонари, вечером темно'),
    );
    const ids = [first, second].map((r) => r.json<{ id: number }>().id);
    const incs = await waitFor(
      async () => {
        const ms = await Promise.all(ids.map((i) => getJson(`/api/v1/messages/${i}`)));
        return ms.every((m) => m.body.incidentId) ? ms.map((m) => m.body.incidentId as number) : null;
      },
      { what: 'both messages routed' },
    );
    expect(incs[0]).toBe(incs[1]);
    const inc = await getJson(`/api/v1/incidents/${incs[0]}`);
    expect(inc.body.messagesCount).toBe(2);
    expect(inc.body.authorsCount).toBe(2);
  });

  it('lists incidents with filters, counts, deadlines and events', async () => {
    const all = await getJson('/api/v1/incidents?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.total).toBeGreaterThanOrEqual(3);
    for (const i of all.body.items) {
      expect(i.messagesCount).toBeGreaterThan(0);
      expect(i.resolutionDue).toMatch(/^\d{4}-/);
      expect(i.events.length).toBeGreaterThan(0);
    }
    const waste = await getJson('/api/v1/incidents?sector=waste&municipality=biysk');
    expect(waste.body.items.length).toBeGreaterThan(0);
    expect(waste.body.items.every((i: { sector: string }) => i.sector === 'waste')).toBe(true);
    const none = await getJson('/api/v1/incidents?status=closed');
    expect(none.body.total).toBe(0);
    const agency = await getJson('/api/v1/incidents?agency=minprirody');
    expect(agency.body.items.every((i: { agencyId: string }) => i.agencyId === 'minprirody')).toBe(true);
    expect((await getJson('/api/v1/incidents?status=bogus')).status).toBe(400);
    expect((await getJson('/api/v1/incidents?limit=100000')).status).toBe(400);
  });

  it('changes status through the API and refuses an illegal transition with a reason', async () => {
    const list = await getJson('/api/v1/incidents?status=assigned&limit=1');
    const id = list.body.items[0].id;
    const bad = await api().inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/transitions`,
      headers: apiAuth,
      payload: { to: 'closed' },
    });
    expect(bad.statusCode).toBe(409);
    expect(bad.json().error).toBe('INCIDENT_ILLEGAL_TRANSITION');
    const ok = await api().inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/transitions`,
      headers: apiAuth,
      payload: { to: 'in_progress' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().statusLabel).toBe('В работе');
  });
});

describe('deadlines', () => {
  it('sla-watch flags a breached incident once and writes one escalation for its sector block', async () => {
    const { sql } = await import('drizzle-orm');
    const list = await getJson('/api/v1/incidents?status=assigned&limit=1');
    const id = list.body.items[0].id as number;
    await t.app.database.rows(
      sql`update incidents set first_response_due = now() - interval '1 hour' where id = ${id}`,
    );
    const breachEvents = async () =>
      (await getJson(`/api/v1/incidents/${id}`)).body.events.filter(
        (e: { type: string }) => e.type === 'sla_breached',
      );
    await t.app.queues.get('sla-watch').add('sla-watch', {});
    await waitFor(async () => (await breachEvents()).length > 0, { what: 'the breach event' });
    await t.app.queues.get('sla-watch').add('sla-watch', {});
    await new Promise((r) => setTimeout(r, 1000));
    const events = await breachEvents();
    expect(events).toHaveLength(1);
    expect(events[0].data).toEqual({ which: 'first_response' });
    const escalations = (await t.app.outbox.notifications(id)).filter((n) => n.kind === 'sla_breach');
    expect(escalations).toHaveLength(1);
    expect(escalations[0]!.text).toMatch(/^Просрочен срок первого ответа по инциденту № \d{6}/);
  });
});

describe('bad requests', () => {
  it('refuses missing or wrong tokens and stores nothing', async () => {
    const body = ingestBody('Сообщение без токена');
    expect((await post(body, {})).statusCode).toBe(401);
    expect((await post(body, { authorization: 'Bearer wrong-token-wrong-token' })).statusCode).toBe(401);
    expect((await post(body, { authorization: `Bearer ${API_TOKEN}` })).statusCode).toBe(403); // a valid token without the ingest scope
    expect((await api().inject({ method: 'GET', url: '/api/v1/incidents' })).statusCode).toBe(401);
    const rows = await t.app.database.rows<{ n: number }>(
      (await import('drizzle-orm'))
        .sql`select count(*)::int as n from messages where external_id = ${body.externalId}`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it.each([
    [{ text: undefined }, 'text'],
    [{ text: '' }, 'text'],
    [{ postedAt: 'вчера' }, 'postedAt'],
    [{ author: {} }, 'author.id'],
    [{ source: 'no such source' }, 'source'],
    [{ source: 'nosuchsource' }, 'source'],
    [{ text: 'a\u0000b' }, 'text'],
    [{ text: 'x'.repeat(20_001) }, 'text'],
    [{ extra: 1 }, 'body'],
  ])('answers 400 naming the field for %j', async (patch, field) => {
    const body = { ...ingestBody('Корректный текст обращения'), ...patch };
    const r = await post(body);
    expect(r.statusCode).toBe(400);
    const e = r.json();
    expect(e.error).toBe('VALIDATION_FAILED');
    if (field !== 'body') expect(e.field).toBe(field);
    expect(e.reason ?? e.message).toBeTruthy();
  });

  it('answers 400 to broken JSON and 413 to an oversized body', async () => {
    const broken = await api().inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { ...ingestAuth, 'content-type': 'application/json' },
      payload: '{"source": "api", ',
    });
    expect(broken.statusCode).toBe(400);
    const huge = await api().inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { ...ingestAuth, 'content-type': 'application/json' },
      payload: JSON.stringify(ingestBody('x'.repeat(300_000))),
    });
    expect(huge.statusCode).toBe(413);
  });

  it('answers 404 for an unknown message', async () => {
    const r = await getJson('/api/v1/messages/999999999');
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('NOT_FOUND');
  });
});

describe('operations', () => {
  it('reports health of database, redis, queues and connectors', async () => {
    const r = await api().inject({ method: 'GET', url: '/health' });
    expect(r.statusCode).toBe(200);
    const h = r.json();
    expect(h.status).toBe('ok');
    expect(h.components.database).toMatchObject({ ok: true, kind: 'postgres' });
    expect(h.components.redis.ok).toBe(true);
    expect(h.components.queues.analyze).toHaveProperty('waiting');
    expect(h.components.connectors.ok).toBe(true);
  });

  it('exposes Prometheus metrics', async () => {
    const r = await api().inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    const text = r.body;
    expect(text).toMatch(/otklik_messages_in_total\{source="api",result="created"\} \d+/);
    expect(text).toMatch(/otklik_jobs_completed_total\{queue="analyze"\} \d+/);
    expect(text).toMatch(/otklik_queue_lag_seconds\{queue="route"\}/);
    expect(text).toMatch(/otklik_incidents\{status="assigned"\} \d+/);
  });
});
