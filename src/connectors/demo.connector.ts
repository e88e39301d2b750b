/**
 * The demo region: with no bot tokens, a steady trickle of realistic sample appeals flows in from the
 * `demo` source, so a newcomer sees incidents appear within a minute of `npm start`. Some messages are
 * repeats from other residents (they group into one incident), some are comments under earlier ones.
 */
import type { Logger } from 'pino';
import type { Connector, ConnectorStatus, IngestFn } from './connector.ts';
import { DEMO_PLACES, DEMO_TEMPLATES } from './demo.samples.ts';

export interface DemoConnectorOptions {
  ingest: IngestFn;
  /** Mean pause between messages. @defaultValue 4000 */
  intervalMs?: number;
  log: Logger;
  /** Random source, replaceable for tests. @defaultValue Math.random */
  random?: () => number;
}

export type { Connector };

const FIRST_NAMES = [
  'Анна',
  'Сергей',
  'Ольга',
  'Иван',
  'Татьяна',
  'Дмитрий',
  'Елена',
  'Николай',
  'Мария',
  'Алексей',
];

export function createDemoConnector(opts: DemoConnectorOptions): Connector {
  const random = opts.random ?? Math.random;
  const interval = opts.intervalMs ?? 4000;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  let lastError: string | undefined;
  const recent: { externalId: string; template: number; place: number }[] = [];
  const runId = Date.now().toString(36);

  function next() {
    // A third of the time, another resident writes about a recent problem (same text family, same place).
    const repeat = recent.length > 0 && random() < 0.33 ? pick(recent) : undefined;
    const template = repeat?.template ?? Math.floor(random() * DEMO_TEMPLATES.length);
    const place = repeat?.place ?? Math.floor(random() * DEMO_PLACES.length);
    const t = DEMO_TEMPLATES[template]!;
    const p = DEMO_PLACES[place]!;
    const text = pick(t.texts)
      .replaceAll('{город}', p.city)
      .replaceAll('{где}', p.where)
      .replaceAll('{улица}', pick(p.streets));
    const externalId = `${runId}-${++sent}`;
    const asComment = repeat && random() < 0.3;
    recent.push({ externalId, template, place });
    if (recent.length > 20) recent.shift();
    return {
      source: 'demo',
      externalId,
      text,
      author: { id: `demo-${Math.floor(random() * 5000)}`, name: pick(FIRST_NAMES) },
      postedAt: new Date(),
      parentExternalId: asComment ? repeat.externalId : undefined,
    };
  }

  function tick() {
    const msg = next();
    opts
      .ingest(msg)
      .then(() => (lastError = undefined))
      .catch((err: unknown) => {
        lastError = (err as Error).message;
        opts.log.warn({ err }, 'demo message was not accepted');
      });
    timer = setTimeout(tick, interval * (0.5 + random()));
    timer.unref();
  }

  return {
    name: 'demo',
    async start() {
      opts.log.info({ intervalMs: interval }, 'demo region: sample appeals will flow in (no bot tokens set)');
      timer = setTimeout(tick, 500);
      timer.unref();
    },
    async stop() {
      clearTimeout(timer);
    },
    status(): ConnectorStatus {
      return {
        name: 'demo',
        ok: lastError === undefined,
        detail: lastError ?? `${sent} sample messages sent`,
      };
    },
  };
}
