/**
 * Flags of commands that can talk to a server. Kept apart from the client (remote.ts), so a
 * command that runs locally loads no gRPC, Arrow or protocol code.
 */
import { Flags } from '@oclif/core';

export const remoteFlags = {
  endpoint: Flags.string({ description: 'server to use, HOST:PORT or http://HOST:PORT (default: $OPENDUCK_ENDPOINT)', helpGroup: 'REMOTE' }),
  token: Flags.string({ description: "access token (default: $OPENDUCK_TOKEN, else the repository's token file)", helpGroup: 'REMOTE' }),
};

/** The endpoint asked for explicitly (flag or environment), if any. */
export function explicitEndpoint(flags: { endpoint?: string }): string | undefined {
  return flags.endpoint || process.env.OPENDUCK_ENDPOINT || undefined;
}
