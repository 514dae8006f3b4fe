/**
 * Names of databases, branches and tags. They appear in refs, paths and SQL, so the alphabets are
 * closed:
 *
 * - a database name is 1-64 characters from `A-Z a-z 0-9 _ -` (it is a folder name and a DuckDB
 *   catalog name);
 * - a branch or tag name follows git's rules on a smaller alphabet: parts of `A-Z a-z 0-9 _ - .`
 *   separated by `/` (`feature/x`, `v1.2.0`), no empty part, no leading or trailing `/`, no `..`,
 *   no part that starts with `.` or `-` or ends with `.lock`, at most 100 characters.
 *
 * A new branch or tag may not be called `HEAD`, nor look like a snapshot id prefix (7 or more hex
 * characters): refs resolve branch, then tag, then id prefix, so such a name would hide the
 * snapshot whose id starts with it.
 */
import { InvalidArgumentError } from './errors.js';
import { MIN_PREFIX_LENGTH } from './hash.js';

export type NameKind = 'database' | 'branch' | 'tag';

/** The symbolic ref for the working copy's current branch. */
export const HEAD = 'HEAD';

const DATABASE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const REF_NAME_PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const REF_NAME_MAX = 100;
const LOOKS_LIKE_ID = new RegExp(`^[0-9a-f]{${MIN_PREFIX_LENGTH},}$`, 'i');

const RULES: Record<NameKind, string> = {
  database: 'use 1-64 characters from A-Z a-z 0-9 _ -',
  branch: refRules('branch'),
  tag: refRules('tag'),
};

function refRules(kind: string): string {
  return `a ${kind} name is 1-${REF_NAME_MAX} characters from A-Z a-z 0-9 _ - . /, in parts separated by single slashes, with no "..", and no part starting with "." or "-" or ending in ".lock"`;
}

function isRefName(name: string): boolean {
  if (name.length === 0 || name.length > REF_NAME_MAX || name.includes('..')) return false;
  return name.split('/').every((part) => REF_NAME_PART.test(part) && !part.endsWith('.lock'));
}

/** Checks the syntax of a name that is looked up (an existing one may predate newer rules). */
export function validateName(kind: NameKind, name: string): string {
  const ok = typeof name === 'string' && (kind === 'database' ? DATABASE_NAME.test(name) : isRefName(name));
  if (!ok) throw new InvalidArgumentError(`invalid ${kind} name ${JSON.stringify(name)}: ${RULES[kind]}`);
  return name;
}

/** Checks a name about to be created: its syntax, and that refs could not read it as something else. */
export function validateNewName(kind: NameKind, name: string): string {
  validateName(kind, name);
  if (kind === 'database') return name;
  if (name === HEAD) throw new InvalidArgumentError(`invalid ${kind} name "HEAD": it always means the working copy's current branch`);
  if (LOOKS_LIKE_ID.test(name)) {
    throw new InvalidArgumentError(
      `invalid ${kind} name ${JSON.stringify(name)}: ${MIN_PREFIX_LENGTH} or more hex characters read as a snapshot id prefix; add a letter outside a-f or a "-"`,
    );
  }
  return name;
}

/** Whether `rev` (the part of a ref after `@`) can be a branch, a tag, an id prefix or HEAD. */
export function isValidRev(rev: string): boolean {
  return isRefName(rev);
}
