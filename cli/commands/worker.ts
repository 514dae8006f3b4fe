import { Flags } from '@oclif/core';
import { OpenDuckCommand } from '../base-command.js';
import { startWorker } from '../../server/worker/worker-server.js';
import { capMemory, resolveWorkerAuth, spillDirectory } from '../../server/serve.js';
import { authOptions, engineFlags, runUntilSignalled, serverFlags, serverLog, workerCredentialFlags } from '../serve-loop.js';
import { validateName } from '../../core/names.js';
import { validateComputeContext } from '../../server/gateway/registry.js';

export default class Worker extends OpenDuckCommand {
  static override summary = "Run a worker that executes SQL on this repository's databases";
  static override description =
    'The worker registers with the gateway (retrying with backoff) and heartbeats. It presents the worker credential, not the client token: --worker-token, --worker-token-file, $OPENDUCK_WORKER_TOKEN, else the repository worker-token file that a gateway or serve on this repository created. It reads snapshots through a pool of read-only instances and is the single writer of a branch while it runs a write. After a gateway restart it registers again by itself.';
  static override examples = [
    '<%= config.bin %> worker --gateway 127.0.0.1:7878 --worker-token-file /run/secrets/openduck-worker --listen 127.0.0.1:7901',
    '<%= config.bin %> worker --gateway gw:7878 --db shop --db sales --max-concurrency 4 --compute-context region=eu,size=large',
  ];
  static override flags = {
    ...serverFlags,
    ...workerCredentialFlags,
    ...engineFlags,
    listen: Flags.string({ default: '127.0.0.1:0', description: 'HOST:PORT to listen on (port 0: any free port)' }),
    advertise: Flags.string({ description: 'HOST:PORT the gateway should dial (default: the listen address)' }),
    gateway: Flags.string({ required: true, description: 'the gateway to register with, HOST:PORT' }),
    db: Flags.string({ multiple: true, description: 'databases this worker prefers to serve (repeatable; default: any)' }),
    'compute-context': Flags.string({ default: '', description: 'K=V,… labels that requests can ask for' }),
    id: Flags.string({ description: 'worker id (default: random)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Worker);
    for (const db of flags.db ?? []) validateName('database', db);
    const computeContext = validateComputeContext(flags['compute-context'], '--compute-context');
    const log = serverLog;
    const repo = await this.openRepository(flags);
    await capMemory(flags['max-memory'], flags['memory-limit'], log);
    const auth = await resolveWorkerAuth({ ...authOptions(flags), repo, warn: log });
    const worker = await startWorker({
      repo,
      listen: auth.listen,
      advertise: flags.advertise,
      gateway: flags.gateway,
      policy: auth.policy,
      workerToken: auth.workerToken,
      databases: flags.db,
      maxConcurrency: flags['max-concurrency'],
      computeContext,
      workerId: flags.id,
      memoryLimit: flags['memory-limit'],
      maxMemory: flags['max-memory'],
      tempDirectory: spillDirectory(repo),
      log,
    });
    process.stdout.write(`listening on ${worker.listening}\n`);
    if (worker.endpoint !== worker.listening) log(`advertised to the gateway as ${worker.endpoint}`);
    await runUntilSignalled((ms) => worker.stop(ms), log);
  }
}
