/**
 * Typed errors. Each one names the object it concerns, so the CLI can print one clear line and
 * scripts can branch on `code`. Nothing here carries a stack into user output: the CLI shows a
 * stack only with --debug.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'AMBIGUOUS_REF'
  | 'CONFLICT'
  | 'LEASE_HELD'
  | 'DIRTY_WORKING_COPY'
  | 'READ_ONLY'
  | 'CORRUPT_OBJECT'
  | 'NOT_A_REPOSITORY'
  | 'SQL_ERROR'
  | 'BUSY'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL';

export class OpenDuckError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends OpenDuckError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** `kind` is what was looked up ("database", "branch", "tag", "ref", "snapshot", "object"). */
export class NotFoundError extends OpenDuckError {
  constructor(
    readonly kind: string,
    readonly object: string,
    hint?: string,
  ) {
    super('NOT_FOUND', `${kind} not found: ${object}${hint ? ` (${hint})` : ''}`);
  }
}

export class AlreadyExistsError extends OpenDuckError {
  constructor(
    readonly kind: string,
    readonly object: string,
  ) {
    super('ALREADY_EXISTS', `${kind} already exists: ${object}`);
  }
}

export class AmbiguousRefError extends OpenDuckError {
  constructor(
    readonly ref: string,
    readonly candidates: string[],
  ) {
    super('AMBIGUOUS_REF', `ambiguous ref ${ref}: matches ${candidates.join(', ')}`);
  }
}

/** A compare-and-swap lost: somebody else moved the object first. */
export class ConflictError extends OpenDuckError {
  constructor(
    readonly object: string,
    message: string,
  ) {
    super('CONFLICT', message);
  }
}

export class LeaseHeldError extends OpenDuckError {
  constructor(
    readonly object: string,
    readonly holder: string,
  ) {
    super('LEASE_HELD', `${object} is being written by ${holder}; try again when it finishes`);
  }
}

export class DirtyWorkingCopyError extends OpenDuckError {
  constructor(
    readonly database: string,
    action: string,
  ) {
    super(
      'DIRTY_WORKING_COPY',
      `working copy of ${database} has unsnapshotted changes; run openduck snapshot create ${database} first, or ${action} --force to discard them`,
    );
  }
}

export class ReadOnlyError extends OpenDuckError {
  constructor(
    readonly ref: string,
    detail: string,
  ) {
    super('READ_ONLY', `${ref} is a committed snapshot and is read-only (${detail}); write to the working copy with --db ${ref.split('@')[0]}`);
  }
}

/** An object whose bytes do not match its checksum, or whose structure does not decode. */
export class CorruptObjectError extends OpenDuckError {
  constructor(
    readonly object: string,
    readonly detail: string,
  ) {
    super('CORRUPT_OBJECT', `corrupt object ${object}: ${detail}`);
  }
}

export class NotARepositoryError extends OpenDuckError {
  constructor(readonly searched: string) {
    super('NOT_A_REPOSITORY', 'not an openduck repository (run openduck init)');
  }
}

export class SqlError extends OpenDuckError {
  constructor(
    readonly database: string,
    message: string,
  ) {
    super('SQL_ERROR', `${database}: ${message}`);
  }
}

/** A store that stayed locked by another process for longer than we are willing to wait. */
export class BusyError extends OpenDuckError {
  constructor(
    readonly object: string,
    detail: string,
  ) {
    super('BUSY', `${object} is busy: ${detail}`);
  }
}

/** A request needed more than a bound allows; `cap` names the bound (e.g. "--max-memory 2GB"). */
export class ResourceExhaustedError extends OpenDuckError {
  constructor(
    readonly cap: string,
    message: string,
  ) {
    super('RESOURCE_EXHAUSTED', message);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
