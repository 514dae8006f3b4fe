/**
 * A mistyped command: one line naming the closest command, in the style of every other error.
 * oclif hands over everything before the first flag joined with ':' (`snapshto:create:shop`), so
 * each command is compared with as many typed words as it has, and only those words are shown.
 */
import type { Hook } from '@oclif/core';
import { InvalidArgumentError } from '../../core/errors.js';

const hook: Hook.CommandNotFound = async function (opts) {
  const typed = opts.id.split(':');
  const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  let best: { id: string; words: number; distance: number } | null = null;
  for (const id of ids) {
    const words = id.split(':').length;
    const distance = editDistance(typed.slice(0, words).join(' '), id.split(':').join(' '));
    if (!best || distance < best.distance || (distance === best.distance && words > best.words)) best = { id, words, distance };
  }
  const bin = opts.config.bin;
  const shown = typed.slice(0, best?.words ?? 1).join(' ');
  // Beyond about a third of the word, a "suggestion" is a guess that misleads more than it helps.
  const close = best && best.distance <= Math.max(2, Math.ceil(shown.length / 3));
  const suggestion = close ? `; did you mean ${bin} ${best!.id.split(':').join(' ')}?` : '';
  throw new InvalidArgumentError(`unknown command ${JSON.stringify(shown)}${suggestion} (${bin} help lists every command)`);
};

export default hook;

/**
 * Edit distance with adjacent transpositions (optimal string alignment): insertions, deletions,
 * substitutions and swaps of two neighbouring letters cost one each, so "lgo" is next to "log".
 */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
