import { describe, expect, it } from 'vitest';
import {
  checkDraft,
  fillSlots,
  pickTemplate,
  similarApprovedReplies,
  type ApprovedReply,
  type DraftCheck,
} from './draft-engine.ts';
import {
  DEFAULT_REPLY_TEMPLATES,
  DRAFT_KINDS,
  type DraftKind,
  type ReplyTemplate,
} from './reply-templates.ts';

const SLOTS = {
  number: '№ 000123',
  agency: 'Министерство транспорта Алтайского края',
  object: 'ул. Ленина, 5',
  municipality: 'Бийск',
  deadline: '5 декабря 2026 г.',
  date: '10 декабря 2026 г.',
  result: 'Выполнен ямочный ремонт дорожного покрытия.',
  question: 'Уточните, пожалуйста, номер подъезда и этаж.',
  newAgency: 'Администрация города Бийска',
};
const CTX = { address: 'ул. Ленина, 5', municipalityName: 'Бийск' };
const NO_PLACE = { address: null, municipalityName: null };

const check = (checks: DraftCheck[], name: DraftCheck['name']) => {
  const c = checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name}`);
  return c;
};
const failed = (checks: DraftCheck[]) => checks.filter((c) => !c.ok);

const REQUIRED: Record<DraftKind, string[]> = {
  acknowledgement: ['{number}', '{agency}', '{deadline}'],
  in_progress: ['{number}', '{date}'],
  resolved: ['{number}', '{result}'],
  redirect: ['{number}', '{newAgency}'],
  details_request: ['{number}', '{question}'],
};
const ID_PREFIX: Record<DraftKind, string> = {
  acknowledgement: 'ack',
  in_progress: 'progress',
  resolved: 'resolved',
  redirect: 'redirect',
  details_request: 'details',
};

describe('DEFAULT_REPLY_TEMPLATES', () => {
  it('has a common template for every kind', () => {
    for (const kind of DRAFT_KINDS) {
      expect(
        DEFAULT_REPLY_TEMPLATES.some((t) => t.kind === kind && t.sector === null),
        kind,
      ).toBe(true);
    }
  });

  it('has acknowledgement and resolved for the frequent sectors, in_progress for several', () => {
    const frequent = [
      'housing',
      'waste',
      'roads',
      'amenities',
      'energy',
      'transport',
      'health',
      'education',
      'social',
    ];
    for (const sector of frequent) {
      for (const kind of ['acknowledgement', 'resolved'] as const) {
        expect(pickTemplate(DEFAULT_REPLY_TEMPLATES, kind, sector)?.sector, `${kind}/${sector}`).toBe(sector);
      }
    }
    const inProgress = DEFAULT_REPLY_TEMPLATES.filter((t) => t.kind === 'in_progress' && t.sector !== null);
    expect(inProgress.length).toBeGreaterThanOrEqual(4);
  });

  it('has unique ids of the form <kind>-<sector|common>, one template per kind and sector', () => {
    const ids = DEFAULT_REPLY_TEMPLATES.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    const pairs = DEFAULT_REPLY_TEMPLATES.map((t) => `${t.kind}/${t.sector}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const t of DEFAULT_REPLY_TEMPLATES) {
      expect(t.id).toBe(`${ID_PREFIX[t.kind]}-${t.sector ?? 'common'}`);
    }
  });

  it.each(DEFAULT_REPLY_TEMPLATES.map((t) => [t.id, t] as const))(
    '%s uses the slots its kind needs and only known slots',
    (_id, t: ReplyTemplate) => {
      for (const slot of REQUIRED[t.kind]) expect(t.text).toContain(slot);
      expect(t.text).toContain('{object}');
      for (const m of t.text.matchAll(/\{(\w+)\}/g)) expect(Object.keys(SLOTS)).toContain(m[1]);
      expect(t.text.startsWith('Здравствуйте!')).toBe(true);
      expect(t.text).not.toMatch(/ {2}|\s$|\n\n/);
    },
  );

  it.each(DEFAULT_REPLY_TEMPLATES.map((t) => [t.id, t] as const))(
    '%s passes every check when filled with realistic slots',
    (_id, t: ReplyTemplate) => {
      const { text, missing } = fillSlots(t.text, SLOTS);
      expect(missing).toEqual([]);
      expect(text).not.toMatch(/\.\.|\s[.,]/);
      expect(failed(checkDraft(text, CTX))).toEqual([]);
      expect(failed(checkDraft(text, { ...CTX, address: 'Улица Лёнина, дом 5' }))).toEqual([]);
    },
  );

  it.each(DEFAULT_REPLY_TEMPLATES.map((t) => [t.id, t] as const))(
    '%s still reads whole when the citizen gave no address',
    (_id, t: ReplyTemplate) => {
      const { text, missing } = fillSlots(t.text, { ...SLOTS, object: null });
      expect(missing).toEqual([]);
      expect(text).not.toContain('{object}');
      expect(text).not.toMatch(/:\s*\./);
      for (const slot of REQUIRED[t.kind]) {
        expect(text).toContain(SLOTS[slot.slice(1, -1) as keyof typeof SLOTS]);
      }
      const checks = checkDraft(text, NO_PLACE);
      expect(failed(checks)).toEqual([]);
      expect(check(checks, 'object_mentioned').detail).toBe('адрес не указан гражданином');
    },
  );

  it('a town given as the object satisfies the municipality check', () => {
    const t = pickTemplate(DEFAULT_REPLY_TEMPLATES, 'acknowledgement', 'housing') as ReplyTemplate;
    const { text } = fillSlots(t.text, { ...SLOTS, object: 'Бийск' });
    expect(check(checkDraft(text, { address: null, municipalityName: 'Бийск' }), 'object_mentioned').ok).toBe(
      true,
    );
  });
});

