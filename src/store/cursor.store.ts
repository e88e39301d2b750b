/**
 * Positions in a platform's stream of updates that must survive a restart (the VK Bots Long Poll `ts`), kept
 * in `settings` under `cursor:<name>`. Issue 9, «Faults»: the `ts` lived in memory only, so the events a
 * community received while the connectors' process was down were skipped by the next start.
 */
import { eq } from 'drizzle-orm';
import type { Database } from './db.ts';
import * as s from './schema.ts';

export interface CursorStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, position: string): Promise<void>;
}

export function createCursorStore(database: Database): CursorStore {
  const { db } = database;
  const key = (name: string) => `cursor:${name}`;
  return {
    // Wrapped in an object: a bare JSON string such as "279" comes back from the jsonb column as the number 279.
    async get(name) {
      const [row] = await db
        .select()
        .from(s.settings)
        .where(eq(s.settings.key, key(name)));
      const position = (row?.value as { position?: unknown } | undefined)?.position;
      return typeof position === 'string' ? position : undefined;
    },
    async set(name, position) {
      const value = { position };
      await db
        .insert(s.settings)
        .values({ key: key(name), value })
        .onConflictDoUpdate({ target: s.settings.key, set: { value } });
    },
  };
}
