/**
 * What PostgreSQL cannot store, found before it is written (issue 9, «Hostile input»): a NUL character
 * (`text` and `jsonb` both refuse it) and a lone UTF-16 surrogate (`jsonb` refuses its escape, `text` would
 * silently turn it into U+FFFD), anywhere in a value, keys included; and nesting deeper than any payload of
 * the platforms (a deep value would otherwise overflow the recursion of JSON.stringify on its way to a
 * `jsonb` column). Checked by the API's JSON parser and by the ingest path, so one bad value is a 400 for
 * its own request, not a failed INSERT that takes the whole batch of other callers' messages down with it.
 */

/** Deeper than any Telegram update or VK event (≈ 10 levels); a body nested deeper is refused. */
export const MAX_DEPTH = 64;

// eslint-disable-next-line no-control-regex
const BAD_CHAR = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A copy of a JSON-like value that PostgreSQL can store: NUL characters and lone surrogates (in keys too)
 * become U+FFFD. For keeping what could not be handled (a set-aside update), not for citizens' data.
 */
export function storableCopy(value: unknown, depth = 0): unknown {
  const fix = (s: string) => s.replace(new RegExp(BAD_CHAR.source, 'g'), '\uFFFD');
  if (typeof value === 'string') return fix(value);
  if (value === null || typeof value !== 'object') return value ?? null;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.map((v) => storableCopy(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [fix(k), storableCopy(v, depth + 1)]),
  );
}

export interface Unstorable {
  /** Where, as `a.b[2].c` (empty: the value itself). */
  field: string;
  reason: string;
}

/** The first problem of `value`, or undefined. Iterative: a deep value cannot overflow the stack here. */
export function unstorable(value: unknown, maxDepth = MAX_DEPTH): Unstorable | undefined {
  const stack: [unknown, number, string][] = [[value, 0, '']];
  while (stack.length) {
    const [v, depth, at] = stack.pop()!;
    if (typeof v === 'string') {
      if (BAD_CHAR.test(v))
        return { field: at.slice(0, 200), reason: 'contains a NUL character or a lone UTF-16 surrogate' };
      continue;
    }
    if (v === null || typeof v !== 'object' || v instanceof Date) continue;
    if (depth >= maxDepth)
      return {
        field: at.slice(0, 200),
        reason: `is nested deeper than ${maxDepth} levels`,
      };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1, `${at}[${i}]`]);
      continue;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (BAD_CHAR.test(k))
        return {
          field: at.slice(0, 200),
          reason: 'has a key with a NUL character or a lone UTF-16 surrogate',
        };
      stack.push([x, depth + 1, at ? `${at}.${k}` : k]);
    }
  }
  return undefined;
}
