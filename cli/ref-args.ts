/**
 * Commands that take a database and a ref accept them as two arguments (`shop v1`) or as one
 * (`shop@v1`), like `query --db shop@v1`. The ref text is passed on whole to core's
 * resolveRefIn, so errors name it as it was typed.
 */
import { InvalidArgumentError } from '../core/errors.js';

/** Said in the --help of every command that takes a ref. */
export const REF_HELP =
  'A ref is HEAD (the working copy’s branch), a branch, a tag or a snapshot id prefix of 7+ hex characters, looked up in that order, optionally followed by ~N for the N-th first parent; a branch or tag name cannot look like an id prefix.';

/** `first` is DB or DB@REF; `second` is a REF given apart. Giving both is refused rather than guessed. */
export function dbAndRef(first: string, second: string | undefined): { db: string; ref: string | undefined } {
  const at = first.indexOf('@');
  if (at === -1) return { db: first, ref: second };
  if (second !== undefined) throw new InvalidArgumentError(`give the ref once: ${first}, or ${first.slice(0, at)} ${second}`);
  return { db: first.slice(0, at), ref: first };
}
