/**
 * The gateway's view of its workers: who they are, where to reach them, what they prefer to
 * serve, how busy they are, and when they last proved they were alive. A worker whose heartbeats
 * stop for three intervals is evicted, and so is one whose connection fails mid-call.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../grpc-config.js';
import { openduckV1 } from '../proto.js';
import type { ExecutionServiceClient } from '../generated/openduck/v1/ExecutionService.js';
import type { CatalogServiceClient } from '../generated/openduck/v1/CatalogService.js';
import type { ControlServiceClient } from '../generated/openduck/v1/ControlService.js';

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

export interface WorkerHandle extends WorkerInfo {
  /** Set once evicted; its channels close when its last execution ends. */
  evicted: boolean;
  execution: ExecutionServiceClient;
  catalog: CatalogServiceClient;
  control: ControlServiceClient;
}

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

  register(reg: { workerId: string; endpoint: string; databases: string[]; computeContext: string; maxConcurrency: number }): WorkerHandle {
    const previous = this.workers.get(reg.workerId);
    if (previous && previous.endpoint === reg.endpoint) {
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
    if (previous) this.evict(previous.id, `re-registered at ${reg.endpoint}`);
    const v1 = openduckV1();
    const credentials = grpc.credentials.createInsecure();
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
      execution: new v1.ExecutionService(reg.endpoint, credentials, CHANNEL_OPTIONS),
      catalog: new v1.CatalogService(reg.endpoint, credentials, CHANNEL_OPTIONS),
      control: new v1.ControlService(reg.endpoint, credentials, CHANNEL_OPTIONS),
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
    if (w.inFlight === 0) this.closeClients(w);
    this.log(`worker ${workerId} evicted: ${reason}`);
    this.notify();
  }

  evictStale(now = Date.now()): void {
    const limit = EVICT_AFTER_HEARTBEATS * this.heartbeatIntervalMs;
    for (const w of [...this.workers.values()]) {
      if (now - w.lastHeartbeat > limit) this.evict(w.id, `no heartbeat for ${now - w.lastHeartbeat} ms`);
    }
  }

  /** An execution on `w` ended; an evicted worker's channels close with its last one. */
  released(w: WorkerHandle): void {
    if (w.evicted && w.inFlight === 0) this.closeClients(w);
  }

  get(workerId: string): WorkerHandle | undefined {
    return this.workers.get(workerId);
  }

  list(): WorkerHandle[] {
    return [...this.workers.values()];
  }

  private closeClients(w: WorkerHandle): void {
    w.execution.close();
    w.catalog.close();
    w.control.close();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.workers.values()) this.closeClients(w);
    this.workers.clear();
  }
}
