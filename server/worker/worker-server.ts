/**
 * A worker process: serves ExecuteFragment, CancelExecution, the catalog and snapshot creation
 * over gRPC, registers with its gateway (retrying with backoff) and heartbeats. When the gateway
 * says it does not know this worker (it restarted, or evicted us), the worker registers again.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Repository } from '../../core/repository.js';
import { authorize, bearerMetadata, type AccessPolicy } from '../auth.js';
import { failStream, shutdown, startGrpcServer, unary, writeWithBackpressure } from '../call-util.js';
import { parseEndpoint } from '../grpc-config.js';
import { closeClients, openduckClients, type CatalogServiceHandlers, type ControlServiceHandlers, type ExecutionServiceHandlers } from '../proto.js';
import { fromStatusError, isStatusError, RemoteError, statusError } from '../status.js';
import { WorkerEngine } from './engine.js';
import { checkMemoryLimit } from '../../core/duckdb-session.js';

export interface WorkerOptions {
  repo: Repository | null;
  /** host:port to listen on; port 0 picks a free one. */
  listen: string;
  /** What the gateway should dial; defaults to the listen address with the real port. */
  advertise?: string;
  /** host:port of the gateway to register with; none for a standalone worker. */
  gateway?: string;
  /** Who may call this worker: the gateway, presenting the worker credential. */
  policy: AccessPolicy;
  /** The worker credential, which this worker presents to its gateway. */
  workerToken: string | null;
  databases?: string[];
  maxConcurrency?: number;
  computeContext?: string;
  workerId?: string;
  memoryLimit?: string;
  /** The process's memory cap, named in out-of-memory errors (the caller applies it). */
  maxMemory?: string;
  tempDirectory?: string;
  log?: (line: string) => void;
}

export interface RunningWorker {
  workerId: string;
  /** What the gateway dials. */
  endpoint: string;
  /** Where this process listens. */
  listening: string;
  engine: WorkerEngine;
  /** Stops taking new work, lets running executions finish for up to `graceMs`, then stops. */
  stop(graceMs?: number): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const listen = parseEndpoint(options.listen, 'listen address');
  if (options.advertise) {
    if (parseEndpoint(options.advertise, 'advertised address').port === 0) throw new InvalidArgumentError(`advertised address ${options.advertise} needs a real port, not 0`);
    if (listen.port === 0) {
      throw new InvalidArgumentError(`--advertise ${options.advertise} needs --listen with a fixed port: the gateway would dial ${options.advertise} while this worker listened on a random port`);
    }
  }
  await checkMemoryLimit(options.memoryLimit, '--memory-limit');
  const workerId = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
  const engine = new WorkerEngine(options.repo, workerId, { memoryLimit: options.memoryLimit, maxMemory: options.maxMemory, tempDirectory: options.tempDirectory });
  const { server, port } = await startGrpcServer(listen, {
    execution: executionHandlers(engine, options.policy),
    catalog: catalogHandlers(engine, options.policy),
    control: controlHandlers(engine, options.policy),
  });
  const endpoint = options.advertise ?? `${listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host}:${port}`;
  const log = options.log ?? (() => undefined);

