/**
 * Flags and lookups shared by commands that talk to a server: the endpoint comes from --endpoint,
 * then OPENDUCK_ENDPOINT, then (where a command allows it) this repository's daemon; the token
 * from --token, then OPENDUCK_TOKEN, then the repository's token file.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Repository } from '../core/repository.js';
import { OpenDuckClient } from '../server/client.js';
import { runningDaemon } from '../server/daemon.js';
import { resolveClientToken } from '../server/serve.js';
import { explicitEndpoint } from './remote-flags.js';

export { explicitEndpoint, remoteFlags } from './remote-flags.js';

export async function connectClient(flags: { endpoint?: string; token?: string }, repo: Repository | null, useDaemon: boolean): Promise<OpenDuckClient> {
  let endpoint = explicitEndpoint(flags);
  if (!endpoint && useDaemon && repo) endpoint = (await runningDaemon(repo))?.endpoint;
  if (!endpoint) throw new InvalidArgumentError('no server given: pass --endpoint, set OPENDUCK_ENDPOINT, or start one with openduck daemon start');
  return new OpenDuckClient(endpoint, await resolveClientToken(flags.token, repo));
}
