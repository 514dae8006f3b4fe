import { describe, expect, it } from 'vitest';
import { createDatabase, createSnapshot, createTag, createBranch, query, parseRef, resolveRef } from '../../index.js';
import { AmbiguousRefError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import { tempRepository } from '../helpers.js';

describe('refs', () => {
  it('parses the ref grammar and rejects malformed refs', () => {
    expect(parseRef('shop')).toMatchObject({ db: 'shop', rev: null, ancestry: 0 });
    expect(parseRef('shop@main~3')).toMatchObject({ db: 'shop', rev: 'main', ancestry: 3 });
    expect(parseRef('shop@main~')).toMatchObject({ ancestry: 1 });
    for (const bad of ['', 'sh op', 'shop@', 'shop@a b', 'shop@@x', 'shop@x~y', '../shop', 'x'.repeat(65)]) {
      expect(() => parseRef(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('resolves branches, tags, id prefixes and ancestry, and lists ambiguous candidates', async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t(x INT)');
    const a = await createSnapshot(repo, 'shop', { message: 'a' });
    await query(repo, 'shop', 'INSERT INTO t VALUES (1)');
    const b = await createSnapshot(repo, 'shop', { message: 'b' });
    await createTag(repo, 'shop', 'v1', 'main~1');
    await createBranch(repo, 'shop', 'dev', a.id.slice(0, 7));

    expect((await resolveRef(repo, 'shop@main')).snapshot.id).toBe(b.id);
    expect((await resolveRef(repo, 'shop@v1')).snapshot.id).toBe(a.id);
    expect((await resolveRef(repo, 'shop@dev')).snapshot.id).toBe(a.id);
    expect((await resolveRef(repo, `shop@${b.id.slice(0, 7)}`)).snapshot.id).toBe(b.id);
    expect((await resolveRef(repo, `shop@${b.id}~1`)).snapshot.id).toBe(a.id);
    expect((await resolveRef(repo, 'shop')).snapshot.id).toBe(b.id);
    await expect(resolveRef(repo, 'shop@main~9')).rejects.toThrow(/has only 3 snapshots/);
    await expect(resolveRef(repo, `shop@${b.id.slice(0, 6)}`)).rejects.toThrow(/at least 7/);
    await expect(resolveRef(repo, 'shop@nope')).rejects.toThrow(NotFoundError);
    await expect(resolveRef(repo, 'other@main')).rejects.toThrow(/database not found: other/);

    // Two snapshots sharing a 7-character prefix: insert rows whose ids collide on purpose.
    const base = (await repo.metadata.getSnapshot('shop', a.id))!;
    const twins = ['feedbee1', 'feedbee2'].map((p) => p + '0'.repeat(56));
    for (const id of twins) await repo.metadata.putSnapshot({ ...base, id });
    const err = await resolveRef(repo, 'shop@feedbee').catch((e) => e);
    expect(err).toBeInstanceOf(AmbiguousRefError);
    expect(err.message).toContain('feedbee10000');
    expect(err.message).toContain('feedbee20000');
    expect((await resolveRef(repo, 'shop@feedbee2')).snapshot.id).toBe(twins[1]);
    await repo.close();
  });
});
