/**
 * The broadcast engine: one run per campaign at a time (a lease in Redis), one lane per bot or community.
 *
 * - Start: an approved campaign whose time has come becomes `running` and its segment is expanded into
 *   deliveries (unique campaign × author) in one statement.
 * - Limits: every message takes a slot from the shared Redis slot limiter (the same one the send queue
 *   uses), so replies and broadcasts together stay within Telegram's 30/s per bot and 1/s per chat and
 *   VK's requests per second per community. A «slow down» answer (Telegram 429, VK 6/9) pushes the bot's
 *   next slots back and the message goes again, nothing lost.
 * - At most once: a delivery is claimed (pending → sending, attempt + 1) right before the platform is called,
 *   and the claim re-checks that the campaign is running and the person is still subscribed and reachable.
 *   After a crash the rows left in `sending` are the only ones in doubt: VK ones are resent with the same
 *   random_id (VK drops the repeat: exactly once), Telegram ones become `uncertain` and are never resent.
 * - A person who blocked the bot (Telegram 403, VK 900–902) is marked blocked, with the delivery.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConnectorAlerts } from '../connectors/alerts.ts';
import { SendError, type PlatformSender } from '../connectors/platform.ts';
import type { SendLimiter } from '../connectors/rate-limit.ts';
import type { Button, OutboundMessage } from '../domain/types.ts';
import type { CampaignRow, DeliveryRef, OutreachStore } from '../store/outreach.store.ts';
import type { Queues } from '../workers/queues.ts';
import { checkCampaignText, plainForVk } from './campaign-text.ts';
import { BTN_UNSUBSCRIBE } from './citizen-texts.ts';

export interface BroadcastDeps {
  store: OutreachStore;
  /** The sender of a bot or community by its messenger source id. */
  sender: (source: string) => PlatformSender | undefined;
  limiter: SendLimiter;
  alerts: ConnectorAlerts;
  /** For the run lease. */
  redis: Redis;
  prefix: string;
  /** Base of the click-counting links (`PUBLIC_URL/r/<token>/<n>`). */
  publicUrl: string;
  log: Logger;
  /** How long a run's lease lasts without renewal: a killed runner's campaign is taken over after this. @defaultValue 30000 */
  leaseMs?: number;
  /** Messages per bot or community waiting for their slot or in flight. @defaultValue 8 */
  maxInFlight?: number;
  /** Tries of one delivery on temporary faults before it is `failed`. @defaultValue 5 */
  maxAttempts?: number;
  /** Pause of a lane after «authorization failed». @defaultValue 60000 */
  authRetryMs?: number;
  /** How long a platform outage (temporary faults in a row) is waited out before tries count again. @defaultValue 3600000 */
  outageRetryMs?: number;
  /** How often a run looks at its campaign's status (pause, cancel). @defaultValue 500 */
  statusPollMs?: number;
}

export interface RunResult {
  result: string;
  recipients?: number;
  sent?: number;
}

export interface Broadcaster {
  /** Works on one campaign until it is done, paused, cancelled, or the process stops. */
  run(campaignId: number): Promise<RunResult>;
  /** Stops every run of this process (shutdown); campaigns stay `running` and are taken up again later. */
  stop(): void;
}

/** The run job of a campaign: one job id per campaign, removed when finished so it can be added again. */
export async function kickCampaign(queues: Queues, campaignId: number, delayMs = 0): Promise<void> {
  await queues.get('broadcast').add(
    'broadcast',
    { campaignId },
    {
      jobId: `broadcast-${campaignId}`,
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 3,
      ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}),
    },
  );
}

/** For the sweeper: (re)adds the run job of every approved campaign whose time has come and every running one. */
export async function kickActiveCampaigns(store: OutreachStore, queues: Queues): Promise<number> {
  const ids = await store.activeCampaigns(new Date());
  for (const id of ids) await kickCampaign(queues, id);
  return ids.length;
}

/** «Отписаться» under every campaign and poll message (the bots unsubscribe at once on `unsub`). */
export const UNSUBSCRIBE_BUTTON: Button = { text: BTN_UNSUBSCRIBE, data: 'unsub' };

/** How long before its slot a delivery is claimed (pending → sending). */
const CLAIM_AHEAD_MS = 25;

const platformOf = (source: string) => (source.startsWith('vk:') ? 'vk' : 'telegram');

