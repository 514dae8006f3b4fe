import { OpenDuckCommand } from '../../base-command.js';
import { runningDaemon } from '../../../server/daemon.js';
import { OpenDuckClient } from '../../../server/client.js';
import { resolveClientToken } from '../../../server/serve.js';
import { NotFoundError } from '../../../core/errors.js';
import { columns } from '../../render/format.js';
import { remoteFlags } from '../../remote.js';
import { IN_PROCESS_ENDPOINT } from '../../../server/gateway/registry.js';

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export default class DaemonStatus extends OpenDuckCommand {
  static override summary = "Show this repository's daemon: pid, uptime, endpoint, workers, running executions";
  static override examples = ['<%= config.bin %> daemon status', '<%= config.bin %> daemon status --json'];
  static override enableJsonFlag = true;
  static override flags = { token: remoteFlags.token };

  async run() {
    const { flags } = await this.parse(DaemonStatus);
    const repo = await this.openRepository(flags);
    const record = await runningDaemon(repo);
    if (!record) throw new NotFoundError('daemon', 'none is running for this repository (start one with openduck daemon start)');
    const client = new OpenDuckClient(record.endpoint, await resolveClientToken(flags.token, repo));
    try {
      const status = await client.status();
      const now = Date.now();
      this.log(`pid ${record.pid}  uptime ${age(now - record.startedAt)}  endpoint ${record.endpoint}`);
      this.log(`log ${record.logFile}`);
      this.log(`\nworkers (${status.workers.length}):`);
      if (status.workers.length) {
        this.log(
          columns(
            status.workers.map((w) => [
              `  ${w.workerId}`,
              w.endpoint,
              `${w.inFlight}/${w.maxConcurrency || '∞'}`,
              // A worker in the daemon's own process has no heartbeats to show.
              w.endpoint === IN_PROCESS_ENDPOINT ? 'in this process' : `heartbeat ${age(now - Number(w.lastHeartbeatMs))} ago`,
            ]),
          ),
        );
      }
      this.log(`\nexecutions (${status.executions.length}):`);
      if (status.executions.length) {
        this.log(columns(status.executions.map((e) => [`  ${e.executionId}`, e.database || '(scratch)', e.state, age(now - Number(e.startedAtMs)), e.workerId])));
      }
      return { ...record, uptimeMs: now - record.startedAt, workers: status.workers, executions: status.executions };
    } finally {
      client.close();
    }
  }
}
