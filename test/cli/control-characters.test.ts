import { describe, expect, it } from 'vitest';
import { cliRepository } from '../helpers.js';

/**
 * Messages and authors are stored as given, so they may hold terminal escape sequences. Human
 * output shows them escaped; --json keeps them exact.
 */
describe('control characters in stored text', () => {
  it('log, snapshot list and snapshot show print them escaped, and --json keeps them as they are', async () => {
    const repo = await cliRepository();
    const message = 'load \u001b[31mred\u001b[0m\nfake line \u202eevil';
    const author = 'mallory\u0007\r';
    await repo.run('query', '--db', 'shop', 'CREATE TABLE t AS SELECT 1 AS x');
    const made = await repo.runWith({ OPENDUCK_AUTHOR: author }, 'snapshot', 'create', 'shop', '-m', message);
    expect(made.exitCode, made.stderr).toBe(0);

    for (const args of [['log', 'shop'], ['snapshot', 'list', 'shop'], ['snapshot', 'show', 'shop@main']]) {
      const r = await repo.run(...args);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout, args.join(' ')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
      expect(r.stdout, args.join(' ')).toContain('load \\x1b[31mred\\x1b[0m\\nfake line \\u202eevil');
      expect(r.stdout, args.join(' ')).toContain('mallory\\x07\\r');
    }
    const json = JSON.parse((await repo.run('log', 'shop', '--json')).stdout) as Array<{ message: string; author: string }>;
    expect(json[0]).toMatchObject({ message, author });
  });
});