describe('pickTemplate', () => {
  const templates: ReplyTemplate[] = [
    { id: 'ack-common', kind: 'acknowledgement', sector: null, text: 'common ack' },
    { id: 'ack-roads', kind: 'acknowledgement', sector: 'roads', text: 'roads ack' },
    { id: 'resolved-common', kind: 'resolved', sector: null, text: 'common resolved' },
  ];

  it('prefers the sector’s own template even when the common one comes first', () => {
    expect(pickTemplate(templates, 'acknowledgement', 'roads')?.id).toBe('ack-roads');
  });

  it('falls back to the common template of the same kind', () => {
    expect(pickTemplate(templates, 'acknowledgement', 'housing')?.id).toBe('ack-common');
    expect(pickTemplate(templates, 'resolved', 'roads')?.id).toBe('resolved-common');
  });

  it('never returns a template of another kind', () => {
    expect(pickTemplate(templates, 'redirect', 'roads')).toBeUndefined();
  });

  it('finds defaults for every kind and sector, including ones without their own templates', () => {
    for (const kind of DRAFT_KINDS) {
      for (const sector of ['labour', 'other', 'roads']) {
        expect(pickTemplate(DEFAULT_REPLY_TEMPLATES, kind, sector)?.kind).toBe(kind);
      }
    }
    expect(pickTemplate(DEFAULT_REPLY_TEMPLATES, 'acknowledgement', 'labour')?.id).toBe('ack-common');
  });
});

