/**
 * The server health check behind `openduck server status` (and `openduck status --endpoint`, its
 * older spelling): connect, run `SELECT 1`, and say which of three ways it failed.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../core/errors.js';
import type { Repository } from '../core/repository.js';
import { RemoteError } from '../server/status.js';
import { connectClient } from './remote.js';

export type HealthVerdict = 'OK' | 'UNREACHABLE' | 'UNAUTHENTICATED' | 'UNAVAILABLE';

export interface ServerHealth {
  ok: boolean;
  verdict: HealthVerdict;
  endpoint: string;
  /** Milliseconds to connect and to answer `SELECT 1`, to 0.1 ms (finer digits are noise). */
  connectMs?: number;
  queryMs?: number;
  error?: string;
}

/**
 * UNREACHABLE: no connection. UNAUTHENTICATED: it answers but refuses the token. UNAVAILABLE: it
 * answers but cannot run a query (no workers registered, a worker failing).
 */
function verdict(err: unknown, connected: boolean): HealthVerdict {
  if (err instanceof RemoteError && err.status === grpc.status.UNAUTHENTICATED) return 'UNAUTHENTICATED';
  if (!connected || (err instanceof RemoteError && err.unreachable)) return 'UNREACHABLE';
  return 'UNAVAILABLE';
}

const tenths = (ms: number) => Math.round(ms * 10) / 10;

export async function checkServer(flags: { endpoint?: string; token?: string }, repo: Repository | null): Promise<ServerHealth> {
  const client = await connectClient(flags, repo, true);
  let connected = false;
  try {
    const connectMs = await client.waitForReady(5000);
    connected = true;
    const started = performance.now();
    const result = await client.execute('SELECT 1');
    for await (const _ of result.batches) void _;
    return { ok: true, verdict: 'OK', endpoint: client.endpoint, connectMs: tenths(connectMs), queryMs: tenths(performance.now() - started) };
  } catch (err) {
    const reason = err instanceof RemoteError ? err.reason : errorMessage(err);
    return { ok: false, verdict: verdict(err, connected), endpoint: client.endpoint, error: reason };
  } finally {
    client.close();
  }
}

/** The one line people read: `OK endpoint connect=…ms query=…ms`, or `VERDICT endpoint: reason`. */
export function healthLine(h: ServerHealth): string {
  return h.ok ? `OK ${h.endpoint} connect=${h.connectMs!.toFixed(1)}ms query=${h.queryMs!.toFixed(1)}ms` : `${h.verdict} ${h.endpoint}: ${h.error}`;
}