  let stopped = false;
  let heartbeatTimer: NodeJS.Timeout | null = null;
  let gatewayClients: ReturnType<typeof openduckClients> | null = null;
  let leave: () => Promise<void> = async () => undefined;
  if (options.gateway) {
    const gateway = parseEndpoint(options.gateway, 'gateway');
    const clients = (gatewayClients = openduckClients(gateway.target));
    const registration = {
      workerId,
      endpoint,
      databases: options.databases ?? [],
      computeContext: options.computeContext ?? '',
      maxConcurrency: options.maxConcurrency ?? 0,
      tables: [],
      accessToken: '',
    };
    const md = () => bearerMetadata(options.workerToken);
    let intervalMs = 2000;
    let registered = false;
    let backoffMs = 200;
    let lastProblem = '';
    leave = () =>
      new Promise<void>((resolve) => {
        if (!registered) return resolve();
        clients.control.DeregisterWorker({ workerId }, md(), { deadline: Date.now() + 2000 }, () => resolve());
      });

    const register = (): Promise<void> =>
      new Promise((resolve, reject) =>
        clients.execution.RegisterWorker(registration, md(), { deadline: Date.now() + 5000 }, (err, reply) => {
          if (err) return reject(err);
          intervalMs = reply?.heartbeatIntervalMs || intervalMs;
          resolve();
        }),
      );
    const heartbeat = (): Promise<boolean> =>
      new Promise((resolve, reject) =>
        clients.execution.Heartbeat({ workerId, accessToken: '', inFlight: engine.inFlight }, md(), { deadline: Date.now() + 5000 }, (err, reply) =>
          err ? reject(err) : resolve(!reply?.reregister),
        ),
      );
    const tick = async () => {
      if (stopped) return;
      try {
        if (!registered) {
          await register();
          registered = true;
          backoffMs = 200;
          lastProblem = '';
          log(`registered with gateway ${gateway.target} as ${workerId} (${endpoint})`);
        } else if (!(await heartbeat())) {
          registered = false;
          log('gateway asked this worker to register again');
          return schedule(0);
        }
        schedule(intervalMs);
      } catch (err) {
        // Say what is wrong once per kind of problem, not once per retry.
        const problem = registrationProblem(err, gateway.target);
        if (problem !== lastProblem) log(`${problem}; retrying`);
        lastProblem = problem;
        registered = false;
        schedule(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    };
    const schedule = (ms: number) => {
      if (stopped) return;
      heartbeatTimer = setTimeout(() => void tick(), ms);
    };
    await tick();
  }

  return {
    workerId,
    endpoint,
    listening: `${listen.host}:${port}`,
    engine,
    async stop(graceMs = 10_000) {
      stopped = true;
      if (heartbeatTimer) clearTimeout(heartbeatTimer);
      await leave();
      if (gatewayClients) closeClients(gatewayClients);
      await shutdown(server, graceMs);
      await engine.close();
    },
  };
}

// Every call a worker serves comes from its gateway, which presents the worker credential.
function executionHandlers(engine: WorkerEngine, policy: AccessPolicy): ExecutionServiceHandlers {
  return {
    ExecuteFragment(call) {
      const req = call.request;
      const refused = authorize(policy, 'worker', call.metadata, req.accessToken);
      if (refused) return failStream(call, refused);
      engine
        .executeToMessages(
          { plan: req.plan, database: req.database, snapshotId: req.snapshotId || undefined, executionId: req.executionId },
          (message) => writeWithBackpressure(call, message),
          (cancel) => call.on('cancelled', cancel),
        )
        .then(
          () => {
            if (!call.cancelled) call.end();
          },
          (err) => failStream(call, err),
        );
    },
    CancelExecution: unary(policy, 'worker', async (req) => ({ acknowledged: engine.cancel(req.executionId) })),
    RegisterWorker: (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, 'this is a worker; register with the gateway')),
    Heartbeat: (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, 'this is a worker; heartbeat the gateway')),
  };
}

function catalogHandlers(engine: WorkerEngine, policy: AccessPolicy): CatalogServiceHandlers {
  return {
    ListDatabases: unary(policy, 'worker', async () => ({ databases: await engine.listDatabases() })),
    ListTables: unary(policy, 'worker', async (req) => engine.listTables(req.database)),
    DescribeTable: unary(policy, 'worker', async (req) => engine.describeTable(req.database, req.schema, req.table)),
  };
}

function controlHandlers(engine: WorkerEngine, policy: AccessPolicy): ControlServiceHandlers {
  return {
    GetStatus: unary(policy, 'worker', async () => ({
      version: '',
      pid: process.pid,
      startedAtMs: 0,
      workers: [],
      executions: engine.executions().map((e) => ({ executionId: e.executionId, database: e.database, workerId: engine.workerId, startedAtMs: e.startedAt, state: 'running' })),
      maxQueue: 0,
    })),
    DeregisterWorker: (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, 'this is a worker; deregister with the gateway')),
    CreateSnapshot: unary(policy, 'worker', (req) => engine.createSnapshot(req.database, req.message, req.author)),
  };
}

/** One line on why registering or heartbeating failed, naming the gateway once. */
function registrationProblem(err: unknown, gateway: string): string {
  if (isStatusError(err) && (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED)) {
    return `gateway ${gateway} refused this worker's credential (give the worker the gateway's worker token: --worker-token-file or OPENDUCK_WORKER_TOKEN)`;
  }
  if (isStatusError(err) && err.code === grpc.status.ALREADY_EXISTS) return `gateway ${gateway} refused the registration: ${err.details}`;
  const failure = fromStatusError(err, gateway);
  return `cannot reach gateway ${gateway}: ${failure instanceof RemoteError ? failure.reason : failure.message}`;
}
