/**
 * The gateway's view of its workers: who they are, where to reach them, what they prefer to
 * serve, how busy they are, and when they last proved they were alive. A worker whose heartbeats
 * stop for three intervals is evicted, and so is one whose connection fails mid-call.
 */
import * as grpc from '@grpc/grpc-js';
import { AlreadyExistsError, InvalidArgumentError } from '../../core/errors.js';
import { closeClients, openduckClients } from '../proto.js';
import type { ExecuteFragmentRequest } from '../generated/openduck/v1/ExecuteFragmentRequest.js';
import type { ExecuteFragmentChunk__Output } from '../generated/openduck/v1/ExecuteFragmentChunk.js';
import type { CancelRequest } from '../generated/openduck/v1/CancelRequest.js';
import type { CancelReply__Output } from '../generated/openduck/v1/CancelReply.js';
import type { ListDatabasesRequest } from '../generated/openduck/v1/ListDatabasesRequest.js';
import type { ListDatabasesReply__Output } from '../generated/openduck/v1/ListDatabasesReply.js';
import type { ListTablesRequest } from '../generated/openduck/v1/ListTablesRequest.js';
import type { ListTablesReply__Output } from '../generated/openduck/v1/ListTablesReply.js';
import type { DescribeTableRequest } from '../generated/openduck/v1/DescribeTableRequest.js';
import type { DescribeTableReply__Output } from '../generated/openduck/v1/DescribeTableReply.js';
import type { CreateSnapshotRequest } from '../generated/openduck/v1/CreateSnapshotRequest.js';
import type { CreateSnapshotReply__Output } from '../generated/openduck/v1/CreateSnapshotReply.js';

export type UnaryCallback<T> = (err: grpc.ServiceError | null, res?: T) => void;

/** A worker's result stream, as the gateway reads it (a grpc-js ClientReadableStream, or in-process). */
export interface FragmentStream {
  on(event: 'data', listener: (chunk: ExecuteFragmentChunk__Output) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end', listener: () => void): this;
  pause(): this;
  resume(): this;
  isPaused(): boolean;
  cancel(): void;
}

/**
 * What the gateway needs from a worker. The gRPC clients satisfy it; so does the in-process
 * worker of `serve` (worker/local-channel.ts).
 */
export interface WorkerChannels {
  execution: {
    ExecuteFragment(req: ExecuteFragmentRequest, md: grpc.Metadata): FragmentStream;
    CancelExecution(req: CancelRequest, md: grpc.Metadata, options: grpc.CallOptions, callback: UnaryCallback<CancelReply__Output>): void;
    close(): void;
  };
  catalog: {
    ListDatabases(req: ListDatabasesRequest, md: grpc.Metadata, callback: UnaryCallback<ListDatabasesReply__Output>): void;
    ListTables(req: ListTablesRequest, md: grpc.Metadata, callback: UnaryCallback<ListTablesReply__Output>): void;
    DescribeTable(req: DescribeTableRequest, md: grpc.Metadata, callback: UnaryCallback<DescribeTableReply__Output>): void;
    close(): void;
  };
  control: {
    CreateSnapshot(req: CreateSnapshotRequest, md: grpc.Metadata, callback: UnaryCallback<CreateSnapshotReply__Output>): void;
    close(): void;
  };
}

export const EVICT_AFTER_HEARTBEATS = 3;

export interface WorkerInfo {
  id: string;
  endpoint: string;
  databases: string[];
  /** key=value pairs. */
  computeContext: Map<string, string>;
  computeContextText: string;
  maxConcurrency: number;
  inFlight: number;
  lastHeartbeat: number;
  registeredAt: number;
}

export interface WorkerHandle extends WorkerInfo, WorkerChannels {
  /** Set once evicted; its channels close when its last execution ends. */
  evicted: boolean;
  /** The worker inside this process: it has no heartbeats to miss. */
  local: boolean;
}

/** Checks a compute context given by a user (`region=eu,size=large`); returns it trimmed. */
export function validateComputeContext(text: string, what = 'compute context'): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  for (const part of trimmed.split(',')) {
    if (!/^\s*[A-Za-z0-9_.-]+\s*=\s*[^=,]*$/.test(part)) {
      throw new InvalidArgumentError(`malformed ${what} ${JSON.stringify(text)}: expected KEY=VALUE pairs separated by commas, e.g. region=eu,size=large`);
    }
  }
  return trimmed;
}

