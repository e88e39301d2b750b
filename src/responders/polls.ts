/**
 * Polls through the citizen bots: a draft (question, 2–10 options, an optional segment, channel, mode,
 * closing time) is submitted, approved, and then goes to every chat of its audience through the outbox and
 * the send queue (one poll_messages row and one outbox row per chat, both idempotent). Votes come back as
 * `vote:<poll>:<n>` buttons (Telegram and VK) or as Telegram poll answers (native mode); each citizen votes
 * once. At the closing time the repeatable `polls` job closes the poll: native polls are stopped, button
 * messages are edited to show the results. Russian texts for citizens are here.
 */
import type { Logger } from 'pino';
import type { DialogInput, PollVoter } from '../connectors/citizen-dialog.ts';
import { municipalityByCode } from '../domain/municipalities.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import type { Button } from '../domain/types.ts';
import type { CitizenStore } from '../store/citizen.store.ts';
import type { OutboundRow } from '../store/outbound.store.ts';
import {
  POLL_CHANNELS,
  POLL_MODES,
  type DeliveryCounts,
  type ParticipationStore,
  type PollChannel,
  type PollMode,
  type PollRow,
} from '../store/participation.store.ts';
import type { PollRef } from '../store/schema.ts';
import { jobId, type Queues } from '../workers/queues.ts';
import { UNSUBSCRIBE_BUTTON } from './broadcast.ts';
import { formatDateTime } from './format.ts';

export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 10;
/** Telegram's limits for native polls (question 300, option 100 characters); buttons keep to them too. */
export const MAX_QUESTION = 300;
export const MAX_OPTION = 100;

export interface PollDraft {
  question: string;
  options: string[];
  segmentId?: number | null;
  channel: PollChannel;
  mode: PollMode;
  closesAt: Date;
}

export interface PollResults {
  pollId: number;
  status: string;
  closesAt: Date;
  total: number;
  options: { option: number; text: string; votes: number; share: number }[];
  /** One row per municipality of the voters at vote time (`null`: not stated), most votes first. */
  byMunicipality: { municipality: string | null; name: string; total: number; votes: number[] }[];
  delivery: DeliveryCounts;
}

export interface PollsDeps {
  store: ParticipationStore;
  citizens: CitizenStore;
  queues: Queues;
  log: Logger;
}

export interface Polls extends PollVoter {
  create(draft: PollDraft, actor: string): Promise<PollRow>;
  /** Edits a draft (a poll waiting for approval goes back to draft). */
  update(id: number, patch: Partial<PollDraft>, actor: string): Promise<PollRow>;
  submit(id: number, actor: string): Promise<PollRow>;
  /** Opens the poll and queues its messages to the audience; nothing is sent before this. */
  approve(id: number, actor: string): Promise<{ poll: PollRow; recipients: number; queued: number }>;
  /** Closes an open poll early (or cancels a draft); the same as reaching the closing time. */
  close(id: number, actor: string): Promise<PollRow>;
  get(id: number): Promise<PollRow>;
  list: ParticipationStore['listPolls'];
  results(id: number): Promise<PollResults>;
  /** How many subscribers a poll with this segment and channel would reach now. */
  audience(segmentId: number | null, channel: PollChannel): Promise<number>;
  /** An outbox row of a poll was sent: record its platform ids. */
  onSent(row: OutboundRow, sent: { externalId: string; pollId?: string }): Promise<void>;
  /** The repeatable check: closes polls whose time has come and re-queues outbox work a crash left undone. */
  tick(now?: Date): Promise<{ closed: number; queued: number }>;
}

// ---- texts citizens read ----------------------------------------------------------------------------

const until = (d: Date) => formatDateTime(d);

export function pollText(p: Pick<PollRow, 'question' | 'options' | 'closesAt'>): string {
  const lines = p.options.map((o, i) => `${i + 1}. ${o}`);
  return [
    '📊 Опрос',
    '',
    p.question,
    '',
    ...lines,
    '',
    `Выберите один вариант кнопкой ниже. Проголосовать можно один раз; голосование открыто до ${until(p.closesAt)}.`,
  ].join('\n');
}

export function resultsText(p: Pick<PollRow, 'question' | 'options'>, r: PollResults): string {
  const lines = r.options.map(
    (o) => `${o.option + 1}. ${o.text} — ${o.votes} (${Math.round(o.share * 100)} %)`,
  );
  return [
    '📊 Опрос завершён',
    '',
    p.question,
    '',
    `Итоги (голосов: ${r.total}):`,
    ...lines,
    '',
    'Спасибо всем, кто принял участие!',
  ].join('\n');
}

