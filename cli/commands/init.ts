import { Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { initRepository } from '../../core/verbs/init.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { initialized } from '../render/reports.js';

export default class Init extends OpenDuckCommand {
  static override summary = 'Create an empty repository, or join a shared one';
  static override description = `Creates ./.openduck (or the folder given by --repo or $OPENDUCK_REPO). Refuses to re-initialise an existing repository, and to make a new one in a folder that holds one in .openduck.

With --metadata and --objects, the repository's history lives in PostgreSQL and an S3 bucket, so several folders (on several machines) can share it. If those stores hold a repository already, this folder joins it: a new working area with the same databases and history.

Passwords and keys are never written to config.toml: the PostgreSQL password comes from PGPASSWORD, DATABASE_URL, ~/.pgpass or .openduck/credentials (mode 0600; a password given in --metadata is kept there), the S3 keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or .openduck/credentials.`;
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --repo /data/warehouse',
    'PGPASSWORD=… <%= config.bin %> init --metadata postgres://openduck@db.internal:5432/openduck --objects s3://warehouse/openduck',
    '<%= config.bin %> init --metadata postgres://openduck@localhost/openduck --objects s3://dev/openduck --s3-endpoint http://localhost:9000',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    metadata: Flags.string({ description: 'PostgreSQL for shared metadata: postgres://user@host:port/database (default: $DATABASE_URL when --objects is given)' }),
    objects: Flags.string({ description: 'S3 bucket for shared objects: s3://bucket/prefix' }),
    's3-endpoint': Flags.string({ description: 'endpoint of an S3-compatible service (path-style addressing): http(s)://host:port' }),
    's3-region': Flags.string({ description: 'S3 region (default: $AWS_REGION, else us-east-1)' }),
  };

  async run() {
    const { flags } = await this.parse(Init);
    const metadata = flags.metadata ?? (flags.objects ? process.env.DATABASE_URL : undefined);
    if (!!metadata !== !!flags.objects || ((flags['s3-endpoint'] || flags['s3-region']) && !flags.objects)) {
      throw new InvalidArgumentError('a shared repository needs both --metadata postgres://… and --objects s3://… (--s3-endpoint and --s3-region go with them)');
    }
    const stores = metadata && flags.objects ? { metadata, objects: flags.objects, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'] } : undefined;
    const r = await initRepository(flags.repo || process.env.OPENDUCK_REPO || undefined, { stores });
    if (!r.shared) this.log(initialized(r.repository));
    else {
      const where = `${r.shared.metadata} and ${r.shared.objects}${r.shared.s3Endpoint ? ` at ${r.shared.s3Endpoint}` : ''}`;
      const dbs = `${r.databases.length} database${r.databases.length === 1 ? '' : 's'}`;
      this.log(r.joined ? `Joined the shared repository in ${where} (${dbs}); working area ${r.repository}` : `Initialized shared OpenDuck repository in ${where}; working area ${r.repository}`);
    }
    return r;
  }
}
