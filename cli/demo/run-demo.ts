/**
 * `openduck demo`: a guided tour on the embedded default. It creates a throwaway repository and
 * runs each step through the library, printing the command a user would type and what it
 * printed, so the output doubles as a cheat sheet. The repository is left in place to explore.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Repository } from '../../core/repository.js';
import { shortId } from '../../core/hash.js';
import { quoteLiteral } from '../../core/sql.js';
import { createDatabase } from '../../core/verbs/database.js';
import { createSnapshot } from '../../core/verbs/snapshot.js';
import { checkout, createBranch } from '../../core/verbs/branch.js';
import { createTag } from '../../core/verbs/tag.js';
import { diff } from '../../core/verbs/diff.js';
import { log } from '../../core/verbs/log.js';
import { query } from '../../core/verbs/query.js';
import { boxTable } from '../render/result.js';
import { columns, decorations, formatBytes } from '../render/format.js';

export const PRODUCTS_CSV = fileURLToPath(new URL('../../../fixtures/shop/products.csv', import.meta.url));

export interface DemoResult {
  repository: string;
  snapshots: { loaded: string; shipped: string; experiment: string };
}

type Print = (line: string) => void;

export async function runDemo(print: Print, parent?: string): Promise<DemoResult> {
  const root = join(parent ?? (await mkdtemp(join(tmpdir(), 'openduck-demo-'))), '.openduck');
  const step = (command: string) => print(`\n$ openduck ${command}`);
  const show = async (ref: string, sql: string) => {
    const r = await query(repo, ref, sql);
    const cells = r.rows.map((row) => r.columns.map((c) => (row[c] === null ? 'NULL' : String(row[c]))));
    print(boxTable(r.columns, null, cells, r.columns.map((c) => typeof r.rows[0]?.[c] === 'number')).trimEnd());
  };

  print(`OpenDuck demo: a throwaway repository at ${root}`);
  step('init');
  const repo = await Repository.init(root);
  try {
    step('db create shop');
    await createDatabase(repo, 'shop');
    print('Created database shop on branch main');

    step(`query --db shop "CREATE TABLE products AS SELECT * FROM read_csv('fixtures/shop/products.csv'); CREATE TABLE orders AS …"`);
    await query(
      repo,
      'shop',
      `CREATE TABLE products AS SELECT * FROM read_csv(${quoteLiteral(PRODUCTS_CSV)});
       CREATE TABLE orders AS
         SELECT i AS order_id, 1 + (hash(i) % 24)::INT AS pid, 1 + (hash(i * 31) % 5)::INT AS qty,
                ['pending', 'paid', 'shipped'][1 + (hash(i * 7) % 3)::INT] AS status,
                DATE '2026-07-01' + (i % 92)::INT AS day
         FROM range(200000) r(i);`,
    );
    await show('shop', 'SELECT count(*) AS orders, count(DISTINCT pid) AS products FROM orders');

    step('snapshot create shop -m "load Q3 orders"');
    const loaded = await createSnapshot(repo, 'shop', { message: 'load Q3 orders' });
    print(`[main ${shortId(loaded.id)}] load Q3 orders (${loaded.blocksChanged} blocks changed, ${formatBytes(loaded.bytesWritten)} written)`);

    step(`query --db shop "UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND day < DATE '2026-08-01'"`);
    await query(repo, 'shop', `UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND day < DATE '2026-08-01'`);
    step('snapshot create shop -m "ship July orders"');
    const shipped = await createSnapshot(repo, 'shop', { message: 'ship July orders' });
    print(`[main ${shortId(shipped.id)}] ship July orders (${shipped.blocksChanged} blocks changed, ${formatBytes(shipped.bytesWritten)} written)`);
    step('tag create shop q3-shipped');
    await createTag(repo, 'shop', 'q3-shipped');

    step('branch create shop discount --from main');
    await createBranch(repo, 'shop', 'discount', 'main');
    print('Created branch shop@discount (no data copied)');
    step('checkout shop discount');
    const switched = await checkout(repo, 'shop', 'discount');
    print(`Switched shop to branch discount (${switched.blocksRewritten} blocks rewritten)`);
    step(`query --db shop "UPDATE products SET price = round(price * 0.8, 2) WHERE category = 'coffee'"`);
    await query(repo, 'shop', `UPDATE products SET price = round(price * 0.8, 2) WHERE category = 'coffee'`);
    step('snapshot create shop -m "20% off coffee"');
    const experiment = await createSnapshot(repo, 'shop', { message: '20% off coffee' });
    print(`[discount ${shortId(experiment.id)}] 20% off coffee (${experiment.blocksChanged} blocks changed)`);

    step('checkout shop main');
    const back = await checkout(repo, 'shop', 'main');
    print(`Switched shop to branch main (${back.blocksRewritten} blocks rewritten)`);
    step(`query --db shop "INSERT INTO orders SELECT … FROM range(200000, 202000)"   # meanwhile, main moves on`);
    await query(
      repo,
      'shop',
      `INSERT INTO orders SELECT i, 1 + (hash(i) % 24)::INT, 1, 'pending', DATE '2026-10-01' FROM range(200000, 202000) r(i)`,
    );
    step('snapshot create shop -m "October orders"');
    const october = await createSnapshot(repo, 'shop', { message: 'October orders' });
    print(`[main ${shortId(october.id)}] October orders (${october.blocksChanged} blocks changed)`);

    step('diff shop main discount --stat');
    const d = await diff(repo, ['shop', 'main', 'discount'], { countsOnly: true });
    print(`diff ${d.from.ref} ${d.to.ref}: ${d.blocks.changed} of ${d.blocks.total} blocks differ`);
    print(columns(d.tables.map((t) => [`  ${t.name}`, t.status, `+${t.rows?.added ?? 0}`, `-${t.rows?.removed ?? 0}`, `~${t.rows?.modified ?? 0}`])));

    step(`query --db shop@main "SELECT category, round(sum(price * qty), 2) AS revenue FROM orders JOIN products USING (pid) GROUP BY 1 ORDER BY 1"`);
    await show('shop@main', 'SELECT category, round(sum(price * qty), 2) AS revenue FROM orders JOIN products USING (pid) GROUP BY 1 ORDER BY 1');
    step(`query --db shop@discount "…same query…"   # the branch's prices`);
    await show('shop@discount', 'SELECT category, round(sum(price * qty), 2) AS revenue FROM orders JOIN products USING (pid) GROUP BY 1 ORDER BY 1');

    step(`query --db shop@${shortId(loaded.id)} "SELECT status, count(*) FROM orders GROUP BY 1 ORDER BY 1"   # pinned, as CI would`);
    await show(`shop@${loaded.id}`, 'SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1');

    step('log shop --graph');
    const current = 'main';
    for (const e of await log(repo, 'shop', { graph: true })) {
      for (const line of e.graph?.before ?? []) print(line);
      const deco = decorations(e.branches, e.tags, current);
      print(`${e.graph?.prefix ?? ''} ${shortId(e.id)} ${deco ? deco + ' ' : ''}${e.message}`);
    }

    print(`\nThe repository is yours to explore:\n  export OPENDUCK_REPO=${root}\n  openduck log shop --graph\n  openduck query --db shop@q3-shipped "SELECT * FROM products LIMIT 5"`);
    return { repository: root, snapshots: { loaded: loaded.id, shipped: shipped.id, experiment: experiment.id } };
  } finally {
    await repo.close();
  }
}