export const VOTE_COUNTED = (option: string, closesAt: Date) =>
  `Спасибо! Ваш голос учтён: «${option}». Итоги появятся в сообщении с опросом после завершения голосования (${until(closesAt)}).`;
export const VOTE_DUPLICATE = (option: string) =>
  `Ваш голос уже учтён: «${option}». Проголосовать можно только один раз — изменить или отозвать голос нельзя.`;
export const VOTE_CLOSED = 'Голосование завершено — голоса больше не принимаются. Спасибо за интерес!';
export const POLL_UNAVAILABLE = 'Этот опрос недоступен.';

// ---- rules ------------------------------------------------------------------------------------------

function checkDraft(d: PollDraft, now = new Date()): PollDraft {
  const question = d.question.trim();
  if (!question) throw new ValidationError('question', 'is empty');
  if (question.length > MAX_QUESTION) throw new ValidationError('question', `is longer than ${MAX_QUESTION}`);
  const options = d.options.map((o) => o.trim());
  if (options.length < MIN_OPTIONS || options.length > MAX_OPTIONS)
    throw new ValidationError('options', `a poll has ${MIN_OPTIONS} to ${MAX_OPTIONS} options`);
  options.forEach((o, i) => {
    if (!o) throw new ValidationError(`options.${i}`, 'is empty');
    if (o.length > MAX_OPTION) throw new ValidationError(`options.${i}`, `is longer than ${MAX_OPTION}`);
  });
  if (new Set(options.map((o) => o.toLowerCase())).size !== options.length)
    throw new ValidationError('options', 'options repeat');
  if (!(POLL_CHANNELS as readonly string[]).includes(d.channel))
    throw new ValidationError('channel', `is one of ${POLL_CHANNELS.join(', ')}`);
  if (!(POLL_MODES as readonly string[]).includes(d.mode))
    throw new ValidationError('mode', `is one of ${POLL_MODES.join(', ')}`);
  if (Number.isNaN(d.closesAt.getTime()) || d.closesAt <= now)
    throw new ValidationError('closesAt', 'is not in the future', { code: 'POLL_CLOSES_IN_PAST' });
  return { ...d, question, options };
}

/**
 * The vote buttons, one option a row, and «Отписаться» (the campaigns' button, the same `unsub` callback):
 * the subscription text promises it under every broadcast. VK shows an inline keyboard of at most 6 rows
 * (a longer one becomes a keyboard of at most 10 rows), so «Отписаться» has a row of its own while that
 * fits and otherwise shares the last option's row.
 */
export function pollButtons(p: Pick<PollRow, 'id' | 'options'>): Button[][] {
  const rows: Button[][] = p.options.map((o, i) => [{ text: o, data: `vote:${p.id}:${i}` }]);
  if (rows.length < 6) return [...rows, [UNSUBSCRIBE_BUTTON]];
  rows[rows.length - 1] = [...rows[rows.length - 1]!, UNSUBSCRIBE_BUTTON];
  return rows;
}

const nativeOf = (p: Pick<PollRow, 'question' | 'options'>, stop = false): PollRef => ({
  kind: 'poll',
  question: p.question,
  options: p.options,
  ...(stop ? { stop: true } : {}),
});

