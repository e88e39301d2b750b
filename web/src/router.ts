// A tiny hash router: `#/incidents`, `#/incidents/123`, `#/incidents?sector=roads&offset=50`.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Path segments, e.g. ['incidents', '123']. */
  parts: string[];
  query: URLSearchParams;
}

const CHANGE = 'otklik:route';

export function parseHash(hash: string = location.hash): Route {
  const raw = hash.replace(/^#/, '');
  const [path = '', qs = ''] = raw.split('?', 2);
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(qs) };
}

/** Go to `to` (e.g. '#/incidents/5'). `replace` keeps the history entry (filters, pagination). */
export function navigate(to: string, replace = false): void {
  const target = to.startsWith('#') ? to : `#${to}`;
  if (target === location.hash) return;
  if (replace) {
    history.replaceState(history.state, '', target);
    window.dispatchEvent(new Event(CHANGE));
  } else {
    location.hash = target;
  }
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    window.addEventListener('hashchange', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('hashchange', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return parseHash(hash);
}

export function href(
  path: string,
  query: Record<string, string | number | boolean | undefined> = {},
): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== '' && v !== false) qs.set(k, String(v));
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

// The last inbox address (with its filters), for the «back to the list» link of the incident page.
let lastList = '#/incidents';
export function rememberList(hash: string): void {
  lastList = hash || '#/incidents';
}
export function listHash(): string {
  return lastList;
}
