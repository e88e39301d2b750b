/**
 * Connector alerts that every process can see: a send worker that meets «authorization failed» raises one,
 * /health shows it (whichever process serves /health), and the next success clears it.
 */
import type { Redis } from 'ioredis';

export interface ConnectorAlert {
  message: string;
  at: string;
}

export interface ConnectorAlerts {
  raise(source: string, message: string): Promise<void>;
  clear(source: string): Promise<void>;
  list(): Promise<Record<string, ConnectorAlert>>;
}

export function createConnectorAlerts(redis: Redis, prefix: string): ConnectorAlerts {
  const key = `${prefix}:connector-alerts`;
  return {
    async raise(source, message) {
      await redis.hset(key, source, JSON.stringify({ message, at: new Date().toISOString() }));
    },
    async clear(source) {
      await redis.hdel(key, source);
    },
    async list() {
      const all = await redis.hgetall(key);
      return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as ConnectorAlert]));
    },
  };
}