/** The endpoint a worker inside the gateway's own process (serve's) is listed with. */
export const IN_PROCESS_ENDPOINT = 'in-process';

export function parseComputeContext(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const [k, ...v] = part.split('=');
    if (k?.trim()) out.set(k.trim(), v.join('=').trim());
  }
  return out;
}

export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerHandle>();
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly heartbeatIntervalMs: number,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.evictStale(), Math.max(50, Math.floor(this.heartbeatIntervalMs / 2)));
    this.timer.unref();
  }

  /** Called whenever capacity may have appeared (a registration, a finished execution). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  notify(): void {
    for (const l of this.listeners) l();
  }

  register(reg: { workerId: string; endpoint: string; databases: string[]; computeContext: string; maxConcurrency: number }, local?: WorkerChannels): WorkerHandle {
    const previous = this.workers.get(reg.workerId);
    // A worker in this list is live (a silent one is evicted), and keeps its id: a registration
    // taking it over would route that worker's executions, and its clients' queries, elsewhere.
    if (previous && (previous.local || previous.endpoint !== reg.endpoint)) {
      throw new AlreadyExistsError('worker', `${reg.workerId} (it is live at ${previous.endpoint}; give this worker another --id, or wait until that one is evicted)`);
    }
    if (previous) {
      // The same worker again (say, after a missed heartbeat): keep its slots and channels.
      Object.assign(previous, {
        databases: reg.databases,
        computeContext: parseComputeContext(reg.computeContext),
        computeContextText: reg.computeContext,
        maxConcurrency: reg.maxConcurrency,
        lastHeartbeat: Date.now(),
      });
      this.notify();
      return previous;
    }
    const handle: WorkerHandle = {
      id: reg.workerId,
      endpoint: reg.endpoint,
      databases: reg.databases,
      computeContext: parseComputeContext(reg.computeContext),
      computeContextText: reg.computeContext,
      maxConcurrency: reg.maxConcurrency,
      inFlight: 0,
      lastHeartbeat: Date.now(),
      registeredAt: Date.now(),
      evicted: false,
      local: !!local,
      ...(local ?? openduckClients(reg.endpoint)),
    };
    this.workers.set(reg.workerId, handle);
    this.log(`worker ${reg.workerId} registered (${reg.endpoint})`);
    this.notify();
    return handle;
  }

  /** False when the worker is unknown: it must register again. */
  heartbeat(workerId: string): boolean {
    const w = this.workers.get(workerId);
    if (!w) return false;
    w.lastHeartbeat = Date.now();
    return true;
  }

  evict(workerId: string, reason: string): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    this.workers.delete(workerId);
    w.evicted = true;
    // Executions already running on it may still finish (a worker leaving drains its work).
    if (w.inFlight === 0) closeClients(w);
    this.log(`worker ${workerId} evicted: ${reason}`);
    this.notify();
  }

  evictStale(now = Date.now()): void {
    const limit = EVICT_AFTER_HEARTBEATS * this.heartbeatIntervalMs;
    for (const w of [...this.workers.values()]) {
      if (!w.local && now - w.lastHeartbeat > limit) this.evict(w.id, `no heartbeat for ${now - w.lastHeartbeat} ms`);
    }
  }

  /** An execution on `w` ended; an evicted worker's channels close with its last one. */
  released(w: WorkerHandle): void {
    if (w.evicted && w.inFlight === 0) closeClients(w);
  }

  get(workerId: string): WorkerHandle | undefined {
    return this.workers.get(workerId);
  }

  list(): WorkerHandle[] {
    return [...this.workers.values()];
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.workers.values()) closeClients(w);
    this.workers.clear();
  }
}
