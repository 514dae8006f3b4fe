/**
 * Routing and admission. A request goes to a worker with a free slot (max_concurrency honoured),
 * preferring, in order: workers that serve its database, then workers whose compute context
 * matches, then any worker; ties go to the least busy. Writes to a database's working copy stick
 * to one worker (its writer) for as long as that worker lives. Requests that find no free slot
 * wait in a bounded FIFO queue; beyond `maxQueue` they are refused with RESOURCE_EXHAUSTED.
 */
import * as grpc from '@grpc/grpc-js';
import { statusError } from '../status.js';
import { parseComputeContext, type WorkerHandle, type WorkerRegistry } from './registry.js';

export interface RouteRequest {
  /** The database name without any @ref; empty for a scratch query. */
  database: string;
  /** True for the working copy (the branch's single writer). */
  write: boolean;
  computeContext: string;
}

export interface Slot {
  worker: WorkerHandle;
  release(): void;
}

interface Waiter {
  request: RouteRequest;
  resolve(slot: Slot): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

/** How long a request waits for the first worker to appear (workers re-register after a gateway restart). */
const NO_WORKER_WAIT_MS = 5000;

export class Scheduler {
  private readonly queue: Waiter[] = [];
  private readonly writers = new Map<string, string>();

  constructor(
    private readonly registry: WorkerRegistry,
    readonly maxQueue: number,
  ) {
    registry.onChange(() => this.dispatch());
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves with a slot on a worker; `abort` lets a cancelled request leave the queue. */
  acquire(request: RouteRequest, abort: (onAbort: () => void) => void): Promise<Slot> {
    const slot = this.tryPick(request);
    if (slot) return Promise.resolve(slot);
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(
        statusError(grpc.status.RESOURCE_EXHAUSTED, `server busy: all workers are at their concurrency limit and ${this.maxQueue} requests are already queued; retry later`),
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject, timer: null };
      if (this.registry.list().length === 0) this.waitForWorkers(waiter);
      this.queue.push(waiter);
      abort(() => this.drop(waiter, statusError(grpc.status.CANCELLED, 'cancelled')));
    });
  }

  /** Picks a worker for a request that takes no slot (catalog lookups). */
  pickAny(request: RouteRequest): WorkerHandle {
    const ranked = this.rank(request, false);
    const w = ranked[0];
    if (!w) throw noWorkers();
    return w;
  }

  /** With no worker registered, a waiter gets a bounded wait for one to (re)appear. */
  private waitForWorkers(waiter: Waiter): void {
    waiter.timer = setTimeout(() => this.drop(waiter, noWorkers()), NO_WORKER_WAIT_MS);
  }

  private drop(waiter: Waiter, err: Error): void {
    const i = this.queue.indexOf(waiter);
    if (i === -1) return;
    this.queue.splice(i, 1);
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.reject(err);
  }

  private dispatch(): void {
    if (this.registry.list().length === 0) {
      // Every worker is gone: waiters get a bounded wait for one to come back.
      for (const w of this.queue) if (!w.timer) this.waitForWorkers(w);
      return;
    }
    for (const w of this.queue) {
      if (w.timer) clearTimeout(w.timer);
      w.timer = null;
    }
    for (let i = 0; i < this.queue.length; ) {
      const waiter = this.queue[i]!;
      const slot = this.tryPick(waiter.request);
      if (!slot) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      waiter.resolve(slot);
    }
  }

  private tryPick(request: RouteRequest): Slot | null {
    const worker = this.rank(request, true)[0];
    if (!worker) return null;
    if (request.write && request.database) this.writers.set(request.database, worker.id);
    worker.inFlight++;
    let released = false;
    return {
      worker,
      release: () => {
        if (released) return;
        released = true;
        worker.inFlight--;
        this.registry.released(worker);
        this.dispatch();
      },
    };
  }

  /** Candidates best first; with `needSlot`, only workers with a free slot. */
  private rank(request: RouteRequest, needSlot: boolean): WorkerHandle[] {
    const workers = this.registry.list();
    if (request.write && request.database) {
      const writer = workers.find((w) => w.id === this.writers.get(request.database));
      // The writer stays the writer: wait for its slot rather than start a second writer.
      if (writer) return !needSlot || hasSlot(writer) ? [writer] : [];
    }
    const wanted = parseComputeContext(request.computeContext);
    const score = (w: WorkerHandle) =>
      (request.database && w.databases.includes(request.database) ? 2 : 0) + (wanted.size > 0 && contextMatches(w, wanted) ? 1 : 0);
    return workers
      .filter((w) => !needSlot || hasSlot(w))
      .sort((a, b) => score(b) - score(a) || a.inFlight - b.inFlight || (a.id < b.id ? -1 : 1));
  }
}

function noWorkers(): Error {
  return statusError(grpc.status.UNAVAILABLE, 'no workers are registered with the gateway');
}

function hasSlot(w: WorkerHandle): boolean {
  return w.maxConcurrency === 0 || w.inFlight < w.maxConcurrency;
}

function contextMatches(w: WorkerHandle, wanted: Map<string, string>): boolean {
  for (const [k, v] of wanted) if (w.computeContext.get(k) !== v) return false;
  return true;
}
