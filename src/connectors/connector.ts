/**
 * The connector contract: a connector turns platform payloads into `InboundMessage`s and hands them to
 * `ingest`; it reports its state for /health. Nothing platform-specific leaks past src/connectors/.
 */
import type { InboundMessage } from '../domain/types.ts';

export interface ConnectorStatus {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface Connector {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ConnectorStatus;
}

/** What a connector receives from the app: the one way into the platform. */
export type IngestFn = (msg: InboundMessage) => Promise<{ id: number; created: boolean }>;