describe('fillSlots', () => {
  it('fills every slot, however often it occurs', () => {
    expect(fillSlots('{a} и {b}, снова {a}', { a: 'один', b: 'два' })).toEqual({
      text: 'один и два, снова один',
      missing: [],
    });
  });

  it('keeps a missing, null or blank slot as is and reports it once', () => {
    const r = fillSlots('Номер {number}. Срок {deadline}. Ещё раз {number}. {agency}', {
      deadline: null,
      agency: '  ',
    });
    expect(r.text).toBe('Номер {number}. Срок {deadline}. Ещё раз {number}. {agency}');
    expect(r.missing).toEqual(['number', 'deadline', 'agency']);
  });

  it('does not double the full stop after a value that ends a sentence itself', () => {
    expect(
      fillSlots('Ответ не позднее {deadline}. Результат: {result}.', {
        deadline: '5 декабря 2026 г.',
        result: 'Яма заделана',
      }).text,
    ).toBe('Ответ не позднее 5 декабря 2026 г. Результат: Яма заделана.');
  });

  it('does not re-expand braces inside a value', () => {
    expect(fillSlots('Результат: {result}', { result: 'текст {number}' })).toEqual({
      text: 'Результат: текст {number}',
      missing: [],
    });
  });

  it('drops the sentence with {object} when there is no address, and does not count it missing', () => {
    const tpl = 'Здравствуйте! Обращение {number} принято. Место: {object}. Ответ не позднее {deadline}.';
    for (const object of [null, undefined, '', '   ']) {
      const r = fillSlots(tpl, { number: '№ 000001', deadline: '5 декабря 2026 г.', object });
      expect(r).toEqual({
        text: 'Здравствуйте! Обращение № 000001 принято. Ответ не позднее 5 декабря 2026 г.',
        missing: [],
      });
    }
  });

  it('drops an {object} sentence at the end or before a line break cleanly', () => {
    expect(fillSlots('Принято. Адрес: {object}.', {}).text).toBe('Принято.');
    expect(fillSlots('Принято.\nАдрес: {object}.\nСпасибо!', {}).text).toBe('Принято.\nСпасибо!');
  });

  it('keeps the {object} sentence when the address is known', () => {
    expect(fillSlots('Принято. Адрес: {object}. Спасибо!', { object: 'ул. Ленина, 5' }).text).toBe(
      'Принято. Адрес: ул. Ленина, 5. Спасибо!',
    );
  });

  it('still reports other missing slots when the object sentence is dropped', () => {
    const r = fillSlots('Место: {object}. Ответственный исполнитель — {agency}.', { object: null });
    expect(r.text).toBe('Ответственный исполнитель — {agency}.');
    expect(r.missing).toEqual(['agency']);
  });
});

