/** Channel settings and endpoint parsing shared by every client and server here. */
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

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}
