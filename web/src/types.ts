// Shapes of the /api/v1 JSON the workspace reads. Fields the contract marks optional, or that older
// server builds name differently, are optional here so that the UI degrades instead of crashing.

export interface Grant {
  role: string;
  sector: string | null;
  agencyId: string | null;
  municipality: string | null;
}

export interface User {
  id: number | string;
  login: string;
  name: string;
  roles: string[];
  grants: Grant[];
}

export interface AuthResponse {
  user: User;
  csrfToken: string;
}

/** One choice of a `<Select>`. */
export interface Option {
  value: string;
  label: string;
}

export interface Reference {
  sectors: { code: string; name: string }[];
  municipalities: { code: string; shortName: string }[];
  agencies: { id: string; shortName: string; sector: string | null; municipality: string | null }[];
  statuses: { code: string; label: string }[];
  channels: { code: string; label: string }[];
}

export interface IncidentItem {
  id: number;
  number: string;
  status: string;
  statusLabel: string;
  sector: string;
  sectorName: string;
  municipality: string | null;
  municipalityName: string | null;
  agencyId: string | null;
  agencyName: string | null;
  summary: string | null;
  address: string | null;
  channelKind: string;
  messageCount?: number;
  messagesCount?: number;
  authorCount?: number;
  authorsCount?: number;
  negativeCount?: number;
  firstResponseDue: string | null;
  resolutionDue: string | null;
  overdue: boolean;
  paused?: boolean;
  createdAt: string;
  updatedAt?: string;
}

export interface IncidentEvent {
  id?: number;
  type: string;
  fromStatus?: string | null;
  toStatus?: string | null;
  from?: string | null;
  to?: string | null;
  actor: string | null;
  data: unknown;
  at: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string | null;
}

export interface Suggestion {
  draftId: number;
  incidentId: number;
  text: string;
  similarity: number;
}

export interface Draft {
  id: number;
  incidentId?: number;
  kind: string;
  status: string;
  text: string;
  originalText?: string;
  checks: Check[];
  failedChecks?: string[];
  suggestions?: Suggestion[];
  requiresSecondApproval?: boolean;
  approvals?: { actor: string; at: string }[];
  sector?: string;
  createdAt?: string;
}

export interface Analysis {
  sector: string | null;
  sectorScore: number | null;
  sentiment: string | null;
  toxicScore: number | null;
  municipality: string | null;
  address: string | null;
  needsReview: boolean;
  corrected?: boolean | string[];
}

export interface Message {
  id: number;
  text: string;
  author: string | null;
  source: string;
  channelKind?: string;
  postedAt: string;
  url: string | null;
  analysis: Analysis | null;
}

export interface IncidentDetail extends IncidentItem {
  events?: IncidentEvent[];
  drafts?: Draft[];
  messages?: Message[];
  result?: string | null;
  sensitive?: boolean;
}

export interface Page<T> {
  total: number;
  items: T[];
}

/** GET /analytics/map: one municipality of the problem map. */
export interface MapItem {
  code: string;
  name: string;
  shortName: string;
  kind: string;
  population: number;
  incidents: number;
  overdue: number;
  value: number | null;
}

export interface MapResponse {
  measure: 'per10k' | 'overdue_share';
  definition: string;
  from: string;
  to: string;
  min: number | null;
  max: number | null;
  unassigned: { incidents: number; overdue: number };
  items: MapItem[];
}

/** GET /analytics/top-problems: a recurring problem (the same object or subject). */
export interface TopProblem {
  key: string;
  title: string;
  kind: 'object' | 'subject';
  sector: string | null;
  sectorName?: string | null;
  municipality: string | null;
  municipalityName?: string | null;
  incidents: number;
  messages: number;
  previous: number;
  trend: 'up' | 'down' | 'flat' | 'new';
  weekly: { week: string; incidents: number }[];
  incidentIds: number[];
}

export interface TopProblemsResponse {
  from: string;
  to: string;
  previous: { from: string; to: string };
  items: TopProblem[];
}

/** A conflict alert (GET /alerts). */
export interface AlertItem {
  id: number;
  kind: string;
  kindLabel: string;
  severity: 'warning' | 'critical' | string;
  sector: string | null;
  municipality: string | null;
  municipalityName: string | null;
  incidentId: number | null;
  text: string;
  details: Record<string, unknown>;
  createdAt: string;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
}
