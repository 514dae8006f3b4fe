/**
 * A worker process: serves ExecuteFragment, CancelExecution, the catalog and snapshot creation
 * over gRPC, registers with its gateway (retrying with backoff) and heartbeats. When the gateway
 * says it does not know this worker (it restarted, or evicted us), the worker registers again.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Repository } from '../../core/repository.js';
import { bearerMetadata, isAuthorized, type TokenPolicy } from '../auth.js';
import { failStream, unary, UNAUTHENTICATED, writeWithBackpressure } from '../call-util.js';
import { CHANNEL_OPTIONS, parseEndpoint } from '../grpc-config.js';
import { openduckV1, type CatalogServiceHandlers, type ControlServiceHandlers, type ExecutionServiceHandlers } from '../proto.js';
import { fromStatusError, isStatusError, statusError } from '../status.js';
import { WorkerEngine } from './engine.js';
import { checkMemoryLimit } from '../../core/duckdb-session.js';
import type { ExecutionServiceClient } from '../generated/openduck/v1/ExecutionService.js';

export interface WorkerOptions {
  repo: Repository | null;
  /** host:port to listen on; port 0 picks a free one. */
  listen: string;
  /** What the gateway should dial; defaults to the listen address with the real port. */
  advertise?: string;
  /** host:port of the gateway to register with; none for a standalone worker. */
  gateway?: string;
  policy: TokenPolicy;
  /** The token this worker presents to its gateway. */
  token: string | null;
  databases?: string[];
  maxConcurrency?: number;
  computeContext?: string;
  workerId?: string;
  memoryLimit?: string;
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
  const engine = new WorkerEngine(options.repo, workerId, { memoryLimit: options.memoryLimit, tempDirectory: options.tempDirectory });
  const server = new grpc.Server(CHANNEL_OPTIONS);
  const v1 = openduckV1();
  server.addService(v1.ExecutionService.service, executionHandlers(engine, options.policy));
  server.addService(v1.CatalogService.service, catalogHandlers(engine, options.policy));
  server.addService(v1.ControlService.service, controlHandlers(engine, options.policy));

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen.target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const endpoint = options.advertise ?? `${listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host}:${port}`;
  const log = options.log ?? (() => undefined);

  let stopped = false;
  let heartbeatTimer: NodeJS.Timeout | null = null;
  let gatewayClient: ExecutionServiceClient | null = null;
  let leave: () => Promise<void> = async () => undefined;
  if (options.gateway) {
    const gateway = parseEndpoint(options.gateway, 'gateway');
    gatewayClient = new v1.ExecutionService(gateway.target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const registration = {
      workerId,
      endpoint,
      databases: options.databases ?? [],
      computeContext: options.computeContext ?? '',
      maxConcurrency: options.maxConcurrency ?? 0,
      tables: [],
      accessToken: '',
    };
    const md = () => bearerMetadata(options.token);
    let intervalMs = 2000;
    let registered = false;
    let backoffMs = 200;
    let lastProblem = '';
    const control = new v1.ControlService(gateway.target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    leave = () =>
      new Promise<void>((resolve) => {
        if (!registered) return resolve();
        control.DeregisterWorker({ workerId }, md(), { deadline: Date.now() + 2000 }, () => resolve());
      }).finally(() => control.close());

    const register = (): Promise<void> =>
      new Promise((resolve, reject) =>
        gatewayClient!.RegisterWorker(registration, md(), { deadline: Date.now() + 5000 }, (err, reply) => {
          if (err) return reject(err);
          intervalMs = reply?.heartbeatIntervalMs || intervalMs;
          resolve();
        }),
      );
    const heartbeat = (): Promise<boolean> =>
      new Promise((resolve, reject) =>
        gatewayClient!.Heartbeat({ workerId, accessToken: '', inFlight: engine.inFlight }, md(), { deadline: Date.now() + 5000 }, (err, reply) =>
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
      gatewayClient?.close();
      await shutdown(server, graceMs);
      await engine.close();
    },
  };
}

/** Graceful shutdown bounded by graceMs: running calls may finish, then the rest are cut. */
export async function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function executionHandlers(engine: WorkerEngine, policy: TokenPolicy): ExecutionServiceHandlers {
  return {
    ExecuteFragment(call) {
      const req = call.request;
      if (!isAuthorized(policy, call.metadata, req.accessToken)) return failStream(call, UNAUTHENTICATED());
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
    CancelExecution: unary(policy, async (req) => ({ acknowledged: engine.cancel(req.executionId) })),
    RegisterWorker: (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, 'this is a worker; register with the gateway')),
    Heartbeat: (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, 'this is a worker; heartbeat the gateway')),
  };
}

function catalogHandlers(engine: WorkerEngine, policy: TokenPolicy): CatalogServiceHandlers {
  return {
    ListDatabases: unary(policy, async () => ({ databases: await engine.listDatabases() })),
    ListTables: unary(policy, async (req) => engine.listTables(req.database)),
    DescribeTable: unary(policy, async (req) => engine.describeTable(req.database, req.schema, req.table)),
  };
}

function controlHandlers(engine: WorkerEngine, policy: TokenPolicy): ControlServiceHandlers {
  return {
    GetStatus: unary(policy, async () => ({
      version: '',
      pid: process.pid,
      startedAtMs: 0,
      workers: [],
      executions: engine.executions().map((e) => ({ executionId: e.executionId, database: e.database, workerId: engine.workerId, startedAtMs: e.startedAt, state: 'running' })),
      maxQueue: 0,
    })),
    DeregisterWorker: (_call, callback) => callback(statusError(grpc.status.UNIMPLEMENTED, 'this is a worker; deregister with the gateway')),
    CreateSnapshot: unary(policy, async (req) => {
      const r = await engine.createSnapshot(req.database, req.message, req.author);
      return { created: r.created, id: r.id, parent: r.parent ?? '', branch: r.branch, blocksChanged: r.blocksChanged, bytesWritten: r.bytesWritten };
    }),
  };
}

/** One line on why registering or heartbeating failed, naming the gateway once. */
function registrationProblem(err: unknown, gateway: string): string {
  if (isStatusError(err) && err.code === grpc.status.UNAUTHENTICATED) return `gateway ${gateway} refused this worker's token (give the worker the gateway's token)`;
  const reason = fromStatusError(err, gateway).message.replace(`${gateway} is unreachable: `, '').replace(`${gateway}: `, '');
  return `cannot reach gateway ${gateway}: ${reason}`;
}
