/**
 * Tokens not given in the environment are generated once and kept in DATA_DIR/secrets.json (mode 600),
 * never in the repository, so `npm start` works on a fresh machine and the tokens survive restarts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface Tokens {
  ingest: string;
  api: string;
  /** Installation secret behind the Telegram webhook secret tokens. */
  telegramWebhook: string;
  generated: string[];
}

export function resolveTokens(
  dataDir: string,
  given: { ingest?: string; api?: string; telegramWebhook?: string },
): Tokens {
  const file = path.join(dataDir, 'secrets.json');
  let stored: Record<string, string> = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  const generated: string[] = [];
  const pick = (name: 'INGEST_TOKEN' | 'API_TOKEN' | 'TELEGRAM_WEBHOOK_SECRET', v?: string) => {
    if (v) return v;
    if (!stored[name]) {
      stored[name] = randomBytes(24).toString('base64url');
      generated.push(name);
    }
    return stored[name]!;
  };
  const tokens = {
    ingest: pick('INGEST_TOKEN', given.ingest),
    api: pick('API_TOKEN', given.api),
    telegramWebhook: pick('TELEGRAM_WEBHOOK_SECRET', given.telegramWebhook),
    generated,
  };
  if (generated.length) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return tokens;
}

/** Stores one more generated secret in DATA_DIR/secrets.json (mode 600), keeping the others. */
export function storeSecret(dataDir: string, name: string, value: string): void {
  const file = path.join(dataDir, 'secrets.json');
  const stored = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  stored[name] = value;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
}
