/**
 * The gateway: the one endpoint clients talk to. It authenticates every call, routes executions
 * to workers (scheduler.ts), forwards result streams without holding them (a slow client pauses
 * the worker's stream), forwards cancels, and keeps the list of in-flight executions that
 * `status` shows. An execution's entry is removed however it ends: success, error or cancel.
 *
 * Clients and workers hold different credentials (auth.ts): only a worker may register,
 * heartbeat or deregister, and no registration replaces a live worker. A client that stops
 * reading its result for `stallTimeoutMs` loses the execution, so stalled readers cannot hold
 * every slot.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, errorMessage } from '../../core/errors.js';
import { parseRef } from '../../core/refs.js';
import { authorize, bearerMetadata, type AccessPolicy } from '../auth.js';
import { failStream, shutdown, startGrpcServer, unary } from '../call-util.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '../limits.js';
import { parseEndpoint } from '../grpc-config.js';
import { type CatalogServiceHandlers, type ControlServiceHandlers, type ExecutionServiceHandlers } from '../proto.js';
import { isStatusError, statusError, withoutResolutionNote } from '../status.js';
import { WorkerRegistry, type FragmentStream, type WorkerHandle } from './registry.js';
import { Scheduler, type RouteRequest } from './scheduler.js';
import type { ExecuteFragmentChunk__Output } from '../generated/openduck/v1/ExecuteFragmentChunk.js';

export interface GatewayOptions {
  listen: string;
  /** Clients present the client token; workers the worker credential. */
  policy: AccessPolicy;
  /** The worker credential, which the gateway presents to workers. */
  workerToken: string | null;
  maxQueue?: number;
  heartbeatIntervalMs?: number;
  /** A result stream whose client reads nothing for this long is cancelled (default 30 s). */
  stallTimeoutMs?: number;
  log?: (line: string) => void;
  version?: string;
}

export interface ExecutionEntry {
  executionId: string;
  database: string;
  workerId: string;
  startedAt: number;
  state: 'queued' | 'running';
  cancel(): void;
}

export interface RunningGateway {
  endpoint: string;
  port: number;
  registry: WorkerRegistry;
  executions: Map<string, ExecutionEntry>;
  stop(graceMs?: number): Promise<void>;
}

export const DEFAULT_MAX_QUEUE = 64;
export const DEFAULT_HEARTBEAT_MS = 2000;

