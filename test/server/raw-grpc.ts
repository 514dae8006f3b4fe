/**
 * Protocol calls the CLI cannot make, for the tests: any credential on any RPC, and a client that
 * asks for a result and then never reads it (a raw HTTP/2 stream left paused, so flow control
 * stops the server's writes exactly as a stuck client would).
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { bearerMetadata } from '../../server/auth.js';
import { openduckClients, openduckV1 } from '../../server/proto.js';
import type { ExecuteFragmentRequest } from '../../server/generated/openduck/v1/ExecuteFragmentRequest.js';

export interface CallOutcome {
  code: grpc.status;
  details: string;
}

/** The three services' clients at `endpoint`, with one way to see how a unary call ended. */
export function rawClients(endpoint: string) {
  const clients = openduckClients(endpoint);
  return {
    ...clients,
    close: () => Object.values(clients).forEach((c) => c.close()),
  };
}

/** How a unary call ended: its status code and details (OK and '' on success). */
export function outcome(invoke: (callback: (err: grpc.ServiceError | null) => void) => void): Promise<CallOutcome> {
  return new Promise((resolve) => invoke((err) => resolve({ code: err?.code ?? grpc.status.OK, details: err?.details ?? '' })));
}

/** Runs ExecuteFragment presenting `token`; returns how it ended and the rows' count. */
export function execute(endpoint: string, token: string | null, request: ExecuteFragmentRequest): Promise<CallOutcome & { rows: number }> {
  const client = new (openduckV1().ExecutionService)(endpoint, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 });
  return new Promise((resolve) => {
    let rows = 0;
    const call = client.ExecuteFragment({ executionId: `raw-${Math.random()}`, ...request }, bearerMetadata(token));
    call.on('data', (chunk) => (rows += Number(chunk.arrowBatch?.rowCount ?? 0)));
    call.on('error', (e: grpc.ServiceError) => {
      client.close();
      resolve({ code: e.code, details: e.details, rows });
    });
    call.on('end', () => {
      client.close();
      resolve({ code: grpc.status.OK, details: '', rows });
    });
  });
}

export interface StalledStream {
  /** Starts reading at last (discarding the data) and resolves with the status the stream ended with. */
  readToEnd(): Promise<{ code: number; message: string }>;
  close(): void;
}

/** Starts an execution over its own connection and never reads its result. */
export function stalledStream(endpoint: string, token: string, request: ExecuteFragmentRequest): StalledStream {
  const session = http2.connect(`http://${endpoint}`, { settings: { initialWindowSize: 65_535 } });
  session.on('error', () => undefined);
  const body = openduckV1().ExecutionService.service.ExecuteFragment.requestSerialize(request);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/openduck.v1.ExecutionService/ExecuteFragment',
    'content-type': 'application/grpc',
    te: 'trailers',
    authorization: `Bearer ${token}`,
  });
  stream.on('error', () => undefined);
  stream.end(frame);
  stream.pause();
  // The status travels in the trailers, after every byte of data: it is seen only once read.
  const status = new Promise<{ code: number; message: string }>((resolve) => {
    const fromHeaders = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) resolve({ code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
    };
    // A status sent before any data comes with the response headers ("trailers-only").
    stream.on('response', fromHeaders);
    stream.on('trailers', fromHeaders);
    // A stream reset without trailers has no gRPC status; say how it ended instead.
    stream.on('close', () => resolve({ code: -1, message: `closed without a status (HTTP/2 code ${stream.rstCode})` }));
  });
  return {
    readToEnd: () => {
      stream.resume();
      return status;
    },
    close: () => session.destroy(),
  };
}
