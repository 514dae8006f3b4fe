/**
 * Immutable objects: layers, block maps and snapshot records. Two implementations share one
 * conformance suite: a directory inside the repository (the embedded default) and any
 * S3-compatible service.
 */
import { InvalidArgumentError } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
  /** When the object was written, epoch ms (gc's grace period counts from it). */
  modifiedAt: number;
}

export interface ObjectStore {
  /** Where the objects live, for messages. Never contains credentials. */
  readonly description: string;
  /** Stores bytes under key. Objects are immutable: putting an existing key is a no-op. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Stores the file at `path` under key, consuming the file (it may be moved, not copied). */
  putFile(key: string, path: string): Promise<void>;
  /**
   * Stores a byte stream under key without holding it in memory. The object appears whole or not
   * at all. When the key exists already, the source may be left unread. `sizeHint`, when known,
   * lets a store pick its upload granularity.
   */
  putStream(key: string, source: AsyncIterable<Uint8Array>, sizeHint?: number): Promise<void>;
  /** Throws NotFoundError('object', key) when missing. */
  get(key: string): Promise<Buffer>;
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Streams the whole object in pieces, so large layers are never held in memory. */
  getStream(key: string): AsyncIterable<Buffer>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Objects whose keys start with prefix, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

const KEY = /^[a-z]+(\/[A-Za-z0-9_.-]+)+$/;

/** Object keys come from ids we computed, but are checked anyway so no key can leave the store's root. */
export function validateObjectKey(key: string): string {
  if (typeof key !== 'string' || key.length > 512 || !KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new InvalidArgumentError(`invalid object key ${JSON.stringify(key)}`);
  }
  return key;
}

export const objectKeys = {
  layer: (id: string) => `layers/${id}`,
  blockMap: (id: string) => `blockmaps/${id}`,
  snapshot: (id: string) => `snapshots/${id}`,
};

export type ObjectKind = keyof typeof objectKeys;

/** Splits a key produced by `objectKeys` back into kind and id; null for anything else. */
export function parseObjectKey(key: string): { kind: ObjectKind; id: string } | null {
  const m = /^(layers|blockmaps|snapshots)\/([0-9a-f]{64})$/.exec(key);
  if (!m) return null;
  const kind = ({ layers: 'layer', blockmaps: 'blockMap', snapshots: 'snapshot' } as const)[m[1] as 'layers'];
  return { kind, id: m[2]! };
}