describe('checkDraft', () => {
  const POLITE =
    'Здравствуйте! Благодарим за обращение № 000123. Место, указанное в обращении: ул. Ленина, 5. ' +
    'Ответ будет дан не позднее 5 декабря 2026 г.';

  it('returns the four checks in a fixed order', () => {
    expect(checkDraft(POLITE, CTX).map((c) => c.name)).toEqual([
      'slots_filled',
      'polite',
      'object_mentioned',
      'promise_has_date',
    ]);
    expect(failed(checkDraft(POLITE, CTX))).toEqual([]);
  });

  describe('slots_filled', () => {
    it('lists the slots left in the text', () => {
      const c = check(
        checkDraft('Обращение {number} передано. Срок — {deadline}.', NO_PLACE),
        'slots_filled',
      );
      expect(c.ok).toBe(false);
      expect(c.detail).toContain('{number}');
      expect(c.detail).toContain('{deadline}');
    });
  });

  describe('polite', () => {
    it.each([
      ['мат', 'Да нахуй нам ваша яма, сами засыпайте.'],
      ['мат, другая форма', 'Заебали уже со своими жалобами.'],
      ['ругательство', 'Ну что за бля, опять вы.'],
      ['оскорбление', 'Только идиот будет писать такое в ЦУР.'],
      ['оскорбление во множественном числе', 'Вы дебилы, что ли? Читайте правила.'],
      ['грубость', 'Какая тупая жалоба.'],
      ['пренебрежение', 'Это не ваше дело, как мы тратим бюджет.'],
      ['отсылка', 'Обращайтесь куда хотите, мы этим не занимаемся.'],
      ['обвинение', 'Сами виноваты, надо было платить вовремя.'],
      ['отмахивание', 'Нас это не касается, это ваши проблемы.'],
      ['крик', 'ЗДРАВСТВУЙТЕ ВАША ЗАЯВКА ПРИНЯТА НЕ ПИШИТЕ НАМ.'],
      ['восклицания', 'Ваше обращение принято!!! Ждите ответа!!!'],
    ])('fails rude text (%s)', (_what, text) => {
      const c = check(checkDraft(text, NO_PLACE), 'polite');
      expect(c.ok).toBe(false);
      expect(c.detail).toMatch(/^найдено: /);
    });

    it('blocks approval on rude words only; capitals, exclamations and the model score are remarks', () => {
      expect(
        check(checkDraft('Сами виноваты, надо было платить вовремя.', NO_PLACE), 'polite').blocking,
      ).toBe(true);
      expect(
        check(checkDraft('Ваше обращение принято!!! Ждите ответа!!!', NO_PLACE), 'polite').blocking,
      ).toBeUndefined();
      expect(
        check(checkDraft('ЗДРАВСТВУЙТЕ ВАША ЗАЯВКА ПРИНЯТА НЕ ПИШИТЕ НАМ.', NO_PLACE), 'polite').blocking,
      ).toBeUndefined();
      expect(check(checkDraft(POLITE, { ...CTX, toxicScore: 0.73 }), 'polite').blocking).toBeUndefined();
      expect(check(checkDraft('Работы завершат до {deadline}.', NO_PLACE), 'slots_filled').blocking).toBe(
        true,
      );
    });

    it('says what it found', () => {
      const c = check(checkDraft('Сами виноваты. Нечего жаловаться!!', NO_PLACE), 'polite');
      expect(c.detail).toContain('«Сами виноваты»');
      expect(c.detail).toContain('«Нечего жаловаться»');
      expect(c.detail).toContain('восклицательных');
    });

    it.each([
      POLITE,
      'Здравствуйте! Обращение по ЖКХ и ТКО передано в МУП «ЖЭУ № 5» и ООО «УК Центр». Спасибо!',
      'Просим застраховать имущество: застрахуйте его до 1 декабря 2026 г.',
      'Требуется замена трубы; ремонт требует отключения воды. Тупик на ул. Мира, 3 расчищен.',
      'Сук дерева над дорогой спилен. Ухудшение покрытия зафиксировано, пострадавших нет.',
      'Похудеть не мешает ремонт, а бляха на двери подъезда заменена. Страна благодарит вас!',
      'Здравствуйте! Оплатить услуги можно в ПАО «Сбербанк» или через «Госуслуги».',
    ])('passes polite text: %s', (text) => {
      expect(check(checkDraft(text, NO_PLACE), 'polite')).toEqual({ name: 'polite', ok: true });
    });

    it('fails a toxic score of 0.5 or more, passes below', () => {
      expect(check(checkDraft(POLITE, { ...CTX, toxicScore: 0.73 }), 'polite')).toMatchObject({
        ok: false,
        detail: expect.stringContaining('0.73'),
      });
      expect(check(checkDraft(POLITE, { ...CTX, toxicScore: 0.5 }), 'polite').ok).toBe(false);
      expect(check(checkDraft(POLITE, { ...CTX, toxicScore: 0.49 }), 'polite').ok).toBe(true);
    });
  });

  describe('object_mentioned', () => {
    const objectOk = (text: string, address: string | null, municipalityName: string | null = null) =>
      check(checkDraft(text, { address, municipalityName }), 'object_mentioned').ok;

    it.each([
      ['ул. Ленина, 5', 'Адрес: ул. Ленина, 5.'],
      ['ул. Ленина, 5', 'Адрес: улица Ленина, дом 5.'],
      ['Улица ЛЕНИНА, д.5', 'Адрес: ул.Ленина,5.'],
      ['Ленина ул., 5', 'Работы на улице Ленина, 5 завершены.'],
      ['ул. Лёни Голикова, 12', 'Адрес: ул. Лени Голикова, д. 12.'],
      ['г. Барнаул, ул. Ленина, 5а, кв. 12', 'Адрес: ул. Ленина, 5 А.'],
      ['ул. Ленина, 5-а', 'Адрес: Ленина, 5а.'],
      ['пр. Ленина, 5', 'Адрес: проспект Ленина, 5.'],
    ])('address %s is found in «%s»', (address, text) => {
      expect(objectOk(text, address)).toBe(true);
    });

    it.each([
      ['ул. Ленина, 5', 'Адрес: ул. Ленина, 15.'],
      ['ул. Ленина, 5', 'Адрес: ул. Ленина, 5а.'],
      ['ул. Ленина, 5', 'Адрес: ул. Ленина, 7.'],
      ['ул. Ленина, 5', 'Адрес: пр. Ленина, 5.'],
      ['ул. Ленина, 5', 'Адрес: ул. Мира, 5.'],
      ['ул. Ленина, 5', 'Обращение зарегистрировано.'],
    ])('address %s is not found in «%s»', (address, text) => {
      const c = check(checkDraft(text, { address, municipalityName: 'Бийск' }), 'object_mentioned');
      expect(c.ok).toBe(false);
      expect(c.detail).toContain(address);
    });

    it('checks the municipality, in any case form, when only it is known', () => {
      expect(objectOk('Работы в Бийске завершены.', null, 'Бийск')).toBe(true);
      expect(objectOk('Работы в Барнауле завершены.', null, 'г. Барнаул')).toBe(true);
      expect(objectOk('Работы в Бийском районе завершены.', null, 'Бийский район')).toBe(true);
      expect(objectOk('Работы в селе Яровом завершены.', null, 'Яровое')).toBe(true);
      expect(objectOk('Работы в Барнауле завершены.', null, 'Бийск')).toBe(false);
      expect(objectOk('Работы в Бийске завершены.', null, 'Бийский район')).toBe(false);
    });

    it('is ok with a note when neither address nor municipality is known', () => {
      expect(check(checkDraft('Обращение зарегистрировано.', NO_PLACE), 'object_mentioned')).toEqual({
        name: 'object_mentioned',
        ok: true,
        detail: 'адрес не указан гражданином',
      });
      expect(
        check(checkDraft('Текст.', { address: '  ', municipalityName: '' }), 'object_mentioned').ok,
      ).toBe(true);
    });
  });

  describe('promise_has_date', () => {
    const promise = (text: string) => check(checkDraft(text, NO_PLACE), 'promise_has_date');

    it.each([
      'Ремонт будет выполнен в ближайшее время.',
      'Мусор вывезем в кратчайшие сроки.',
      'Яму отремонтируем.',
      'Работы запланированы.',
      'Планируется замена труб.',
      'Подрядчик устранит недостатки, работы будут проведены.',
      'Специалисты проверят ситуацию и примут решение.',
      'Ответ будет дан. Спасибо за обращение.',
    ])('fails an undated promise: %s', (text) => {
      const c = promise(text);
      expect(c.ok).toBe(false);
      expect(c.detail).toMatch(/^обещание без срока: «/);
    });

    it('quotes the promise', () => {
      expect(promise('Здравствуйте! Ремонт будет выполнен в ближайшее время.').detail).toContain(
        '«в ближайшее время»',
      );
    });

    it.each([
      'Ремонт будет выполнен до 05.12.2026.',
      'Ремонт будет выполнен 5 декабря.',
      'Ремонт будет выполнен до 5 декабря 2026 г.',
      'Мусор вывезем в течение 3 дней.',
      'Мусор вывезем в течение трех рабочих дней.',
      'Работы запланированы на 10 декабря 2026 г.',
      'Работы запланированы в мае 2027 года.',
      'Работы запланированы. Срок — до 15 июня 2027 г.',
      'В ближайшее время, не позднее 1 декабря, яму засыплют.',
      'Ремонт выполнен. Благодарим за обращение.',
      'Если проблема повторится, пожалуйста, сообщите нам.',
    ])('passes a dated promise or no promise: %s', (text) => {
      expect(promise(text)).toEqual({ name: 'promise_has_date', ok: true });
    });

    it('wants the date near the promise, not anywhere in the text', () => {
      const c = promise(
        'Ответ будет дан не позднее 5 декабря 2026 г. Благодарим за обращение. Яму засыплем в ближайшее время.',
      );
      expect(c.ok).toBe(false);
      expect(c.detail).toContain('ближайшее время');
    });
  });
});

