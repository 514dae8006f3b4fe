import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { OpenDuckCommand } from '../base-command.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { renderResult, type ResultFormat } from '../render/result.js';
import { runLocalQuery } from '../local-query.js';
import { explicitEndpoint, remoteFlags } from '../remote-flags.js';

export default class Query extends OpenDuckCommand {
  static override summary = 'Run SQL against a database or a snapshot';
  static override description = `SQL comes from the argument, --file, or stdin. --db DB opens the current branch's working copy read-write. Any DB@REF (branch, tag, snapshot id prefix, BRANCH~N) reads that committed snapshot read-only. With --endpoint (or OPENDUCK_ENDPOINT) the same query runs on a server and its result streams back.`;
  static override examples = [
    `<%= config.bin %> query --db shop "CREATE TABLE users AS SELECT range AS id FROM range(10)"`,
    `<%= config.bin %> query --db shop@3f2a9c1e07aa "SELECT count(*) FROM users" --format json`,
    `echo "SELECT 42" | <%= config.bin %> query --db shop@main --format csv`,
    `<%= config.bin %> query --endpoint 127.0.0.1:7878 --db shop@main "SELECT count(*) FROM users" --execution-id nightly-1`,
    `<%= config.bin %> query --endpoint 127.0.0.1:7878 --db '' --compute-context region=eu "SELECT 42"`,
  ];
  static override args = { sql: Args.string({ description: 'SQL to run (several statements allowed; the last one is printed)' }) };
  static override flags = {
    // Not `required`: oclif would answer "Missing required flag db" without saying what to pass.
    db: Flags.string({ char: 'd', description: "DB for its working copy (read-write), DB@REF for a snapshot (read-only), or '' for a scratch database on a server" }),
    format: Flags.string({ char: 'f', options: ['table', 'json', 'csv'], default: 'table', description: 'output format' }),
    file: Flags.string({ description: 'read SQL from this file' }),
    'execution-id': Flags.string({ description: 'id for the remote execution, so openduck cancel ID can stop it (default: random)' }),
    'compute-context': Flags.string({
      description: 'K=V,… labels the worker should have, e.g. region=eu (remote only; the database\'s own workers come first)',
      helpGroup: 'REMOTE',
    }),
    ...remoteFlags,
  };
  // --json means --format json, and makes errors JSON on stdout as for every other command.
  static override enableJsonFlag = true;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Query);
    if (flags.db === undefined) {
      throw new InvalidArgumentError("query needs a database: pass --db DB for its working copy, --db DB@REF for a snapshot, or --db '' for a scratch database on a server");
    }
    const db = flags.db;
    const sql = await readSql(args.sql, flags.file);
    const format = (this.jsonEnabled() ? 'json' : flags.format) as ResultFormat;
    if (explicitEndpoint(flags)) return this.runRemote(sql, format, { ...flags, db });
    if (db === '') throw new InvalidArgumentError("--db '' is a scratch database on a server: pass --endpoint or set OPENDUCK_ENDPOINT, or name a database");
    if (flags['compute-context'] !== undefined) throw new InvalidArgumentError('--compute-context picks a worker, so it needs a server: pass --endpoint or set OPENDUCK_ENDPOINT');
    await runLocalQuery(await this.openRepository(flags), db, sql, format, (t) => this.out(t));
  }

  private async runRemote(
    sql: string,
    format: ResultFormat,
    flags: { db: string; endpoint?: string; token?: string; repo?: string; 'execution-id'?: string; 'compute-context'?: string },
  ): Promise<void> {
    const [{ connectClient }, { validateComputeContext }] = await Promise.all([import('../remote.js'), import('../../server/gateway/registry.js')]);
    const computeContext = validateComputeContext(flags['compute-context'] ?? '', '--compute-context');
    const client = await connectClient(flags, await this.tryOpenRepository(flags), false);
    try {
      const result = await client.execute(sql, { database: flags.db, executionId: flags['execution-id'], computeContext });
      const onSigint = () => result.cancel();
      process.once('SIGINT', onSigint);
      try {
        await renderResult(result, format, (t) => this.out(t));
      } finally {
        process.off('SIGINT', onSigint);
      }
    } finally {
      client.close();
    }
  }
}

async function readSql(arg: string | undefined, file: string | undefined): Promise<string> {
  if (arg !== undefined && file !== undefined) throw new InvalidArgumentError('give SQL either as an argument or with --file, not both');
  if (arg !== undefined) return arg;
  if (file !== undefined) {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`cannot read SQL file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (process.stdin.isTTY) throw new InvalidArgumentError('no SQL given: pass it as an argument, with --file, or on stdin');
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
