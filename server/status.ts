/**
 * Errors on the wire: gRPC status codes with a human message. One table maps our typed errors
 * to codes on the way out, and codes back to typed errors on the way in, so the CLI prints the
 * same one-line message whether a command ran locally or on a server.
 */
import * as grpc from '@grpc/grpc-js';
import { OpenDuckError, errorMessage, type ErrorCode } from '../core/errors.js';

const CODE_FOR: Record<ErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  AMBIGUOUS_REF: grpc.status.INVALID_ARGUMENT,
  CONFLICT: grpc.status.ABORTED,
  LEASE_HELD: grpc.status.ABORTED,
  DIRTY_WORKING_COPY: grpc.status.FAILED_PRECONDITION,
  READ_ONLY: grpc.status.FAILED_PRECONDITION,
  CORRUPT_OBJECT: grpc.status.DATA_LOSS,
  DAMAGED_FILE: grpc.status.DATA_LOSS,
  NOT_A_REPOSITORY: grpc.status.FAILED_PRECONDITION,
  SQL_ERROR: grpc.status.INVALID_ARGUMENT,
  BUSY: grpc.status.UNAVAILABLE,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INCOMPATIBLE: grpc.status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  INTERNAL: grpc.status.INTERNAL,
};

export interface StatusError extends Error {
  code: grpc.status;
  details: string;
}

export function toStatusError(err: unknown): Partial<grpc.StatusObject> & Error {
  if (isStatusError(err)) return err;
  const code = err instanceof OpenDuckError ? CODE_FOR[err.code] : grpc.status.INTERNAL;
  const details = errorMessage(err).split('\n')[0]!;
  return Object.assign(new Error(details), { code, details });
}

export function statusError(code: grpc.status, details: string): StatusError {
  return Object.assign(new Error(details), { code, details });
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof Error && typeof (err as Partial<StatusError>).code === 'number' && typeof (err as Partial<StatusError>).details === 'string';
}

/** Errors a remote call raised, turned back into typed errors with the server's message. */
export class RemoteError extends OpenDuckError {
  /**
   * @param reason why it failed, without the endpoint (for lines that name it already)
   * @param unreachable the client's own connection failed, as opposed to the server answering
   */
  constructor(
    readonly status: grpc.status,
    readonly reason: string,
    endpoint = '',
    readonly unreachable = false,
  ) {
    super(remoteCode(status), !endpoint ? reason : unreachable ? `${endpoint} is unreachable: ${reason}` : `${endpoint}: ${reason}`);
  }
}

function remoteCode(status: grpc.status): ErrorCode {
  switch (status) {
    case grpc.status.INVALID_ARGUMENT:
      return 'INVALID_ARGUMENT';
    case grpc.status.NOT_FOUND:
      return 'NOT_FOUND';
    case grpc.status.ALREADY_EXISTS:
      return 'ALREADY_EXISTS';
    case grpc.status.ABORTED:
      return 'CONFLICT';
    case grpc.status.UNAVAILABLE:
      return 'BUSY';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'RESOURCE_EXHAUSTED';
    default:
      return 'INTERNAL';
  }
}

/** grpc-js ends connection errors with "Resolution note: …", which tells a user nothing. */
export function withoutResolutionNote(text: string): string {
  return text.replace(/\s*Resolution note:[^\n]*$/, '');
}

/** The message a user sees for a failed remote call: the server's words, or ours for transport failures. */
export function fromStatusError(err: unknown, endpoint: string): OpenDuckError {
  if (!isStatusError(err)) return err instanceof OpenDuckError ? err : new OpenDuckError('INTERNAL', errorMessage(err));
  const details = err.details || grpc.status[err.code] || 'error';
  switch (err.code) {
    case grpc.status.UNAUTHENTICATED:
      return new RemoteError(err.code, 'authentication failed (wrong or missing token; set --token or OPENDUCK_TOKEN)', endpoint);
    case grpc.status.UNAVAILABLE: {
      // Only the client's own connection failing means the endpoint is unreachable; a server may
      // also report UNAVAILABLE about its workers, in its own words.
      const own = /^(No connection established|connect ECONNREFUSED|Failed to connect|Connection dropped)/i.test(details);
      const clean = withoutResolutionNote(details);
      return own ? new RemoteError(err.code, clean, endpoint, true) : new RemoteError(err.code, clean);
    }
    case grpc.status.CANCELLED:
      // The server's own reason when it gives one ("cancelled: the client read nothing for …").
      return new RemoteError(err.code, /^cancelled: /.test(details) ? details : 'cancelled');
    case grpc.status.DEADLINE_EXCEEDED:
      return new RemoteError(err.code, 'deadline exceeded', endpoint);
    default:
      return new RemoteError(err.code, details);
  }
}
