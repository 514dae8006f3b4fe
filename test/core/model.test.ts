import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkout, createBranch, createDatabase, createSnapshot, fsck, query, restoreSnapshot } from '../../index.js';
import { tempRepository } from '../helpers.js';

/**
 * A randomized walk of writes and version-control steps, checked after every step against a
 * model kept here: the working copy must hold exactly the model's rows, and every snapshot ever
 * made must still read back what it held when it was made. The writes include the ones DuckDB's
 * block checksum is blind to: values swapped between rows and tables rewritten in another order
 * into the blocks they freed. Set OPENDUCK_TEST_SEED to replay a run.
 */

interface Row {
  id: number;
  v: number;
  s: string;
  w?: number;
}

interface Content {
  t: Map<number, Row>;
  /** The second table, (id, v), when it exists. */
  u: Map<number, { id: number; v: number }> | null;
  /** Whether t has column w. */
  hasW: boolean;
}

const ROUNDS = 60;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const valueOf = (id: number, salt: number) => (id * 7919 + salt) % 1000003;
const wOf = (id: number) => (id * 3) % 17;

function copy(c: Content): Content {
  return {
    t: new Map([...c.t].map(([k, r]) => [k, { ...r }])),
    u: c.u ? new Map([...c.u].map(([k, r]) => [k, { ...r }])) : null,
    hasW: c.hasW,
  };
}

/** Rows as DuckDB returns them, ordered by id, for an exact comparison. */
function expectedRows(c: Content): { t: unknown[]; u: unknown[] | null } {
  const t = [...c.t.values()].sort((a, b) => a.id - b.id).map((r) => (c.hasW ? { id: r.id, v: r.v, s: r.s, w: r.w } : { id: r.id, v: r.v, s: r.s }));
  const u = c.u ? [...c.u.values()].sort((a, b) => a.id - b.id) : null;
  return { t, u };
}

function fingerprintSql(c: Content): string {
  const t = `SELECT count(*) || ':' || coalesce(sum(hash(id, v, s${c.hasW ? ', w' : ''}))::VARCHAR, '-') FROM t`;
  const u = c.u ? `SELECT count(*) || ':' || coalesce(sum(hash(id, v))::VARCHAR, '-') FROM u` : `SELECT 'none'`;
  return `SELECT (${t}) AS t, (${u}) AS u`;
}