/** The message of a campaign for one recipient, per platform. */
export function campaignMessages(c: CampaignRow, publicUrl: string) {
  const checked = checkCampaignText(c.text, Boolean(c.photoUrl));
  const base = publicUrl.replace(/\/$/, '');
  const vkText = plainForVk(checked.tokens) + (c.photoUrl ? `\n\n${c.photoUrl}` : '');
  return (ref: Pick<DeliveryRef, 'sourceId' | 'chatId' | 'clickToken' | 'authorId'>): OutboundMessage => {
    const links: Button[] = c.buttons.map((b, i) => ({
      text: b.text,
      data: `link:${i}`,
      url: `${base}/r/${ref.clickToken}/${i}`,
    }));
    const vk = platformOf(ref.sourceId) === 'vk';
    let rows = links.map((l) => [l]);
    // VK's inline keyboard has at most 6 rows: links go two to a row when they would not fit.
    if (vk && rows.length > 5)
      rows = Array.from({ length: Math.ceil(links.length / 2) }, (_, i) => links.slice(2 * i, 2 * i + 2));
    return {
      source: ref.sourceId,
      chatId: ref.chatId,
      text: vk ? vkText : checked.html,
      ...(vk ? {} : { html: true, ...(c.photoUrl ? { photoUrl: c.photoUrl } : {}) }),
      buttons: [...rows, [UNSUBSCRIBE_BUTTON]],
      // VK's random_id comes from this key: a resend after a crash is dropped by VK as a repeat.
      idempotencyKey: `campaign:${c.id}:${ref.authorId}`,
    };
  };
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

interface Run {
  stopped: boolean;
  reason?: string;
  stop(reason: string): void;
  /** Runs again (the campaign was resumed while the run was winding down). */
  reset(): void;
  /** Sleeps `ms`, waking early when the run stops. */
  sleep(ms: number): Promise<void>;
}

function newRun(): Run {
  const wakers = new Set<() => void>();
  const run: Run = {
    stopped: false,
    stop(reason) {
      if (run.stopped) return;
      run.stopped = true;
      run.reason = reason;
      for (const w of [...wakers]) w();
    },
    reset() {
      run.stopped = false;
      run.reason = undefined;
    },
    sleep(ms) {
      if (run.stopped || ms <= 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(t);
          wakers.delete(done);
          resolve();
        };
        const t = setTimeout(done, ms);
        wakers.add(done);
      });
    },
  };
  return run;
}

