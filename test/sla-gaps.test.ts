/**
 * Deadline gaps, through the real store (PostgreSQL), queues (Redis) and the sla-watch functions, with time
 * driven by the `now` passed to them: each deadline breaches and escalates once on its own; reopening gives
 * a fresh resolution deadline with its reminders and breach; only a citizen who was asked restarts a
 * paused clock, and sla-watch restarts it after the longest pause; «overdue» covers both deadlines and
 * leaves paused incidents out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentView } from '../src/api/views.ts';
import type { Calendar } from '../src/domain/calendar.ts';
import { MAX_SLA_PAUSE_MS, computeDue } from '../src/domain/sla.ts';
import {
  escalateBreaches,
  remindDeadlines,
  watchDeadlines,
  type EscalationDeps,
} from '../src/responders/escalate.ts';
import { calendarFromReference } from '../src/store/reference.store.ts';
import { routeProcessor } from '../src/workers/route.worker.ts';
import { API_TOKEN, fixtureAnalysis, message, startTestApp, type TestApp } from './helpers.ts';

const HOUR = 3_600_000;

let t: TestApp;
let deps: EscalationDeps;
let cal: Calendar;

beforeAll(async () => {
  t = await startTestApp({ roles: ['api'] });
  const ref = await t.app.reference.get();
  cal = calendarFromReference(ref);
  deps = {
    incidents: t.app.incidents,
    outbox: t.app.outbox,
    outbound: t.app.outbound,
    queues: t.app.queues,
    reference: () => t.app.reference.get(),
    publicUrl: 'http://x',
    staff: t.app.staff,
    calendar: async () => cal,
    digestHour: 24, // no morning digest in these tests
  };
});
afterAll(() => t?.close());

const q = <T>(text: string, params: unknown[] = []) => t.app.database.query<T>(text, params);
const row = async (id: number) => (await t.app.incidents.get(id))!;
const notes = async (id: number, kind: string) =>
  (await t.app.outbox.notifications(id)).filter((n) => n.kind === kind);
const events = (id: number, type: string) =>
  q<{ actor: string; at: Date; data: Record<string, unknown> }>(
    `select actor, at, data from incident_events where incident_id = $1 and type = $2 order by id`,
    [id, type],
  );

const analysis = (terms: string[]) => fixtureAnalysis({ terms });

let n = 0;
/** Stores and analyses messages; returns their ids and external ids. */
async function store(items: { text: string; author: string; parent?: string }[]) {
  const msgs = items.map((x) =>
    message(x.text, { author: { id: x.author }, ...(x.parent ? { parentExternalId: x.parent } : {}) }),
  );
  const ids = (await t.app.messages.insertBatch(msgs, () => 'api')).map((r) => r.id);
  await t.app.messages.saveAnalyses(
    ids.map((id, i) => ({ id, analysis: analysis([`яма${n}`, `${i}`]), needsReview: false })),
  );
  return msgs.map((m, i) => ({ id: ids[i]!, externalId: m.externalId }));
}

/** Incidents whose clock the route processor restarted. */
const resumedIds: number[] = [];
/** The route processor (the one the workers run) on one batch of stored messages. */
async function runRoute(messageIds: number[]) {
  const route = routeProcessor({
    incidents: t.app.incidents,
    queues: t.app.queues,
    context: async () => ({
      ref: await t.app.reference.get(),
      calendar: cal,
      grouping: { windowHours: 72, duplicateThreshold: 0.5 },
    }),
    onResumed: async (id) => void resumedIds.push(id),
  });
  return route({ data: { messageIds } } as Parameters<typeof route>[0]);
}

/** A new incident opened by one citizen's message; returns its id, the message's external id and author. */
async function newIncident() {
  const author = `citizen-${++n}`;
  const [m] = await store([{ text: `Яма на дороге номер ${n}, ул. Малахова`, author }]);
  await runRoute([m!.id]);
  const [msg] = await q<{ incident_id: string }>(`select incident_id from messages where id = $1`, [m!.id]);
  return { id: Number(msg!.incident_id), externalId: m!.externalId, author };
}

