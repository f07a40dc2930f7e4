/**
 * The manifest `npm run capture-frames` writes beside each client's captured frames
 * (test/fixtures/frames/<client>/manifest.json) and the golden-frame tests read.
 */

/** A record as the client was asked to produce it. */
export interface ProducedRecord {
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

/** One captured frame: its file and how it was routed. */
export interface FrameEntry {
  file: string;
  direction: 'request' | 'response';
  apiKey: number;
  apiName: string;
  apiVersion: number;
  correlationId: number;
  bytes: number;
}

export interface FrameManifest {
  client: string;
  software: string;
  capturedAt: string;
  /** The broker the gateway forwarded to; Metadata responses carry it before the address rewrite. */
  broker: { nodeId: number; host: string; port: number; kafkaVersion: string };
  /** Every client id the client's requests may carry, and the one its Produce requests carry. */
  clientIds: string[];
  producerClientId: string;
  topic: { name: string; topicId: string | null; partitions: number };
  groupId: string | null;
  produced: ProducedRecord[];
  consumed: number;
  frames: FrameEntry[];
}