export function createPolls(deps: PollsDeps): Polls {
  const { store } = deps;

  async function get(id: number): Promise<PollRow> {
    const p = await store.poll(id);
    if (!p) throw new NotFoundError('poll', String(id));
    return p;
  }

  /** Send jobs for new outbox rows, in bulk (a large audience); Redis down: the sweeper enqueues them. */
  async function enqueue(ids: number[]): Promise<void> {
    const q = deps.queues.get('send');
    for (let i = 0; i < ids.length; i += 500)
      await q
        .addBulk(
          ids.slice(i, i + 500).map((outboundId) => ({
            name: 'send',
            data: { outboundId },
            opts: { jobId: jobId('send', { outboundId }) },
          })),
        )
        .catch((err: unknown) => deps.log.warn({ err }, 'send jobs not queued; the sweeper will'));
  }

  async function rulesOf(p: Pick<PollRow, 'segmentId'>) {
    if (p.segmentId == null) return null;
    const rules = await store.segmentRules(p.segmentId);
    if (!rules) throw new ValidationError('segmentId', `segment ${p.segmentId} does not exist`);
    return rules;
  }

  async function queueMessages(p: PollRow): Promise<number> {
    const ids = await store.queuePollMessages(p.id, {
      text: pollText(p),
      buttons: pollButtons(p),
      ...(p.mode === 'native' ? { native: nativeOf(p), nativeButtons: [[UNSUBSCRIBE_BUTTON]] } : {}),
    });
    await enqueue(ids);
    return ids.length;
  }

  async function results(id: number): Promise<PollResults> {
    const p = await get(id);
    const [rows, delivery] = await Promise.all([store.votesBy(id), store.delivery(id)]);
    const total = rows.reduce((s, r) => s + r.n, 0);
    const counts = p.options.map(() => 0);
    const byMuni = new Map<string, { municipality: string | null; votes: number[] }>();
    for (const r of rows) {
      if (r.option < 0 || r.option >= counts.length) continue;
      counts[r.option]! += r.n;
      const k = r.municipality ?? '';
      const m = byMuni.get(k) ?? { municipality: r.municipality, votes: p.options.map(() => 0) };
      m.votes[r.option]! += r.n;
      byMuni.set(k, m);
    }
    return {
      pollId: p.id,
      status: p.status,
      closesAt: p.closesAt,
      total,
      options: p.options.map((text, option) => ({
        option,
        text,
        votes: counts[option]!,
        share: total ? counts[option]! / total : 0,
      })),
      byMunicipality: [...byMuni.values()]
        .map((m) => ({
          municipality: m.municipality,
          name: m.municipality
            ? (municipalityByCode(m.municipality)?.shortName ?? m.municipality)
            : 'Не указан',
          total: m.votes.reduce((a, b) => a + b, 0),
          votes: m.votes,
        }))
        .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name, 'ru')),
      delivery,
    };
  }

  /** Close-time edits of the sent messages: Telegram native polls are stopped, the rest show the results. */
  async function queueCloseEdits(p: PollRow): Promise<number> {
    const r = await results(p.id);
    const ids = await store.queueCloseEdits(p.id, {
      text: resultsText(p, r),
      // The vote buttons go; «Отписаться» stays under the results.
      buttons: [[UNSUBSCRIBE_BUTTON]],
      ...(p.mode === 'native' ? { native: nativeOf(p, true) } : {}),
    });
    await enqueue(ids);
    return ids.length;
  }

  async function closeOpen(p: PollRow, now: Date): Promise<PollRow | undefined> {
    const closed = await store.updatePoll(p.id, ['open'], { status: 'closed', closedAt: now });
    if (!closed) return undefined;
    await store.cancelPendingSends(p.id);
    await queueCloseEdits(closed);
    deps.log.info({ pollId: p.id }, 'poll closed');
    return closed;
  }

  async function voteOf(input: DialogInput): Promise<{ poll: PollRow; option: number } | string[]> {
    if (input.pollAnswer) {
      const pm = await store.pollMessageByPlatformPoll(input.pollAnswer.pollId);
      if (!pm) return []; // not a poll of ours (or its record was lost): nothing to say
      const poll = await store.poll(pm.pollId);
      if (!poll) return [];
      return { poll, option: input.pollAnswer.optionIds[0] ?? -1 };
    }
    const m = /^vote:(\d+):(\d+)$/.exec(input.button ?? '');
    const poll = m ? await store.poll(Number(m[1])) : undefined;
    if (!m || !poll) return [POLL_UNAVAILABLE];
    return { poll, option: Number(m[2]) };
  }

  /** A checked draft (its segment must exist) as the columns of a poll in `draft`. */
  async function draftColumns(draft: PollDraft, createdBy: string) {
    const d = checkDraft(draft);
    if (d.segmentId != null) await rulesOf({ segmentId: d.segmentId });
    return {
      question: d.question,
      options: d.options,
      segmentId: d.segmentId ?? null,
      channel: d.channel,
      mode: d.mode,
      closesAt: d.closesAt,
      status: 'draft',
      createdBy,
    };
  }

  return {
    get,
    results,
    list: (f) => store.listPolls(f),

    async create(draft, actor) {
      return store.createPoll(await draftColumns(draft, actor));
    },

    async update(id, patch, actor) {
      const p = await get(id);
      if (p.status !== 'draft' && p.status !== 'pending_approval')
        throw new ConflictError(`poll ${id} is ${p.status}; only drafts are edited`, {
          code: 'POLL_NOT_DRAFT',
        });
      const columns = await draftColumns(
        {
          question: patch.question ?? p.question,
          options: patch.options ?? p.options,
          segmentId: patch.segmentId === undefined ? p.segmentId : patch.segmentId,
          channel: patch.channel ?? (p.channel as PollChannel),
          mode: patch.mode ?? (p.mode as PollMode),
          closesAt: patch.closesAt ?? p.closesAt,
        },
        p.createdBy ?? actor,
      );
      const row = await store.updatePoll(id, ['draft', 'pending_approval'], columns);
      if (!row) throw new ConflictError(`poll ${id} changed meanwhile`, { code: 'POLL_NOT_DRAFT' });
      return row;
    },

    async submit(id) {
      const p = await get(id);
      checkDraft({ ...p, channel: p.channel as PollChannel, mode: p.mode as PollMode });
      const row = await store.updatePoll(id, ['draft'], { status: 'pending_approval' });
      if (!row)
        throw new ConflictError(`poll ${id} is ${p.status}; only a draft is submitted`, {
          code: 'POLL_NOT_DRAFT',
        });
      return row;
    },

    async approve(id, actor) {
      const p = await get(id);
      if (p.status !== 'pending_approval')
        throw new ConflictError(`poll ${id} is ${p.status}; only a poll waiting for approval is approved`, {
          code: 'POLL_NOT_PENDING',
        });
      checkDraft({ ...p, channel: p.channel as PollChannel, mode: p.mode as PollMode });
      const rules = await rulesOf(p);
      const now = new Date();
      const poll = await store.updatePoll(id, ['pending_approval'], {
        status: 'open',
        approvedBy: actor,
        approvedAt: now,
      });
      if (!poll) throw new ConflictError(`poll ${id} changed meanwhile`, { code: 'POLL_NOT_PENDING' });
      const recipients = await store.addPollRecipients(id, rules, poll.channel as PollChannel);
      const queued = await queueMessages(poll);
      deps.log.info({ pollId: id, recipients, queued }, 'poll approved and queued');
      return { poll, recipients, queued };
    },

    async close(id) {
      const p = await get(id);
      if (p.status === 'open') return (await closeOpen(p, new Date())) ?? get(id);
      if (p.status === 'draft' || p.status === 'pending_approval') {
        const row = await store.updatePoll(id, ['draft', 'pending_approval'], {
          status: 'cancelled',
          closedAt: new Date(),
        });
        if (row) return row;
      }
      throw new ConflictError(`poll ${id} is already ${p.status}`, { code: 'POLL_CLOSED' });
    },

    async audience(segmentId, channel) {
      return store.audienceCount(await rulesOf({ segmentId }), channel);
    },

    async onSent(row, sent) {
      const m = /^poll:(\d+):(\d+)$/.exec(row.idempotencyKey);
      if (m) await store.markPollMessageSent(Number(m[2]), sent.externalId, sent.pollId);
    },

    async tick(now = new Date()) {
      let closed = 0;
      let queued = 0;
      for (const id of await store.duePolls(now)) {
        const p = await store.poll(id);
        if (p && (await closeOpen(p, now))) closed++;
      }
      // Work a crash may have left between the state change and the outbox (both writes are idempotent),
      // for polls approved or closed within the hour.
      for (const p of await store.recentPolls(new Date(now.getTime() - 3_600_000))) {
        if (p.status === 'open') queued += await queueMessages(p);
        else queued += await queueCloseEdits(p);
      }
      return { closed, queued };
    },

    async vote(input) {
      const found = await voteOf(input);
      if (Array.isArray(found)) return found;
      const { poll, option } = found;
      const author = await deps.citizens.author(input.platform, input.user.id);
      if (!author) return [];
      const native = Boolean(input.pollAnswer);
      if (option < 0 || option >= poll.options.length) {
        // A native answer withdrawn (no options): the first vote stands.
        if (!native) return [POLL_UNAVAILABLE];
        const had = await store.voteOf(poll.id, author.id);
        return had === undefined ? [] : [VOTE_DUPLICATE(poll.options[had] ?? '')];
      }
      if (poll.status === 'draft' || poll.status === 'pending_approval' || poll.status === 'cancelled')
        return [POLL_UNAVAILABLE];
      const r = await store.vote(poll.id, author.id, option, author.municipality);
      switch (r.kind) {
        case 'counted':
          deps.log.debug({ pollId: poll.id, option }, 'vote counted');
          // Telegram shows a native vote in the poll itself; a button press gets a confirmation.
          return native ? [] : [VOTE_COUNTED(poll.options[option]!, poll.closesAt)];
        case 'duplicate':
          return [VOTE_DUPLICATE(poll.options[r.option] ?? '')];
        case 'closed':
          return [VOTE_CLOSED];
        default:
          return [POLL_UNAVAILABLE];
      }
    },
  };
}