describe('each deadline breaches and escalates once on its own', () => {
  it('a first-response breach, then the resolution breach: two escalations, each once, even with two workers', async () => {
    const { id } = await newIncident();
    const inc = await row(id);
    const afterFirst = new Date(inc.firstResponseDue.getTime() + 60_000);
    expect(inc.resolutionDue > afterFirst).toBe(true);

    const [a, b] = await Promise.all([
      escalateBreaches(deps, afterFirst),
      escalateBreaches(deps, afterFirst),
    ]);
    expect(a + b).toBe(1);
    expect(await escalateBreaches(deps, afterFirst)).toBe(0);
    let breaches = await notes(id, 'sla_breach');
    expect(breaches).toHaveLength(1);
    expect(breaches[0]!.text).toMatch(/^Просрочен срок первого ответа по инциденту/);

    // The resolution deadline passes later, still with no first response given.
    const afterResolution = new Date(inc.resolutionDue.getTime() + 60_000);
    const [c, d] = await Promise.all([
      escalateBreaches(deps, afterResolution),
      escalateBreaches(deps, afterResolution),
    ]);
    expect(c + d).toBe(1);
    expect(await escalateBreaches(deps, afterResolution)).toBe(0);
    breaches = await notes(id, 'sla_breach');
    expect(breaches.map((x) => /срок (\S+ ?\S*) по/.exec(x.text)![1])).toEqual(['первого ответа', 'решения']);
    expect((await events(id, 'sla_breached')).map((e) => e.data.which)).toEqual([
      'first_response',
      'resolution',
    ]);
    const after = await row(id);
    expect(after.firstResponseBreachedAt).not.toBeNull();
    expect(after.resolutionBreachedAt).not.toBeNull();
  });

  it('both deadlines missed at once: both are escalated in one pass', async () => {
    const { id } = await newIncident();
    const inc = await row(id);
    const late = new Date(inc.resolutionDue.getTime() + HOUR);
    expect(await escalateBreaches(deps, late)).toBe(2);
    expect(await escalateBreaches(deps, late)).toBe(0);
    expect((await notes(id, 'sla_breach')).length).toBe(2);
  });
});

describe('reopening', () => {
  it('gives a fresh resolution deadline from the reopening; its reminders and breach come again', async () => {
    const { id } = await newIncident();
    const ims = t.app.incidents;
    await q(`update incidents set first_responded_at = created_at + interval '1 hour' where id = $1`, [id]);
    const inc = await row(id);
    // Under the first clock: a 50 % reminder and the breach of the resolution deadline.
    const mid = cal.addWorkingMillis(
      inc.createdAt,
      0.6 * cal.workingMillisBetween(inc.createdAt, inc.resolutionDue),
    );
    expect(await remindDeadlines(deps, mid, [inc])).toBe(1);
    const late = new Date(inc.resolutionDue.getTime() + HOUR);
    expect(await escalateBreaches(deps, late)).toBe(1);

    for (const to of ['in_progress', 'resolved'] as const)
      expect((await ims.changeStatus(id, to, 'test')).ok).toBe(true);
    expect(await ims.pause(id, 'staff:test')).toBe(true); // a question left standing ends with the reopening
    const before = Date.now();
    expect((await ims.changeStatus(id, 'reopened', 'citizen', 'заявитель: не решено')).ok).toBe(true);

    const re = await row(id);
    expect(re.status).toBe('reopened');
    expect(re.resolutionStartedAt!.getTime()).toBeGreaterThanOrEqual(before);
    expect(re.resolutionBreachedAt).toBeNull();
    expect(re.pausedAt).toBeNull();
    expect((await events(id, 'sla_resumed')).at(-1)!.data.reason).toBe('reopened');
    const policy = (await t.app.reference.get()).slaPolicies.get(re.channelKind)!;
    expect(re.resolutionDue).toEqual(computeDue(policy.resolution, re.resolutionStartedAt!, cal));
    expect(re.resolutionDue.getTime()).toBeGreaterThan(Date.now());
    // The first-response deadline moves by the pause that ended (a few milliseconds here), as a resume does.
    expect(re.firstResponseDue.getTime()).toBeGreaterThanOrEqual(inc.firstResponseDue.getTime());
    expect(re.firstResponseDue.getTime() - inc.firstResponseDue.getTime()).toBeLessThan(60_000);

    // The new clock: not overdue now, a 50 % reminder of its own, then a breach of its own, each once.
    expect(incidentView(re, await t.app.reference.get(), new Date()).overdue).toBe(false);
    const mid2 = cal.addWorkingMillis(
      re.resolutionStartedAt!,
      0.6 * cal.workingMillisBetween(re.resolutionStartedAt!, re.resolutionDue),
    );
    expect(await remindDeadlines(deps, mid2, [re])).toBe(1);
    expect(await remindDeadlines(deps, mid2, [re])).toBe(0);
    expect((await notes(id, 'sla_reminder')).map((x) => /прошло (\d+) %/.exec(x.text)![1])).toEqual([
      '50',
      '50',
    ]);
    const late2 = new Date(re.resolutionDue.getTime() + HOUR);
    expect(await escalateBreaches(deps, late2)).toBe(1);
    expect(await escalateBreaches(deps, late2)).toBe(0);
    const breaches = await notes(id, 'sla_breach');
    expect(breaches).toHaveLength(2);
    expect(breaches[1]!.text).toMatch(/^Просрочен срок решения \(после возобновления\)/);
  });
});