describe('similarApprovedReplies', () => {
  const reply = (draftId: number, terms: string[], over: Partial<ApprovedReply> = {}): ApprovedReply => ({
    draftId,
    incidentId: 100 + draftId,
    kind: 'resolved',
    sector: 'roads',
    text: `Ответ ${draftId}`,
    terms,
    ...over,
  });
  const TERMS = ['яма', 'дорог', 'ремонт', 'асфальт'];

  it('ranks by Jaccard of terms, rounds to 2 decimals and carries ids and text', () => {
    const out = similarApprovedReplies(TERMS, 'resolved', 'roads', [
      reply(1, ['яма', 'дорог', 'ремонт']), // 3/4 + 0.1
      reply(2, ['яма', 'дорог', 'ремонт', 'асфальт']), // 1 + 0.1 → capped at 1
      reply(3, ['яма', 'двор', 'снег']), // 1/6 + 0.1
    ]);
    expect(out).toEqual([
      { draftId: 2, incidentId: 102, text: 'Ответ 2', similarity: 1 },
      { draftId: 1, incidentId: 101, text: 'Ответ 1', similarity: 0.85 },
      { draftId: 3, incidentId: 103, text: 'Ответ 3', similarity: 0.27 },
    ]);
  });

  it('suggests replies of the same kind only', () => {
    const out = similarApprovedReplies(TERMS, 'resolved', 'roads', [
      reply(1, TERMS, { kind: 'acknowledgement' }),
      reply(2, ['яма', 'дорог']),
    ]);
    expect(out.map((s) => s.draftId)).toEqual([2]);
  });

  it('prefers the same sector by a small bonus', () => {
    const out = similarApprovedReplies(TERMS, 'resolved', 'roads', [
      reply(1, ['яма', 'дорог', 'ремонт'], { sector: 'amenities' }), // 0.75
      reply(2, ['яма', 'дорог', 'ремонт', 'бордюр']), // 3/5 + 0.1 = 0.7
      reply(3, ['яма', 'дорог', 'двор'], { sector: 'amenities' }), // 2/5 = 0.4
      reply(4, ['яма', 'дорог', 'двор']), // 0.4 + 0.1 = 0.5
    ]);
    expect(out.map((s) => [s.draftId, s.similarity])).toEqual([
      [1, 0.75],
      [2, 0.7],
      [4, 0.5],
    ]);
  });

  it('needs a Jaccard of at least 0.15 without the bonus', () => {
    const six = ['яма', 'дорог', 'ремонт', 'асфальт', 'лужа', 'бордюр'];
    const out = similarApprovedReplies(six, 'resolved', 'roads', [
      reply(1, ['яма', 'снег', 'двор', 'крыша']), // 1/9 ≈ 0.11 + 0.1 → still out
      reply(2, ['яма', 'снег'], { sector: 'housing' }), // 1/7 ≈ 0.14 → out
      reply(3, ['яма', 'снег', 'двор', 'крыша', 'лужа']), // 2/9 ≈ 0.22 → in
      reply(4, []),
    ]);
    expect(out.map((s) => s.draftId)).toEqual([3]);
    expect(similarApprovedReplies([], 'resolved', 'roads', [reply(1, [])])).toEqual([]);
  });

  it('returns the best k (3 by default), newer drafts first on a tie', () => {
    const approved = [1, 2, 3, 4, 5].map((id) => reply(id, ['яма', 'дорог'], { text: `Текст ${id}` }));
    expect(similarApprovedReplies(TERMS, 'resolved', 'roads', approved).map((s) => s.draftId)).toEqual([
      5, 4, 3,
    ]);
    expect(similarApprovedReplies(TERMS, 'resolved', 'roads', approved, 2).map((s) => s.draftId)).toEqual([
      5, 4,
    ]);
    expect(similarApprovedReplies(TERMS, 'resolved', 'roads', approved, 0)).toEqual([]);
  });

  it('suggests the same approved text once', () => {
    const out = similarApprovedReplies(TERMS, 'resolved', 'roads', [
      reply(1, ['яма', 'дорог', 'ремонт'], { text: 'Яма заделана.' }),
      reply(2, ['яма', 'дорог'], { text: 'Яма  заделана. ' }),
      reply(3, ['яма', 'дорог'], { text: 'Другой ответ.' }),
    ]);
    expect(out.map((s) => s.draftId)).toEqual([1, 3]);
  });
});
