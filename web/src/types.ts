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
  /** Either deadline missed (a first response not given in time, or the resolution). */
  overdue: boolean;
  firstResponseOverdue?: boolean;
  resolutionOverdue?: boolean;
  firstRespondedAt?: string | null;
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
  /** Not overridable «despite remarks»: rude words or an unfilled slot. */
  blocking?: boolean;
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

/** Rules of an audience segment (every given rule must hold). */
export interface SegmentRules {
  municipalities?: string[];
  topics?: string[];
  platforms?: ('telegram' | 'vk')[];
  languages?: string[];
}

/** Subscribers a segment selects now (POST /segments/count, GET /segments/:id/count). */
export interface AudienceCount {
  total: number;
  telegram: number;
  vk: number;
}

export interface SegmentItem {
  id: number;
  name: string;
  rules: SegmentRules;
  createdBy: string | null;
  count: AudienceCount;
}

export interface CampaignStats {
  recipients: number;
  pending: number;
  sending: number;
  sent: number;
  failed: number;
  blocked: number;
  skipped: number;
  uncertain: number;
  clicked: number;
  clicks: number;
  clickRate: number | null;
}

/** A campaign (GET /campaigns, /campaigns/:id). */
export interface CampaignItem {
  id: number;
  title: string;
  text: string;
  photoUrl: string | null;
  buttons: { text: string; url: string }[];
  segmentId: number;
  segmentName: string | null;
  channel: 'telegram' | 'vk' | 'all';
  scheduledAt: string | null;
  status: string;
  statusLabel: string;
  createdBy: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  stats: CampaignStats | null;
  audience: number | null;
}

/** A poll (GET /polls, /polls/:id). */
export interface PollItem {
  id: number;
  question: string;
  options: string[];
  segmentId: number | null;
  channel: 'telegram' | 'vk' | 'all';
  mode: 'buttons' | 'native';
  status: 'draft' | 'pending_approval' | 'open' | 'closed' | 'cancelled';
  closesAt: string;
  createdBy: string | null;
  approvedBy: string | null;
  approvedAt: string | null;
  closedAt: string | null;
  createdAt: string;
  recipients?: number;
  votes?: number;
}

/** GET /polls/:id/results: votes by option and by the voters' municipality, delivery of the messages. */
export interface PollResults {
  pollId: number;
  status: string;
  closesAt: string;
  total: number;
  options: { option: number; text: string; votes: number; share: number }[];
  byMunicipality: { municipality: string | null; name: string; total: number; votes: number[] }[];
  delivery: { recipients: number; sent: number; failed: number; pending: number };
}

/** A public discussion (GET /discussions, /discussions/:id). */
export interface DiscussionItem {
  id: number;
  title: string;
  text: string;
  sourceId: string;
  chatId: string;
  postExternalId: string | null;
  status: 'draft' | 'open' | 'closed';
  createdBy: string | null;
  approvedBy: string | null;
  publishedAt: string | null;
  closedAt: string | null;
  createdAt: string;
  comments?: number;
}

/** GET /discussions/:id/summary. */
export interface DiscussionSummary {
  discussionId: number;
  status: string;
  total: number;
  bySector: { sector: string; name: string; count: number }[];
  bySentiment: { sentiment: string; name: string; count: number }[];
  proposals: {
    count: number;
    terms: string[];
    example: { id: number; text: string };
    messageIds: number[];
  }[];
  appeals: number;
  comments: {
    id: number;
    text: string;
    postedAt: string;
    url: string | null;
    authorName: string | null;
    state: string;
    sector: string | null;
    sentiment: string | null;
    incidentId: number | null;
    routed: boolean;
  }[];
}