describe('the paused clock', () => {
  it('restarts only when a citizen who was asked writes again, not on anyone else’s message', async () => {
    const first = await newIncident();
    const id = first.id;
    expect(await t.app.incidents.pause(id, 'staff:test')).toBe(true);
    const paused = await row(id);

    // Someone else replies in the thread: the message joins, the clock keeps standing.
    const [other] = await store([
      { text: 'У нас тоже такая яма', author: `stranger-${n}`, parent: first.externalId },
    ]);
    await runRoute([other!.id]);
    const [joined] = await q<{ incident_id: string }>(`select incident_id from messages where id = $1`, [
      other!.id,
    ]);
    expect(Number(joined!.incident_id)).toBe(id);
    expect((await row(id)).pausedAt).toEqual(paused.pausedAt);
    expect(resumedIds).not.toContain(id);

    // The asked citizen answers: the clock restarts.
    const [answer] = await store([
      { text: 'Яма у второго подъезда', author: first.author, parent: first.externalId },
    ]);
    await runRoute([answer!.id]);
    const after = await row(id);
    expect(after.pausedAt).toBeNull();
    expect(after.pauses).toHaveLength(1);
    expect(resumedIds).toContain(id);
    expect((await events(id, 'sla_resumed')).map((e) => e.actor)).toEqual(['citizen']);
  });
});

describe('overdue', () => {
  it('a missed first response makes an incident overdue; a paused one is not overdue', async () => {
    const { id } = await newIncident();
    const ref = await t.app.reference.get();
    await q(
      `update incidents set first_response_due = now() - interval '1 hour', resolution_due = now() + interval '5 days'
       where id = $1`,
      [id],
    );
    const now = new Date();
    const listed = async () =>
      (await t.app.incidents.list({ overdue: true }, { limit: 1000, offset: 0 }, now)).items.map((i) => i.id);
    const api = async () => {
      const r = await t.app.api!.inject({
        method: 'GET',
        url: '/api/v1/incidents?overdue=true&limit=100',
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(r.statusCode).toBe(200);
      return r.json<{ items: { id: number; overdue: boolean; firstResponseOverdue: boolean }[] }>().items;
    };

    let view = incidentView(await row(id), ref, now);
    expect(view).toMatchObject({ overdue: true, firstResponseOverdue: true, resolutionOverdue: false });
    expect(await listed()).toContain(id);
    expect((await api()).find((i) => i.id === id)).toMatchObject({
      overdue: true,
      firstResponseOverdue: true,
    });

    // Answered: the first-response deadline no longer applies.
    await t.app.incidents.setFields(id, { firstRespondedAt: new Date() });
    expect(incidentView(await row(id), ref, now).overdue).toBe(false);
    expect(await listed()).not.toContain(id);

    // Past the resolution deadline: overdue again; while paused it is not.
    await q(`update incidents set resolution_due = now() - interval '1 hour' where id = $1`, [id]);
    const later = new Date();
    view = incidentView(await row(id), ref, later);
    expect(view).toMatchObject({ overdue: true, firstResponseOverdue: false, resolutionOverdue: true });
    expect(
      (await t.app.incidents.list({ overdue: true }, { limit: 1000, offset: 0 }, later)).items.map(
        (i) => i.id,
      ),
    ).toContain(id);
    await t.app.incidents.pause(id, 'staff:test');
    expect(incidentView(await row(id), ref, later).overdue).toBe(false);
    expect(
      (await t.app.incidents.list({ overdue: true }, { limit: 1000, offset: 0 }, later)).items.map(
        (i) => i.id,
      ),
    ).not.toContain(id);
    // Closed, so that the week-ahead pass below does not restart it.
    await q(`update incidents set status = 'closed' where id = $1`, [id]);
  });
});

// Last: its pass looks a week ahead and acts on every incident of this file's database.
describe('the longest pause', () => {
  it('sla-watch restarts a clock paused longer than the limit, as `system`, moving the deadlines by the limit', async () => {
    const { id } = await newIncident();
    const pausedAt = new Date();
    expect(await t.app.incidents.pause(id, 'staff:test', pausedAt)).toBe(true);
    const inc = await row(id);

    const early = await watchDeadlines(deps, new Date(pausedAt.getTime() + MAX_SLA_PAUSE_MS - HOUR));
    expect(early.resumed).toBe(0);
    expect((await row(id)).pausedAt).not.toBeNull();

    const r = await watchDeadlines(deps, new Date(pausedAt.getTime() + MAX_SLA_PAUSE_MS + HOUR));
    expect(r.resumed).toBe(1);
    const after = await row(id);
    expect(after.pausedAt).toBeNull();
    expect(after.pauses).toEqual([
      { from: pausedAt.toISOString(), to: new Date(pausedAt.getTime() + MAX_SLA_PAUSE_MS).toISOString() },
    ]);
    expect(after.firstResponseDue.getTime()).toBe(inc.firstResponseDue.getTime() + MAX_SLA_PAUSE_MS);
    expect(after.resolutionDue.getTime()).toBeGreaterThan(inc.resolutionDue.getTime());
    const resumed = await events(id, 'sla_resumed');
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.actor).toBe('system');
    expect(resumed[0]!.data.reason).toBe('max_pause');
    // A second pass (or worker) finds nothing to restart.
    expect(
      (await watchDeadlines(deps, new Date(pausedAt.getTime() + MAX_SLA_PAUSE_MS + 2 * HOUR))).resumed,
    ).toBe(0);
  });
});
