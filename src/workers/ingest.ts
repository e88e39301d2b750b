/**
 * Ingest: every inbound message (HTTP, connectors, import, demo) goes through here. Concurrent calls are
 * gathered into one multi-row INSERT (up to `batchMax` messages or `batchWaitMs`), committed, and only
 * then acknowledged and enqueued. An enqueue failure (Redis down) does not fail the caller: the message
 * is stored and the sweeper enqueues it later.
 */
import type { Logger } from 'pino';
import { ValidationError } from '../domain/errors.ts';
import { unstorable } from '../domain/storable.ts';
import type { InboundMessage } from '../domain/types.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { ReferenceStore } from '../store/reference.store.ts';
import type { Metrics } from './metrics.ts';
import type { Queues } from './queues.ts';

export interface IngestResult {
  id: number;
  created: boolean;
}

export interface Ingestor {
  ingest(msg: InboundMessage): Promise<IngestResult>;
  /** Waits for everything pending to be written. */
  flush(): Promise<void>;
}

export interface IngestorOptions {
  messages: MessageStore;
  reference: ReferenceStore;
  queues: Queues;
  log: Logger;
  metrics: Metrics;
  /** @defaultValue 200 */
  batchMax?: number;
  /** @defaultValue 5 */
  batchWaitMs?: number;
}

interface Pending {
  msg: InboundMessage;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

export function createIngestor(opts: IngestorOptions): Ingestor {
  const batchMax = opts.batchMax ?? 200;
  const batchWaitMs = opts.batchWaitMs ?? 5;
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  function schedule() {
    if (pending.length >= batchMax) {
      clearTimeout(timer);
      timer = undefined;
      run();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        run();
      }, batchWaitMs);
    }
  }

  function run() {
    while (pending.length) {
      const batch = pending.slice(0, batchMax);
      pending = pending.slice(batchMax);
      const p = write(batch).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }

  async function write(batch: Pending[]) {
    let ref;
    try {
      ref = await opts.reference.get();
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const ok: Pending[] = [];
    for (const p of batch) {
      if (ref.sources.has(p.msg.source)) ok.push(p);
      else
        p.reject(
          new ValidationError(
            'source',
            `unknown source "${p.msg.source}"; known: ${[...ref.sources.keys()].join(', ')}`,
          ),
        );
    }
    if (!ok.length) return;
    let results: IngestResult[];
    try {
      results = await opts.messages.insertBatch(
        ok.map((p) => p.msg),
        (source) => ref.sources.get(source)?.platform ?? source,
      );
    } catch (err) {
      for (const p of ok) p.reject(err);
      return;
    }
    // Committed: acknowledge now, enqueue after (ordering of ARCHITECTURE.md, "data that must never be lost").
    ok.forEach((p, i) => {
      const r = results[i]!;
      opts.metrics.messagesIn.inc({ source: p.msg.source, result: r.created ? 'created' : 'duplicate' });
      p.resolve(r);
    });
    const created = results.filter((r) => r.created).map((r) => r.id);
    if (created.length) {
      try {
        await opts.queues.add('analyze', { messageIds: created });
      } catch (err) {
        opts.log.warn(
          { err, count: created.length },
          'enqueue failed; the sweeper will pick these messages up',
        );
      }
    }
  }

  return {
    ingest(msg) {
      // A message PostgreSQL cannot store (a NUL, a lone surrogate, an invalid date — from a connector or a
      // file row) would fail the multi-row INSERT of its whole batch, other callers' messages with it:
      // it is refused alone, before it joins a batch (issue 9, «Hostile input»).
      if (!(msg.postedAt instanceof Date) || Number.isNaN(msg.postedAt.getTime()))
        return Promise.reject(new ValidationError('postedAt', 'is not a valid date'));
      const bad = unstorable(msg);
      if (bad) return Promise.reject(new ValidationError(bad.field, bad.reason));
      return new Promise<IngestResult>((resolve, reject) => {
        pending.push({ msg, resolve, reject });
        schedule();
      });
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      run();
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}