/** A worker's result stream stops being read while this many messages wait to reach the client. */
const FORWARD_BUFFER_MESSAGES = 2;

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? (() => undefined);
  const registry = new WorkerRegistry(options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS, log);
  const scheduler = new Scheduler(registry, options.maxQueue ?? DEFAULT_MAX_QUEUE);
  const executions = new Map<string, ExecutionEntry>();
  const startedAt = Date.now();
  const workerMetadata = () => bearerMetadata(options.workerToken);
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;

  /** A worker whose connection failed is gone until it registers again. */
  const onWorkerFailure = (worker: WorkerHandle, err: unknown) => {
    if (isStatusError(err) && err.code === grpc.status.UNAVAILABLE) registry.evict(worker.id, withoutResolutionNote(errorMessage(err).split('\n')[0]!));
  };

  const execution: ExecutionServiceHandlers = {
    ExecuteFragment(call) {
      const req = call.request;
      const refused = authorize(options.policy, 'client', call.metadata, req.accessToken);
      if (refused) return failStream(call, refused);
      let route: RouteRequest;
      try {
        route = routeFor(req.database, req.computeContext, !!req.snapshotId);
      } catch (err) {
        return failStream(call, err);
      }
      const executionId = req.executionId || randomUUID();
      if (executions.has(executionId)) return failStream(call, new InvalidArgumentError(`execution ${executionId} is already running`));
      let cancelRequested = false;
      let cancelQueued: () => void = () => undefined;
      let upstream: FragmentStream | null = null;
      const entry: ExecutionEntry = {
        executionId,
        database: req.database,
        workerId: '',
        startedAt: Date.now(),
        state: 'queued',
        cancel: () => {
          cancelRequested = true;
          cancelQueued();
          upstream?.cancel();
        },
      };
      executions.set(executionId, entry);
      let finished = false;
      const finish = (err?: unknown) => {
        if (finished) return;
        finished = true;
        executions.delete(executionId);
        if (err) failStream(call, err);
        else call.end();
      };
      call.on('cancelled', () => {
        entry.cancel();
        finish();
      });

      const dispatch = (attemptsLeft: number) =>
        scheduler
        .acquire(route, (abort) => (cancelQueued = abort))
        .then((slot) => {
          if (cancelRequested || finished) {
            slot.release();
            return finish(statusError(grpc.status.CANCELLED, 'cancelled'));
          }
          entry.state = 'running';
          entry.workerId = slot.worker.id;
          const stream = slot.worker.execution.ExecuteFragment(
            { plan: req.plan, database: req.database, snapshotId: req.snapshotId, executionId, computeContext: req.computeContext, accessToken: '' },
            workerMetadata(),
          );
          upstream = stream;
          // Flow control end to end: stop reading the worker while messages wait for the client.
          // A client that takes none of them for stallTimeoutMs has stopped reading: its
          // execution is cancelled, which frees the slot (and, for a write, the branch's lease).
          let unflushed = 0;
          let forwarded = 0;
          let stallTimer: NodeJS.Timeout | null = null;
          const watchStall = () => {
            if (stallTimer) clearTimeout(stallTimer);
            stallTimer = unflushed >= FORWARD_BUFFER_MESSAGES && !finished ? setTimeout(onStall, stallTimeoutMs) : null;
          };
          const onStall = () => {
            if (finished) return;
            log(`execution ${executionId} cancelled: its client read nothing for ${stallTimeoutMs} ms`);
            entry.cancel();
            finish(statusError(grpc.status.CANCELLED, `cancelled: the client read nothing for ${stallTimeoutMs / 1000} s, so the execution was stopped to free its slot`));
          };
          stream.on('data', (chunk: ExecuteFragmentChunk__Output) => {
            if (finished) return;
            forwarded++;
            unflushed++;
            call.write(chunk, () => {
              if (--unflushed < FORWARD_BUFFER_MESSAGES && stream.isPaused()) stream.resume();
              watchStall();
            });
            if (unflushed >= FORWARD_BUFFER_MESSAGES) {
              stream.pause();
              if (!stallTimer) watchStall();
            }
          });
          const stopWatching = () => {
            if (stallTimer) clearTimeout(stallTimer);
            stallTimer = null;
          };
          // grpc-js may emit 'end' after 'error'; only the first of them decides this attempt, or
          // a re-routed execution would be ended (empty, status OK) by the failed attempt's 'end'.
          let attemptSettled = false;
          stream.on('error', (err) => {
            stopWatching();
            if (attemptSettled) return;
            attemptSettled = true;
            slot.release();
            onWorkerFailure(slot.worker, err);
            // A worker that is gone before it sent anything (it was stopping, or it died between
            // heartbeats) costs the client nothing: the execution goes to another worker.
            if (forwarded === 0 && attemptsLeft > 0 && !cancelRequested && isStatusError(err) && err.code === grpc.status.UNAVAILABLE) {
              entry.state = 'queued';
              upstream = null;
              return void dispatch(attemptsLeft - 1);
            }
            finish(
              isStatusError(err) && err.code === grpc.status.UNAVAILABLE
                ? statusError(grpc.status.UNAVAILABLE, `worker ${slot.worker.id} failed during the execution: ${err.details}`)
                : err,
            );
          });
          stream.on('end', () => {
            stopWatching();
            if (attemptSettled) return;
            attemptSettled = true;
            slot.release();
            finish();
          });
        })
        .catch((err) => finish(err));
      void dispatch(1);
    },

    CancelExecution: unary(options.policy, 'client', async (req) => {
      const entry = executions.get(req.executionId);
      if (!entry) return { acknowledged: false };
      const worker = registry.get(entry.workerId);
      if (entry.state === 'running' && worker) {
        // Ask the worker first, so DuckDB is interrupted even if the stream is slow to notice.
        await new Promise<void>((resolve) =>
          worker.execution.CancelExecution({ executionId: req.executionId, accessToken: '' }, workerMetadata(), { deadline: Date.now() + 2000 }, () => resolve()),
        );
      }
      entry.cancel();
      return { acknowledged: true };
    }),

    RegisterWorker: unary(options.policy, 'worker', async (req) => {
      if (!req.workerId) throw new InvalidArgumentError('worker_id is required');
      parseEndpoint(req.endpoint, 'worker endpoint');
      registry.register(req);
      return { accepted: true, heartbeatIntervalMs: registry.heartbeatIntervalMs };
    }),

    Heartbeat: unary(options.policy, 'worker', async (req) => {
      const known = registry.heartbeat(req.workerId);
      return { acknowledged: known, reregister: !known };
    }),
  };

  /** Forwards a unary catalog/control call to the worker a request of this kind would go to. */
  const forward = <Res>(route: RouteRequest, invoke: (w: WorkerHandle, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> => {
    const worker = scheduler.pickAny(route);
    return new Promise<Res>((resolve, reject) =>
      invoke(worker, workerMetadata(), (err, res) => {
        if (err) {
          onWorkerFailure(worker, err);
          reject(err);
        } else resolve(res as Res);
      }),
    );
  };

  const catalog: CatalogServiceHandlers = {
    ListDatabases: unary(options.policy, 'client', (req) => forward({ database: '', write: false, computeContext: '' }, (w, md, cb) => w.catalog.ListDatabases(req, md, cb))),
    ListTables: unary(options.policy, 'client', (req) => forward(routeFor(req.database, ''), (w, md, cb) => w.catalog.ListTables(req, md, cb))),
    DescribeTable: unary(options.policy, 'client', (req) => forward(routeFor(req.database, ''), (w, md, cb) => w.catalog.DescribeTable(req, md, cb))),
  };

  const control: ControlServiceHandlers = {
    GetStatus: unary(options.policy, 'client', async () => ({
      version: options.version ?? '',
      pid: process.pid,
      startedAtMs: startedAt,
      workers: registry.list().map((w) => ({
        workerId: w.id,
        endpoint: w.endpoint,
        databases: w.databases,
        computeContext: w.computeContextText,
        maxConcurrency: w.maxConcurrency,
        inFlight: w.inFlight,
        lastHeartbeatMs: w.lastHeartbeat,
      })),
      executions: [...executions.values()].map((e) => ({
        executionId: e.executionId,
        database: e.database,
        workerId: e.workerId,
        startedAtMs: e.startedAt,
        state: e.state,
      })),
      maxQueue: scheduler.maxQueue,
    })),
    DeregisterWorker: unary(options.policy, 'worker', async (req) => {
      const worker = registry.get(req.workerId);
      if (worker?.local) throw new InvalidArgumentError(`worker ${req.workerId} runs inside the gateway's process and cannot be deregistered`);
      const known = !!worker;
      registry.evict(req.workerId, 'it is shutting down');
      return { acknowledged: known };
    }),
    CreateSnapshot: unary(options.policy, 'client', (req) => {
      const db = parseRef(req.database);
      if (db.rev !== null) throw new InvalidArgumentError(`snapshot create takes a database name, not a ref: ${req.database}`);
      return forward(routeFor(db.db, ''), (w, md, cb) => w.control.CreateSnapshot(req, md, cb));
    }),
  };

  const listen = parseEndpoint(options.listen, 'listen address');
  const { server, port } = await startGrpcServer(listen, { execution, catalog, control });
  registry.start();
  return {
    endpoint: `${listen.host}:${port}`,
    port,
    registry,
    executions,
    async stop(graceMs = 10_000) {
      await shutdown(server, graceMs);
      for (const e of executions.values()) e.cancel();
      registry.close();
    },
  };
}

/** How a `database` field routes: the bare name for affinity, and whether it is the working copy. */
function routeFor(database: string, computeContext: string, pinned = false): RouteRequest {
  if (!database) return { database: '', write: false, computeContext };
  const ref = parseRef(database);
  return { database: ref.db, write: ref.rev === null && !pinned, computeContext };
}

