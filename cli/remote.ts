/**
 * Flags and lookups shared by commands that talk to a server: the endpoint comes from --endpoint,
 * then OPENDUCK_ENDPOINT, then (where a command allows it) this repository's daemon; the token
 * from --token, then OPENDUCK_TOKEN, then the repository's token file.
 */
import { Flags } from '@oclif/core';
import { InvalidArgumentError } from '../core/errors.js';
import type { Repository } from '../core/repository.js';
import { OpenDuckClient } from '../server/client.js';
import { runningDaemon } from '../server/daemon.js';
import { resolveClientToken } from '../server/serve.js';

export const remoteFlags = {
  endpoint: Flags.string({ description: 'server to use, HOST:PORT or http://HOST:PORT (default: $OPENDUCK_ENDPOINT)', helpGroup: 'REMOTE' }),
  token: Flags.string({ description: "access token (default: $OPENDUCK_TOKEN, else the repository's token file)", helpGroup: 'REMOTE' }),
};

/** The endpoint asked for explicitly (flag or environment), if any. */
export function explicitEndpoint(flags: { endpoint?: string }): string | undefined {
  return flags.endpoint || process.env.OPENDUCK_ENDPOINT || undefined;
}

export async function connectClient(flags: { endpoint?: string; token?: string }, repo: Repository | null, useDaemon: boolean): Promise<OpenDuckClient> {
  let endpoint = explicitEndpoint(flags);
  if (!endpoint && useDaemon && repo) endpoint = (await runningDaemon(repo))?.endpoint;
  if (!endpoint) throw new InvalidArgumentError('no server given: pass --endpoint, set OPENDUCK_ENDPOINT, or start one with openduck daemon start');
  return new OpenDuckClient(endpoint, await resolveClientToken(flags.token, repo));
}
