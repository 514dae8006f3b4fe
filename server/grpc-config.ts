/** Channel settings and endpoint parsing shared by every client and server here. */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../core/errors.js';

/** Plans (SQL) above this size are refused with INVALID_ARGUMENT before they reach DuckDB. */
export const MAX_PLAN_BYTES = 4 << 20;

/**
 * Result messages stay near 2 MiB; the limit leaves room. A 16 MiB flow-control window keeps a
 * loopback stream from stalling on grpc-js's 64 KiB default (measured: 20-30 % of a transfer).
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_send_message_length': 64 << 20,
  'grpc.max_receive_message_length': 64 << 20,
  'grpc-node.flow_control_window': 16 << 20,
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // grpc-js backs off reconnects up to two minutes; a worker waiting for a restarted gateway (or a
  // gateway dialling a restarted worker) should notice within seconds.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
};

export interface Endpoint {
  host: string;
  port: number;
  /** host:port, as grpc-js wants it. */
  target: string;
}

/** Accepts `host:port`, `http://host:port` and `grpc://host:port`. */
export function parseEndpoint(text: string, what = 'endpoint'): Endpoint {
  const m = /^(?:(http|grpc):\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text.trim());
  if (!m) {
    if (/^https:\/\//.test(text)) throw new InvalidArgumentError(`${what} ${text}: TLS endpoints are not supported yet; use http://HOST:PORT`);
    throw new InvalidArgumentError(`malformed ${what} ${JSON.stringify(text)}: expected HOST:PORT or http://HOST:PORT`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidArgumentError(`malformed ${what} ${JSON.stringify(text)}: port out of range`);
  return { host: m[2]!, port, target: `${m[2]}:${port}` };
}

/**
 * For --insecure-no-auth: resolves the listen host and accepts it only when every address it
 * resolves to is a loopback address (a name such as `127.evil.example` proves nothing). Returns
 * `address:port` to bind, so the address that was checked is the one the server listens on.
 */
export async function loopbackListenAddress(listen: string): Promise<string> {
  const endpoint = parseEndpoint(listen, 'listen address');
  const host = endpoint.host.replace(/^\[(.*)\]$/, '$1');
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'lookup failed';
    throw new InvalidArgumentError(`--insecure-no-auth only works on a loopback address, and ${endpoint.host} does not resolve (${code})`);
  }
  const outside = addresses.find((a) => !isLoopbackAddress(a.address));
  if (outside || addresses.length === 0) {
    const shown = outside && outside.address !== host ? `${endpoint.host} (${outside.address})` : endpoint.host;
    throw new InvalidArgumentError(`--insecure-no-auth only works on a loopback address, not ${shown}`);
  }
  const first = addresses[0]!;
  return first.family === 6 ? `[${first.address}]:${endpoint.port}` : `${first.address}:${endpoint.port}`;
}

function isLoopbackAddress(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  return address === '::1' || /^::ffff:127\./i.test(address);
}
