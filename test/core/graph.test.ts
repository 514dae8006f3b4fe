import { describe, expect, it } from 'vitest';
import { layoutGraph, topoOrder, type GraphNode } from '../../core/history.js';

const node = (id: string, parents: string[], createdAt: number): GraphNode => ({ id, parents, createdAt });

function render(nodes: GraphNode[]): string {
  const ordered = topoOrder(nodes);
  const lines = layoutGraph(ordered);
  return ordered.flatMap((n, i) => [...lines[i]!.before, `${lines[i]!.prefix} ${n.id}`, ...lines[i]!.after]).join('\n');
}

describe('log --graph layout', () => {
  it('draws a straight history as one lane', () => {
    expect(render([node('a', [], 1), node('b', ['a'], 2), node('c', ['b'], 3)])).toBe('* c\n* b\n* a');
  });

  it('draws a fork that rejoins its parent', () => {
    const nodes = [node('root', [], 1), node('base', ['root'], 2), node('main2', ['base'], 3), node('exp1', ['base'], 4), node('exp2', ['exp1'], 5)];
    expect(render(nodes)).toBe(['* exp2', '* exp1', '| * main2', '|/', '* base', '* root'].join('\n'));
  });

  it('keeps children above parents even when clocks disagree', () => {
    const ordered = topoOrder([node('parent', [], 10), node('child', ['parent'], 5)]);
    expect(ordered.map((n) => n.id)).toEqual(['child', 'parent']);
  });

  it('draws three branches off one snapshot and a merge', () => {
    const nodes = [node('r', [], 1), node('a', ['r'], 2), node('b', ['r'], 3), node('c', ['r'], 4), node('m', ['c', 'b'], 5)];
    const text = render(nodes);
    expect(text.split('\n')[0]).toBe('* m');
    expect(text).toContain('|\\');
    expect(text.split('\n').at(-1)).toBe('* r');
    // Every lane that opened is closed again by the time the root is drawn.
    expect(text.match(/\//g)!.length).toBeGreaterThanOrEqual(2);
  });
});
