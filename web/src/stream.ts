// Live updates: one EventSource on /api/v1/stream for the whole app; pages subscribe to `incident`
// events (and the alerts page to `alert` events). EventSource reconnects by itself after network errors; when the server closed the stream
// for good (readyState CLOSED, e.g. an error status), we reopen it after a pause.
import { useEffect, useRef } from 'preact/hooks';
import { API } from './api';

export interface IncidentEvent {
  id: number;
  status?: string;
  updatedAt?: string;
}

type Listener = (e: IncidentEvent) => void;

const listeners = new Set<Listener>();
const alertListeners = new Set<() => void>();
let source: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;
let running = false;

function open(): void {
  if (!running || typeof EventSource === 'undefined') return;
  const es = new EventSource(`${API}/stream`, { withCredentials: true });
  source = es;
  es.addEventListener('incident', (ev) => {
    let data: IncidentEvent;
    try {
      data = JSON.parse((ev as MessageEvent<string>).data) as IncidentEvent;
    } catch {
      return;
    }
    for (const l of listeners) l(data);
  });
  es.addEventListener('alert', () => {
    for (const l of alertListeners) l();
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && running) {
      es.close();
      source = null;
      if (!retry) retry = setTimeout(() => ((retry = null), open()), 5000);
    }
  };
}

export function startStream(): void {
  if (running) return;
  running = true;
  open();
}

export function stopStream(): void {
  running = false;
  if (retry) clearTimeout(retry);
  retry = null;
  source?.close();
  source = null;
}

/** Calls `fn` (debounced by `delayMs`) after incident events that pass `filter`. */
export function useIncidentStream(
  fn: () => void,
  filter?: (e: IncidentEvent) => boolean,
  delayMs = 500,
): void {
  const fnRef = useRef(fn);
  const filterRef = useRef(filter);
  fnRef.current = fn;
  filterRef.current = filter;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const l: Listener = (e) => {
      if (filterRef.current && !filterRef.current(e)) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fnRef.current();
      }, delayMs);
    };
    listeners.add(l);
    return () => {
      listeners.delete(l);
      if (timer) clearTimeout(timer);
    };
  }, [delayMs]);
}

/** Calls `fn` (debounced by `delayMs`) after a conflict alert was raised or acknowledged. */
export function useAlertStream(fn: () => void, delayMs = 500): void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const l = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fnRef.current();
      }, delayMs);
    };
    alertListeners.add(l);
    return () => {
      alertListeners.delete(l);
      if (timer) clearTimeout(timer);
    };
  }, [delayMs]);
}