export function createBroadcaster(deps: BroadcastDeps): Broadcaster {
  const { store, log } = deps;
  const leaseMs = deps.leaseMs ?? 30_000;
  const maxInFlight = deps.maxInFlight ?? 8;
  const maxAttempts = deps.maxAttempts ?? 5;
  const authRetryMs = deps.authRetryMs ?? 60_000;
  const outageRetryMs = deps.outageRetryMs ?? 3_600_000;
  const statusPollMs = deps.statusPollMs ?? 500;
  const runs = new Set<Run>();
  let closing = false;
  const leaseKey = (id: number) => `${deps.prefix}:broadcast:lease:${id}`;

  async function acquire(id: number, token: string): Promise<boolean> {
    // A runner killed a moment ago still holds the lease until it expires: wait that long at most.
    const until = Date.now() + leaseMs + 1000;
    for (;;) {
      if ((await deps.redis.set(leaseKey(id), token, 'PX', leaseMs, 'NX')) === 'OK') return true;
      if (Date.now() > until || closing) return false;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Sent rows are written in batches: one UPDATE per 100 ms or 200 rows instead of one per message. */
  function batcher() {
    let items: { id: number; externalId: string }[] = [];
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      const batch = items;
      items = [];
      flushing = flushing
        .then(() => store.markSentMany(batch))
        .catch((err: unknown) => {
          // The database is away (a restart): kept for the next tick, so they end `sent`, not `uncertain`.
          items.unshift(...batch);
          log.error({ err, rows: batch.length }, 'could not mark deliveries sent; will retry');
        });
      return flushing;
    };
    const timer = setInterval(() => void (items.length && flush()), 100);
    return {
      add(id: number, externalId: string) {
        items.push({ id, externalId });
        if (items.length >= 200) void flush();
      },
      /** Everything added so far is written. */
      drain: () => flush(),
      async close() {
        clearInterval(timer);
        await flush();
      },
    };
  }
  type Marks = ReturnType<typeof batcher>;

  interface Tally {
    sent: number;
    failed: number;
    blocked: number;
    skipped: number;
    uncertain: number;
    retried: number;
  }

  /** Sends the pending deliveries of one bot or community until none is left or the run stops. */
  async function lane(
    run: Run,
    c: CampaignRow,
    source: string,
    message: ReturnType<typeof campaignMessages>,
    tally: Tally,
    marks: Marks,
  ) {
    const sender = deps.sender(source);
    if (!sender) {
      const n = await store.failSource(c.id, source, `no connector is configured for source ${source}`);
      tally.failed += n;
      log.error({ campaignId: c.id, source, deliveries: n }, 'no sender for a campaign source');
      return;
    }
    const vk = platformOf(source) === 'vk';
    const queue: DeliveryRef[] = [];
    const later: { ref: DeliveryRef; at: number }[] = [];
    const inflight = new Set<Promise<void>>();
    let afterId = 0;
    let exhausted = false;
    let pauseUntil = 0;
    let alerted = false;
    let lastSend = -Infinity;
    /** Temporary faults in a row with no success in between: more than one means the platform is down. */
    let faultStreak = 0;
    let faultSince = 0;

    const next = async (): Promise<DeliveryRef | undefined> => {
      for (;;) {
        if (run.stopped) return undefined;
        const now = Date.now();
        const due = later.findIndex((l) => l.at <= now);
        if (due >= 0) return later.splice(due, 1)[0]!.ref;
        if (queue.length) return queue.shift();
        if (!exhausted) {
          const page = await store.pendingPage(c.id, source, afterId, 500);
          if (page.length) {
            afterId = page[page.length - 1]!.id;
            queue.push(...page);
            continue;
          }
          exhausted = true;
        }
        if (inflight.size) {
          await Promise.race(inflight);
          continue;
        }
        if (later.length) {
          await run.sleep(Math.min(...later.map((l) => l.at)) - now);
          continue;
        }
        return undefined;
      }
    };

    async function sendOne(ref: DeliveryRef) {
      let externalId: string;
      try {
        ({ externalId } = await sender!.send(message(ref)));
      } catch (err) {
        await failed(ref, err);
        return;
      }
      tally.sent++;
      faultStreak = 0;
      // Written in batches (every 100 ms): a crash before the write leaves the row `sending`, i.e. uncertain
      // for Telegram and resent with the same random_id for VK — never sent twice either way.
      marks.add(ref.id, externalId);
      if (alerted) {
        alerted = false;
        await deps.alerts.clear(source).catch(() => undefined);
      }
    }

    async function failed(ref: DeliveryRef, err: unknown) {
      const e =
        err instanceof SendError
          ? err
          : new SendError('temporary', err instanceof Error ? err.message : String(err), {
              cause: err,
              noAnswer: true,
            });
      const reason = `${e.kind}: ${e.message}`;
      switch (e.kind) {
        case 'rate_limited': {
          const ms = e.retryAfterMs ?? 1000;
          await deps.limiter.pushBack(source, ref.chatId, ms, true);
          await store.release(ref.id, reason);
          tally.retried++;
          queue.unshift(ref);
          log.warn({ source, retryAfterMs: ms, campaignId: c.id }, 'platform asked to slow down');
          return;
        }
        case 'auth':
          await store.release(ref.id, reason);
          queue.unshift(ref);
          pauseUntil = Date.now() + authRetryMs;
          alerted = true;
          await deps.alerts.raise(source, e.message);
          log.error({ source, err: e }, 'platform refused the token; the campaign waits for it');
          return;
        case 'rejected':
          if (e.recipientBlocked) {
            await store.markBlocked(ref.id, e.message);
            tally.blocked++;
          } else {
            await store.markFailed(ref.id, e.message);
            tally.failed++;
          }
          return;
        default:
          // No answer from Telegram: it may have delivered; with no idempotency key it is never resent.
          if (e.noAnswer && !vk) {
            await store.markUncertain(ref.id, reason);
            tally.uncertain++;
            return;
          }
          if (faultStreak++ === 0) faultSince = Date.now();
          if (faultStreak > 1 && Date.now() - faultSince < outageRetryMs) {
            // The platform is down (issue 9, «Faults»: a minute of 5xx used up every delivery's 5 tries and
            // failed them): the lane waits with a backoff growing to 30 s, and the try is given back.
            await store.release(ref.id, reason, true);
            ref.attempts--;
            tally.retried++;
            queue.unshift(ref);
            pauseUntil = Math.max(
              pauseUntil,
              Date.now() + Math.min(30_000, 500 * 2 ** Math.min(faultStreak, 6)),
            );
            return;
          }
          if (ref.attempts >= maxAttempts) {
            await store.markFailed(ref.id, `gave up after ${ref.attempts} tries: ${reason}`);
            tally.failed++;
            return;
          }
          await store.release(ref.id, reason);
          tally.retried++;
          later.push({ ref, at: Date.now() + Math.min(30_000, 1000 * 2 ** (ref.attempts - 1)) });
      }
    }

    /** One delivery: wait for its slot, claim it, send it. */
    async function deliver(ref: DeliveryRef, wait: number) {
      // Claimed a moment before the slot, so the database's latency is not in the way of the send.
      const slot = Date.now() + wait;
      if (wait > CLAIM_AHEAD_MS) await run.sleep(wait - CLAIM_AHEAD_MS);
      if (run.stopped) return; // not claimed: still pending
      const claimed = await store.claim(ref.id);
      if (claimed === null) {
        if ((await store.status(c.id)) !== 'running') run.stop('status');
        return;
      }
      if (claimed === 'skipped') tally.skipped++;
      if (claimed === 'blocked') tally.blocked++;
      if (claimed !== 'sending') return;
      ref.attempts++;
      // Not before the slot; and a late event loop or a slow claim may wake several sends at once, so they
      // are kept apart right before the call: lateness delays a message but never bunches messages into a
      // burst over the platform's rate.
      // (performance.now: whole-millisecond clocks would let 31 messages into a second at 34 ms spacing.)
      const gap = () => Math.max(slot - Date.now(), lastSend + sender!.limits.globalMs - performance.now());
      for (let g = gap(); g > 0; g = gap()) await new Promise((r) => setTimeout(r, Math.ceil(g)));
      lastSend = performance.now();
      await sendOne(ref);
    }

    for (;;) {
      if (pauseUntil > Date.now()) await run.sleep(pauseUntil - Date.now());
      while (inflight.size >= maxInFlight) await Promise.race(inflight);
      const ref = await next();
      if (!ref) break;
      // The slot is taken now and waited for by the task, while the next one is reserved: a busy event loop
      // never loses a slot. At most `maxInFlight` slots are held ahead; a reply takes the slot after them.
      const wait = await deps.limiter.reserve(sender.source, ref.chatId, sender.limits);
      const p: Promise<void> = deliver(ref, wait)
        .catch((err: unknown) => log.error({ err, deliveryId: ref.id }, 'delivery bookkeeping failed'))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.allSettled([...inflight]);
  }

  return {
    async run(id) {
      let c = await store.campaign(id);
      if (!c) return { result: 'no_campaign' };
      if (c.status === 'approved') {
        if (c.scheduledAt && c.scheduledAt.getTime() > Date.now()) return { result: 'not_due' };
        const recipients = await store.start(id);
        if (recipients !== null) log.info({ campaignId: id, recipients }, 'campaign started');
        c = (await store.campaign(id))!;
      }
      if (c.status !== 'running') return { result: `not_running_${c.status}` };
      if (closing) return { result: 'closing' };
      const token = randomBytes(12).toString('hex');
      if (!(await acquire(id, token))) return { result: 'busy' };
      const run = newRun();
      runs.add(run);
      if (closing) run.stop('shutdown');
      const tally: Tally = { sent: 0, failed: 0, blocked: 0, skipped: 0, uncertain: 0, retried: 0 };
      const marks = batcher();
      const poll = setInterval(() => {
        store
          .status(id)
          .then((s) => s !== 'running' && run.stop(`status ${s}`))
          .catch(() => undefined);
      }, statusPollMs);
      const renew = setInterval(
        () => {
          deps.redis
            .eval(RENEW, 1, leaseKey(id), token, String(leaseMs))
            .then((ok) => {
              if (Number(ok) !== 1) {
                log.error({ campaignId: id }, 'the run lease was lost; another runner takes over');
                run.stop('lease lost');
              }
            })
            .catch(() => undefined);
        },
        Math.max(200, Math.floor(leaseMs / 3)),
      );
      try {
        const recovered = await store.recoverSending(id);
        if (recovered.requeued || recovered.uncertain)
          log.warn({ campaignId: id, ...recovered }, 'deliveries interrupted mid-send were recovered');
        const message = campaignMessages(c, deps.publicUrl);
        for (;;) {
          while (!run.stopped) {
            const sources = await store.pendingSources(id);
            if (!sources.length) break;
            await Promise.all(sources.map((s) => lane(run, c, s, message, tally, marks)));
            await marks.drain(); // written before the next look at what is pending
          }
          // Paused and resumed while this run was winding down: carry on.
          if (!closing && run.reason?.startsWith('status') && (await store.status(id)) === 'running') {
            run.reset();
            continue;
          }
          break;
        }
        const done = !run.stopped && (await store.finishIfDone(id));
        log.info({ campaignId: id, ...tally, done, stopped: run.reason }, 'campaign run ended');
        return { result: done ? 'done' : (run.reason ?? 'incomplete'), sent: tally.sent };
      } finally {
        await marks.close();
        clearInterval(poll);
        clearInterval(renew);
        runs.delete(run);
        await deps.redis.eval(RELEASE, 1, leaseKey(id), token).catch(() => undefined);
      }
    },
    stop() {
      closing = true;
      for (const r of runs) r.stop('shutdown');
    },
  };
}
