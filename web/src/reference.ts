// Reference data (sectors, municipalities, agencies, statuses, channels) shared by all pages.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { STATUS_LABELS } from './format';
import type { Option, Reference } from './types';

export const EMPTY_REFERENCE: Reference = {
  sectors: [],
  municipalities: [],
  agencies: [],
  statuses: [],
  channels: [],
};

export class RefData {
  private sectorNames: Map<string, string>;
  private municipalityNames: Map<string, string>;
  private agencyNames: Map<string, string>;
  private statusLabels: Map<string, string>;
  private channelLabels: Map<string, string>;

  constructor(readonly data: Reference) {
    this.sectorNames = new Map(data.sectors.map((s) => [s.code, s.name]));
    this.municipalityNames = new Map(data.municipalities.map((m) => [m.code, m.shortName]));
    this.agencyNames = new Map(data.agencies.map((a) => [a.id, a.shortName]));
    this.statusLabels = new Map(data.statuses.map((s) => [s.code, s.label]));
    this.channelLabels = new Map(data.channels.map((c) => [c.code, c.label]));
  }

  sector(code: string | null | undefined): string {
    return code ? (this.sectorNames.get(code) ?? code) : '—';
  }
  municipality(code: string | null | undefined): string {
    return code ? (this.municipalityNames.get(code) ?? code) : '—';
  }
  agency(id: string | null | undefined): string {
    return id ? (this.agencyNames.get(id) ?? id) : '—';
  }
  status(code: string | null | undefined): string {
    return code ? (this.statusLabels.get(code) ?? STATUS_LABELS[code] ?? code) : '—';
  }
  channel(code: string | null | undefined): string {
    return code ? (this.channelLabels.get(code) ?? code) : '—';
  }
  /** Status options: from /reference, or the built-in list when it is empty. */
  statuses(): { code: string; label: string }[] {
    return this.data.statuses.length
      ? this.data.statuses
      : Object.entries(STATUS_LABELS).map(([code, label]) => ({ code, label }));
  }

  // The choices of the selects (value = code, label = name).
  sectorOptions(): Option[] {
    return this.data.sectors.map((s) => ({ value: s.code, label: s.name }));
  }
  municipalityOptions(): Option[] {
    return this.data.municipalities.map((m) => ({ value: m.code, label: m.shortName }));
  }
  channelOptions(): Option[] {
    return this.data.channels.map((c) => ({ value: c.code, label: c.label }));
  }
  statusOptions(): Option[] {
    return this.statuses().map((s) => ({ value: s.code, label: s.label }));
  }
  /** Agencies that may serve the sector and the municipality (when given); `keep` is listed whatever it is. */
  agencyOptions(scope: {
    sector?: string | null;
    municipality?: string | null;
    keep?: string | null;
  }): Option[] {
    const { sector, municipality, keep } = scope;
    return this.data.agencies
      .filter(
        (a) =>
          a.id === keep ||
          ((!sector || !a.sector || a.sector === sector) &&
            (!municipality || !a.municipality || a.municipality === municipality)),
      )
      .map((a) => ({ value: a.id, label: a.shortName }));
  }
}

export const RefContext = createContext<RefData>(new RefData(EMPTY_REFERENCE));

export function useReference(): RefData {
  return useContext(RefContext);
}

const CHANGED = 'otklik:reference-changed';

/** Settings were saved: the names and lists every page uses are loaded again. */
export function referenceChanged(): void {
  window.dispatchEvent(new Event(CHANGED));
}

export function onReferenceChanged(fn: () => void): () => void {
  window.addEventListener(CHANGED, fn);
  return () => window.removeEventListener(CHANGED, fn);
}
