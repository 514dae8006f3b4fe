/** Small helpers around grpc-js servers and calls, shared by the gateway and the worker. */
import * as grpc from '@grpc/grpc-js';
import { authorize, type AccessPolicy, type Role } from './auth.js';
import { statusError, toStatusError } from './status.js';
import { CHANNEL_OPTIONS, type Endpoint } from './grpc-config.js';
import { openduckV1, type CatalogServiceHandlers, type ControlServiceHandlers, type ExecutionServiceHandlers } from './proto.js';

/** A server for the three services, listening on `listen` (plaintext). */
export async function startGrpcServer(
  listen: Endpoint,
  handlers: { execution: ExecutionServiceHandlers; catalog: CatalogServiceHandlers; control: ControlServiceHandlers },
): Promise<{ server: grpc.Server; port: number }> {
  const v1 = openduckV1();
  const server = new grpc.Server(CHANNEL_OPTIONS);
  server.addService(v1.ExecutionService.service, handlers.execution);
  server.addService(v1.CatalogService.service, handlers.catalog);
  server.addService(v1.ControlService.service, handlers.control);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen.target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
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

/** Messages a producer may have in flight on one stream before it waits (each is ~2 MiB). */
const MAX_UNFLUSHED = 2;
const unflushed = new WeakMap<object, { count: number; waiters: Array<() => void> }>();

/**
 * Writes one message to a server stream and resolves once the stream can take more, so a slow
 * reader slows the producer instead of growing a buffer: at most MAX_UNFLUSHED messages wait
 * between the producer and the transport. Rejects if the call goes away.
 */
export function writeWithBackpressure<T>(call: grpc.ServerWritableStream<unknown, T>, message: T): Promise<void> {
  if (call.cancelled || call.destroyed) return Promise.reject(statusError(grpc.status.CANCELLED, 'cancelled'));
  let state = unflushed.get(call);
  if (!state) unflushed.set(call, (state = { count: 0, waiters: [] }));
  const s = state;
  s.count++;
  call.write(message, () => {
    s.count--;
    s.waiters.shift()?.();
  });
  if (s.count < MAX_UNFLUSHED) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onGone = () => reject(statusError(grpc.status.CANCELLED, 'cancelled'));
    call.once('cancelled', onGone);
    s.waiters.push(() => {
      call.off('cancelled', onGone);
      resolve();
    });
  });
}

/** Ends a server stream with an error status; safe to call on a call that already ended. */
export function failStream(call: grpc.ServerWritableStream<unknown, unknown>, err: unknown): void {
  if (call.cancelled || call.writableEnded) return;
  call.emit('error', toStatusError(err));
}

/** Wraps a unary handler: authorizes the caller for `role`, then maps thrown errors to status codes. */
export function unary<Req extends object, Res>(
  policy: AccessPolicy,
  role: Role,
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const refused = authorize(policy, role, call.metadata, (call.request as { accessToken?: string }).accessToken);
    if (refused) {
      callback(refused);
      return;
    }
    // A handler that throws before its first await must still answer with a status, not UNKNOWN.
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
      (res) => callback(null, res),
      (err) => callback(toStatusError(err)),
    );
  };
}
