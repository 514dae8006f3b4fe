import { InvalidArgumentError } from './errors.js';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export type NameKind = 'database' | 'branch' | 'tag';

/** Database, branch and tag names: they appear in refs, paths and SQL, so the alphabet is closed. */
export function validateName(kind: NameKind, name: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidArgumentError(
      `invalid ${kind} name ${JSON.stringify(name)}: use 1-64 characters from A-Z a-z 0-9 _ -`,
    );
  }
  return name;
}

export function isValidName(name: string): boolean {
  return NAME.test(name);
}
