/**
 * `openduck demo`: a guided tour on the embedded default. It creates a throwaway repository and,
 * for each step, prints the exact command a user would type, then runs the library function that
 * command runs and prints the result through the command's own renderer. So the transcript is what
 * the commands print (a test replays it through the CLI), and it doubles as a cheat sheet. The
 * repository is left in place to explore.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Repository } from '../../core/repository.js';
import { shortId } from '../../core/hash.js';
import { createDatabase } from '../../core/verbs/database.js';
import { createSnapshot } from '../../core/verbs/snapshot.js';
import { checkout, createBranch } from '../../core/verbs/branch.js';
import { createTag } from '../../core/verbs/tag.js';
import { openDiff } from '../../core/verbs/diff.js';
import { renderDiff } from '../render/diff.js';
import { log } from '../../core/verbs/log.js';
import { runLocalQuery } from '../local-query.js';
import { branchCreated, checkedOut, databaseCreated, initialized, logLines, snapshotCreated, tagCreated } from '../render/reports.js';

export const PRODUCTS_CSV = fileURLToPath(new URL('../../../fixtures/shop/products.csv', import.meta.url));

export interface DemoResult {
  repository: string;
  snapshots: { loaded: string; shipped: string; experiment: string };
}

type Print = (line: string) => void;

const REVENUE = 'SELECT category, round(sum(price * qty), 2) AS revenue FROM orders JOIN products USING (pid) GROUP BY 1 ORDER BY 1';

export async function runDemo(print: Print, parent?: string): Promise<DemoResult> {
  const root = resolve(parent ?? (await mkdtemp(join(tmpdir(), 'openduck-demo-'))), '.openduck');
  const step = (...argv: string[]) => print(`\n$ openduck ${argv.map(shellWord).join(' ')}`);

  print(`OpenDuck demo: a throwaway repository at ${root}`);
  step('init');
  const repo = await Repository.init(root);
  print(initialized(repo.root));
  try {
    const sql = async (ref: string, text: string) => {
      step('query', '--db', ref, text);
      let out = '';
      await runLocalQuery(repo, ref, text, 'table', async (t) => void (out += t));
      if (out) print(out.trimEnd());
    };
    const snapshot = async (message: string) => {
      step('snapshot', 'create', 'shop', '-m', message);
      const r = await createSnapshot(repo, 'shop', { message });
      print(snapshotCreated('shop', r, message));
      return r;
    };
    const switchTo = async (branch: string) => {
      step('checkout', 'shop', branch);
      print(checkedOut(await checkout(repo, 'shop', branch)));
    };

    step('db', 'create', 'shop');
    print(databaseCreated(await createDatabase(repo, 'shop')));

    await sql(
      'shop',
      `CREATE TABLE products AS SELECT * FROM read_csv('${PRODUCTS_CSV.replaceAll("'", "''")}'); ` +
        `CREATE TABLE orders AS SELECT i AS order_id, 1 + (hash(i) % 24)::INT AS pid, 1 + (hash(i * 31) % 5)::INT AS qty, ` +
        `['pending', 'paid', 'shipped'][1 + (hash(i * 7) % 3)::INT] AS status, DATE '2026-07-01' + (i % 92)::INT AS day FROM range(200000) r(i)`,
    );
    await sql('shop', 'SELECT count(*) AS orders, count(DISTINCT pid) AS products FROM orders');
    const loaded = await snapshot('load Q3 orders');

    await sql('shop', `UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND day < DATE '2026-08-01'`);
    const shipped = await snapshot('ship July orders');
    step('tag', 'create', 'shop', 'q3-shipped');
    print(tagCreated(await createTag(repo, 'shop', 'q3-shipped')));

    step('branch', 'create', 'shop', 'discount', '--from', 'main');
    print(branchCreated(await createBranch(repo, 'shop', 'discount', 'main')));
    await switchTo('discount');
    await sql('shop', `UPDATE products SET price = round(price * 0.8, 2) WHERE category = 'coffee'`);
    const experiment = await snapshot('20% off coffee');

    await switchTo('main');
    // Meanwhile, main moves on.
    await sql('shop', `INSERT INTO orders SELECT i, 1 + (hash(i) % 24)::INT, 1, 'pending', DATE '2026-10-01' FROM range(200000, 202000) r(i)`);
    await snapshot('October orders');

    step('diff', 'shop', 'main', 'discount', '--stat');
    const opened = await openDiff(repo, ['shop', 'main', 'discount'], { countsOnly: true });
    try {
      let out = '';
      await renderDiff(opened, { format: 'stat', skinny: false, color: false, limit: null }, async (t) => void (out += t));
      print(out.trimEnd());
    } finally {
      await opened.close();
    }

    await sql('shop@main', REVENUE);
    await sql('shop@discount', REVENUE);
    // Pinned to an id, as CI would: the same content whatever happens to branches and tags.
    await sql(`shop@${shortId(loaded.id)}`, 'SELECT status, count(*) AS orders FROM orders GROUP BY 1 ORDER BY 1');

    step('log', 'shop', '--graph');
    for (const line of logLines(await log(repo, 'shop', { graph: true }))) print(line);

    print(`\nThe repository is yours to explore:\n  export OPENDUCK_REPO=${root}\n  openduck log shop --graph\n  openduck query --db shop@q3-shipped "SELECT * FROM products LIMIT 5"`);
    return { repository: root, snapshots: { loaded: loaded.id, shipped: shipped.id, experiment: experiment.id } };
  } finally {
    await repo.close();
  }
}

/** An argument as a POSIX shell would need it: bare when safe, else in double or single quotes. */
function shellWord(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./~-]+$/.test(arg)) return arg;
  if (!/["$`\\!]/.test(arg)) return `"${arg}"`;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
