import { OpenDuckCommand } from '../base-command.js';
import { connectClient, remoteFlags } from '../remote.js';
import { errorMessage } from '../../core/errors.js';
import { RemoteError } from '../../server/status.js';
import * as grpc from '@grpc/grpc-js';

/**
 * UNREACHABLE: no connection. UNAUTHENTICATED: it answers but refuses the token. UNAVAILABLE: it
 * answers but cannot run a query (no workers registered, a worker failing).
 */
function verdict(err: unknown, connected: boolean): string {
  if (err instanceof RemoteError && err.status === grpc.status.UNAUTHENTICATED) return 'UNAUTHENTICATED';
  if (!connected || (err instanceof RemoteError && err.unreachable)) return 'UNREACHABLE';
  return 'UNAVAILABLE';
}

export default class Status extends OpenDuckCommand {
  static override summary = 'Check that a server answers: connect and run SELECT 1';
  static override description =
    'Prints "OK endpoint connect=…ms query=…ms", or "UNREACHABLE endpoint: reason" (or "UNAUTHENTICATED endpoint: …" when it answers but refuses the token, "UNAVAILABLE endpoint: …" when it answers but cannot run a query, e.g. with no workers) and exits 1. Without --endpoint, checks the repository’s daemon.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --endpoint 127.0.0.1:7878'];
  static override enableJsonFlag = true;
  static override flags = { ...remoteFlags };

  async run() {
    const { flags } = await this.parse(Status);
    const client = await connectClient(flags, await this.tryOpenRepository(flags), true);
    let connected = false;
    try {
      const connectMs = await client.waitForReady(5000);
      connected = true;
      const started = performance.now();
      const result = await client.execute('SELECT 1');
      for await (const _ of result.batches) void _;
      const queryMs = performance.now() - started;
      this.log(`OK ${client.endpoint} connect=${connectMs.toFixed(1)}ms query=${queryMs.toFixed(1)}ms`);
      return { ok: true, endpoint: client.endpoint, connectMs, queryMs };
    } catch (err) {
      const reason = err instanceof RemoteError ? err.reason : errorMessage(err);
      if (this.jsonEnabled()) process.stdout.write(JSON.stringify({ ok: false, endpoint: client.endpoint, error: reason }) + '\n');
      else this.log(`${verdict(err, connected)} ${client.endpoint}: ${reason}`);
      process.exitCode = 1;
      return undefined;
    } finally {
      client.close();
    }
  }
}
