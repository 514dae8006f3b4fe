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
  | 'DAMAGED_FILE'
  | 'NOT_A_REPOSITORY'
  | 'SQL_ERROR'
  | 'BUSY'
  | 'UNAVAILABLE'
  | 'INCOMPATIBLE'
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

/**
 * A ref that names no snapshot: malformed, unknown, for another database, further back than the
 * history goes, or ambiguous. Every verb that takes a ref fails with this one type; `code` says
 * which case it is, so the server maps it to the right status.
 */
export class RefError extends OpenDuckError {
  constructor(
    code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'AMBIGUOUS_REF',
    /** The ref as the user gave it. */
    readonly ref: string,
    message: string,
  ) {
    super(code, message);
  }
}

export class AmbiguousRefError extends RefError {
  constructor(
    ref: string,
    readonly candidates: string[],
  ) {
    super('AMBIGUOUS_REF', ref, `ambiguous ref ${ref}: matches ${candidates.join(', ')}`);
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

/**
 * A local file (a working copy, a cached snapshot, a state file) whose bytes are not what they
 * must be. Unlike CorruptObjectError it is about a file we can rebuild, so `hint` says how.
 */
export class DamagedFileError extends OpenDuckError {
  constructor(
    readonly file: string,
    readonly detail: string,
    hint?: string,
  ) {
    super('DAMAGED_FILE', `damaged file ${file}: ${detail}${hint ? `; ${hint}` : ''}`);
  }
}

/** A file that ended before the bytes its structure promises. */
export class TruncatedFileError extends DamagedFileError {
  constructor(
    file: string,
    readonly offset: number,
  ) {
    super(file, `unexpected end of file at byte ${offset}`);
  }
}

/** The working copy file is damaged: it fails DuckDB's own checks, so it is never sealed. */
export class DamagedWorkingCopyError extends OpenDuckError {
  constructor(
    readonly database: string,
    readonly file: string,
    readonly detail: string,
    branch: string,
  ) {
    super(
      'DAMAGED_FILE',
      `working copy of ${database} is damaged (${file}: ${detail}); nothing was committed. ` +
        `Rebuild it from its branch with: openduck checkout ${database} ${branch} --force (unsnapshotted changes are lost)`,
    );
  }
}

/** The working copy file is gone. It is never recreated silently: that would hide the loss. */
export class MissingWorkingCopyError extends NotFoundError {
  constructor(
    readonly database: string,
    readonly file: string,
    branch: string,
  ) {
    super('working copy', `${database} (${file})`, `rebuild it from its branch with: openduck checkout ${database} ${branch} --force`);
  }
}

/** The repository's metadata store is gone. Recreating it empty would hide every database. */
export class MissingMetadataError extends OpenDuckError {
  constructor(readonly file: string) {
    super(
      'NOT_FOUND',
      `repository metadata not found: ${file} is missing. OpenDuck will not recreate it (that would hide every database and its history); restore it from a backup`,
    );
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

/**
 * A store (PostgreSQL, S3) that cannot be reached, or that answered but refused us (`reachable`:
 * bad credentials, a missing bucket). `service` names it without credentials ("PostgreSQL at
 * db.internal:5432/openduck"), so the user knows which one to fix.
 */
export class StoreUnavailableError extends OpenDuckError {
  constructor(
    readonly service: string,
    readonly detail: string,
    options: { reachable?: boolean; cause?: unknown } = {},
  ) {
    super('UNAVAILABLE', options.reachable ? `${service}: ${detail}` : `${service} is unreachable: ${detail}`, { cause: options.cause });
  }
}

/** A store written by a newer OpenDuck (a schema or format this code does not know). */
export class IncompatibleStoreError extends OpenDuckError {
  constructor(
    readonly store: string,
    detail: string,
  ) {
    super('INCOMPATIBLE', `${store}: ${detail}`);
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