describe('a randomized walk against a model', () => {
  it(`keeps the working copy and every snapshot exactly as written, over ${ROUNDS} rounds`, { timeout: 600_000 }, async () => {
    const seed = Number(process.env.OPENDUCK_TEST_SEED ?? Date.now() % 1_000_000_007);
    const random = mulberry32(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const context = (step: string) => `seed ${seed} (OPENDUCK_TEST_SEED=${seed} replays it), at ${step}`;

    const repo = await tempRepository();
    // Keep every snapshot materialized: the walk reads all of them after every step.
    const configPath = join(repo.root, 'config.toml');
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(/max_snapshots = \d+/, 'max_snapshots = 100'));
    await repo.close();
    const { Repository } = await import('../../core/repository.js');
    const r = await Repository.open({ repo: repo.root });
    await createDatabase(r, 'shop');

    let model: Content = { t: new Map(), u: null, hasW: false };
    let nextId = 0;
    const insert = async (count: number) => {
      const salt = int(0, 999);
      const from = nextId;
      nextId += count;
      await query(
        r,
        'shop',
        `INSERT INTO t${model.hasW ? ' (id, v, s, w)' : ''} SELECT i, (i * 7919 + ${salt}) % 1000003, md5(i::VARCHAR || ':' || ((i * 7919 + ${salt}) % 1000003)::VARCHAR)` +
          `${model.hasW ? ', (i * 3) % 17' : ''} FROM range(${from}, ${nextId}) r(i)`,
      );
      for (let id = from; id < nextId; id++) {
        const v = valueOf(id, salt);
        model.t.set(id, { id, v, s: md5(`${id}:${v}`), ...(model.hasW ? { w: wOf(id) } : {}) });
      }
    };
    await query(r, 'shop', 'CREATE TABLE t (id BIGINT, v BIGINT, s VARCHAR)');
    await insert(20_000);

    const snapshots = new Map<string, { content: Content; fingerprint: unknown }>();
    const heads = new Map<string, string>();
    let branch = 'main';
    let dirty = true;

    const fingerprintOf = async (ref: string, c: Content) => (await query(r, ref, fingerprintSql(c))).rows[0];
    const snapshot = async () => {
      const made = await createSnapshot(r, 'shop', { message: 'walk' });
      if (made.created) snapshots.set(made.id, { content: copy(model), fingerprint: await fingerprintOf('shop', model) });
      heads.set(branch, made.id);
      dirty = false;
      return made;
    };
    await snapshot();

    const checkWorkingCopy = async (step: string) => {
      const want = expectedRows(model);
      const cols = model.hasW ? 'id, v, s, w' : 'id, v, s';
      expect((await query(r, 'shop', `SELECT ${cols} FROM t ORDER BY id`)).rows, context(step)).toEqual(want.t);
      const tables = (await query(r, 'shop', "SELECT table_name FROM duckdb_tables() WHERE table_name = 'u'")).rows;
      expect(tables.length, context(step)).toBe(want.u ? 1 : 0);
      if (want.u) expect((await query(r, 'shop', 'SELECT id, v FROM u ORDER BY id')).rows, context(step)).toEqual(want.u);
    };
    const checkSnapshots = async (step: string) => {
      for (const [id, s] of snapshots) expect(await fingerprintOf(`shop@${id}`, s.content), context(`${step}, snapshot ${id.slice(0, 12)}`)).toEqual(s.fingerprint);
    };

    const ops: Array<[number, string, () => Promise<void>]> = [
      [3, 'insert', () => insert(int(1, 3000))],
      [3, 'update', async () => {
        const m = int(2, 40);
        const rem = int(0, m - 1);
        const d = int(1, 1000);
        await query(r, 'shop', `UPDATE t SET v = v + ${d} WHERE id % ${m} = ${rem}`);
        for (const row of model.t.values()) if (row.id % m === rem) row.v += d;
      }],
      [3, 'swap two rows', async () => {
        const ids = [...model.t.keys()];
        if (ids.length < 2) return;
        const a = pick(ids);
        const b = pick(ids);
        const ra = model.t.get(a)!;
        const rb = model.t.get(b)!;
        await query(r, 'shop', `UPDATE t SET v = CASE id WHEN ${a} THEN ${rb.v} ELSE ${ra.v} END, s = CASE id WHEN ${a} THEN '${rb.s}' ELSE '${ra.s}' END WHERE id IN (${a}, ${b})`);
        [ra.v, rb.v, ra.s, rb.s] = [rb.v, ra.v, rb.s, ra.s];
      }],
      [2, 'delete', async () => {
        const m = int(3, 60);
        const rem = int(0, m - 1);
        await query(r, 'shop', `DELETE FROM t WHERE id % ${m} = ${rem}`);
        for (const id of [...model.t.keys()]) if (id % m === rem) model.t.delete(id);
      }],
      [3, 'rewrite in another order', async () => {
        await query(r, 'shop', `CREATE OR REPLACE TABLE t AS SELECT * FROM t ORDER BY hash(id + ${int(0, 1_000_000)})`);
      }],
      [1, 'add or drop column w', async () => {
        if (model.hasW) {
          await query(r, 'shop', 'ALTER TABLE t DROP COLUMN w');
          for (const row of model.t.values()) delete row.w;
        } else {
          await query(r, 'shop', 'ALTER TABLE t ADD COLUMN w BIGINT; UPDATE t SET w = (id * 3) % 17');
          for (const row of model.t.values()) row.w = wOf(row.id);
        }
        model.hasW = !model.hasW;
      }],
      [1, 'create or drop table u', async () => {
        if (model.u) {
          await query(r, 'shop', 'DROP TABLE u');
          model.u = null;
        } else {
          const m = int(2, 9);
          await query(r, 'shop', `CREATE TABLE u AS SELECT id, v FROM t WHERE id % ${m} = 0`);
          model.u = new Map([...model.t.values()].filter((row) => row.id % m === 0).map((row) => [row.id, { id: row.id, v: row.v }]));
        }
      }],
      [4, 'snapshot create', async () => void (await snapshot())],
      [2, 'checkout', async () => {
        const target = pick([...heads.keys(), `b${int(0, 9)}`]);
        if (target === branch) return;
        if (!heads.has(target)) {
          const from = pick([...snapshots.keys()]);
          await createBranch(r, 'shop', target, `shop@${from}`);
          heads.set(target, from);
        }
        const discard = dirty && random() < 0.5;
        if (dirty && !discard) await snapshot();
        await checkout(r, 'shop', target, { force: discard });
        branch = target;
        model = copy(snapshots.get(heads.get(branch)!)!.content);
        dirty = false;
      }],
      [1, 'restore', async () => {
        const from = pick([...snapshots.keys()]);
        const restored = await restoreSnapshot(r, 'shop', `shop@${from}`, { force: true });
        model = copy(snapshots.get(from)!.content);
        if (restored.created) {
          snapshots.set(restored.id, { content: copy(model), fingerprint: snapshots.get(from)!.fingerprint });
          heads.set(branch, restored.id);
        }
        dirty = false;
      }],
    ];
    const weights = ops.reduce((n, [w]) => n + w, 0);

    const started = performance.now();
    for (let round = 1; round <= ROUNDS; round++) {
      let x = random() * weights;
      const [, name, run] = ops.find(([w]) => (x -= w) < 0)!;
      const step = `round ${round}: ${name}`;
      await run();
      if (!['snapshot create', 'checkout', 'restore'].includes(name)) dirty = true;
      await checkWorkingCopy(step);
      await checkSnapshots(step);
      if (process.env.OPENDUCK_TEST_TRACE) process.stderr.write(`${step} ${((performance.now() - started) / 1000).toFixed(1)} s, ${snapshots.size} snapshots\n`);
    }

    // At the end, every snapshot row for row, not just by fingerprint.
    for (const [id, s] of snapshots) {
      const want = expectedRows(s.content);
      expect((await query(r, `shop@${id}`, `SELECT ${s.content.hasW ? 'id, v, s, w' : 'id, v, s'} FROM t ORDER BY id`)).rows, context(`final ${id}`)).toEqual(want.t);
      if (want.u) expect((await query(r, `shop@${id}`, 'SELECT id, v FROM u ORDER BY id')).rows, context(`final ${id}`)).toEqual(want.u);
    }
    expect(snapshots.size, context('end')).toBeGreaterThan(5);
    const report = await fsck(r);
    expect(report.problems, context('fsck')).toEqual([]);
    await r.close();
  });
});
