/**
 * How every failure reaches the user: one line on stderr, `error: …`, and a non-zero exit; a stack
 * only with --debug or OPENDUCK_DEBUG. Commands, the not-found hook and anything oclif raises
 * before a command runs all print through here, so they look alike.
 */
import { Errors } from '@oclif/core';
import { OpenDuckError, errorMessage } from '../core/errors.js';

export function oneLine(err: Error): string {
  if (err instanceof OpenDuckError) return err.message.split('\n')[0]!;
  if (err instanceof Errors.CLIError) {
    // oclif's parse errors span lines ("Missing 1 required arg:\ndb …\nSee more help with --help").
    const lines = errorMessage(err)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^See more help/.test(l) && !/^The following errors? occurred:?$/.test(l));
    return `${lines.join(': ').replace(/:\s*:/g, ':')} (see --help)`;
  }
  return errorMessage(err).split('\n')[0]!;
}

export function debugEnabled(argv: string[]): boolean {
  return argv.includes('--debug') || !!process.env.OPENDUCK_DEBUG;
}

/** Prints `err` as one line (and its stack with --debug); returns the exit code to use. */
export function reportError(err: Error & { exitCode?: unknown; oclif?: { exit?: number } }, argv: string[]): number {
  process.stderr.write(`error: ${oneLine(err)}\n`);
  if (debugEnabled(argv) && err.stack) process.stderr.write(err.stack + '\n');
  const code = typeof err.exitCode === 'number' ? err.exitCode : err.oclif?.exit;
  return typeof code === 'number' && code !== 0 ? code : 1;
}
