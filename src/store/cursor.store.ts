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
  set(name: string, value: string): Promise<void>;
}

export function createCursorStore(database: Database): CursorStore {
  const { db } = database;
  const key = (name: string) => `cursor:${name}`;
  return {
    async get(name) {
      const [row] = await db
        .select()
        .from(s.settings)
        .where(eq(s.settings.key, key(name)));
      return typeof row?.value === 'string' ? row.value : undefined;
    },
    async set(name, value) {
      await db
        .insert(s.settings)
        .values({ key: key(name), value })
        .onConflictDoUpdate({ target: s.settings.key, set: { value } });
    },
  };
}
