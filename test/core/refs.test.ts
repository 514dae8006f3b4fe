import { describe, expect, it } from 'vitest';
import { createDatabase, createSnapshot, createTag, createBranch, query, parseRef, resolveRef, resolveRefIn, checkout } from '../../index.js';
import { AmbiguousRefError, RefError } from '../../core/errors.js';
import { tempRepository } from '../helpers.js';

describe('refs', () => {
  it('parses the ref grammar and rejects malformed refs', () => {
    expect(parseRef('shop')).toMatchObject({ db: 'shop', rev: null, ancestry: 0 });
    expect(parseRef('shop@main~3')).toMatchObject({ db: 'shop', rev: 'main', ancestry: 3 });
    expect(parseRef('shop@main~')).toMatchObject({ ancestry: 1 });
    expect(parseRef('shop@feature/x~2')).toMatchObject({ db: 'shop', rev: 'feature/x', ancestry: 2 });
    expect(parseRef('shop@HEAD~')).toMatchObject({ rev: 'HEAD', ancestry: 1 });
    for (const bad of ['', 'sh op', 'shop@', 'shop@a b', 'shop@@x', 'shop@x~y', '../shop', 'x'.repeat(65), 'shop~1', 'shop@a//b', 'shop@/a', 'shop@a/', 'shop@a..b', 'shop@.a']) {
      expect(() => parseRef(bad), bad).toThrow(RefError);
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
    await expect(resolveRef(repo, 'shop@nope')).rejects.toThrow(RefError);
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

  it('resolves HEAD and HEAD~N to the working copy branch, and refs within a database in every form', async () => {
    const repo = await tempRepository();
    await createDatabase(repo, 'shop');
    await query(repo, 'shop', 'CREATE TABLE t(x INT)');
    const a = await createSnapshot(repo, 'shop', { message: 'a' });
    await createBranch(repo, 'shop', 'feature/x');
    await checkout(repo, 'shop', 'shop@feature/x');
    await query(repo, 'shop', 'INSERT INTO t VALUES (1)');
    const b = await createSnapshot(repo, 'shop', { message: 'b' });
    expect(await resolveRefIn(repo, 'shop', 'HEAD')).toMatchObject({ kind: 'branch', name: 'feature/x', snapshot: { id: b.id } });
    expect((await resolveRefIn(repo, 'shop')).snapshot.id).toBe(b.id);
    expect((await resolveRefIn(repo, 'shop', 'HEAD~1')).snapshot.id).toBe(a.id);
    expect((await resolveRefIn(repo, 'shop', 'shop@HEAD~1')).label).toBe('shop@HEAD~1');
    expect((await resolveRefIn(repo, 'shop', 'main')).snapshot.id).toBe(a.id);
    expect((await resolveRef(repo, `shop@${b.id}`)).label).toBe(`shop@${b.id.slice(0, 12)}`);
    const elsewhere = await resolveRefIn(repo, 'shop', 'other@main').catch((e) => e);
    expect(elsewhere).toBeInstanceOf(RefError);
    expect(elsewhere.message).toBe('ref other@main names database other, not shop');
    const far = await resolveRefIn(repo, 'shop', 'main~5').catch((e) => e);
    expect(far).toBeInstanceOf(RefError);
    expect(far.message).toContain('shop@main~5');
    await repo.close();
  });
});
