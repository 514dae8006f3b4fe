/** Small helpers around grpc-js calls, shared by the gateway and the worker. */
import * as grpc from '@grpc/grpc-js';
import { isAuthorized, type TokenPolicy } from './auth.js';
import { statusError, toStatusError } from './status.js';

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

export const UNAUTHENTICATED = () => statusError(grpc.status.UNAUTHENTICATED, 'missing or wrong access token');

/** Wraps a unary handler: authenticates, then maps thrown errors to status codes. */
export function unary<Req extends object, Res>(
  policy: TokenPolicy,
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    if (!isAuthorized(policy, call.metadata, (call.request as { accessToken?: string }).accessToken)) {
      callback(UNAUTHENTICATED());
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
