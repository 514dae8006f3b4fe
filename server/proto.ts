/**
 * The protocol's service definitions, loaded from proto/openduck/v1/*.proto at run time by
 * @grpc/proto-loader (no protoc). Message types come from proto-loader-gen-types (npm run proto).
 */
import { join } from 'node:path';
import { packageRoot } from './package-root.js';
import { CHANNEL_OPTIONS } from './grpc-config.js';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as ExecutionProto } from './generated/execution.js';
import type { ProtoGrpcType as CatalogProto } from './generated/catalog.js';
import type { ProtoGrpcType as ControlProto } from './generated/control.js';

/** The same options the generated types were made with: camelCase, numbers for 64-bit, defaults filled. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};


type OpenDuckProto = ExecutionProto & CatalogProto & ControlProto;

let loaded: OpenDuckProto['openduck']['v1'] | null = null;

export function openduckV1(): OpenDuckProto['openduck']['v1'] {
  if (!loaded) {
    const root = join(packageRoot(), 'proto');
    const definition = protoLoader.loadSync(
      ['openduck/v1/execution.proto', 'openduck/v1/catalog.proto', 'openduck/v1/control.proto'],
      { ...PROTO_LOADER_OPTIONS, includeDirs: [root] },
    );
    loaded = (grpc.loadPackageDefinition(definition) as unknown as OpenDuckProto).openduck.v1;
  }
  return loaded;
}

/** Clients of the three services at one `host:port` (plaintext, with the shared channel options). */
export function openduckClients(target: string) {
  const v1 = openduckV1();
  const credentials = grpc.credentials.createInsecure();
  return {
    execution: new v1.ExecutionService(target, credentials, CHANNEL_OPTIONS),
    catalog: new v1.CatalogService(target, credentials, CHANNEL_OPTIONS),
    control: new v1.ControlService(target, credentials, CHANNEL_OPTIONS),
  };
}

type Closable = { close(): void };

/** Closes what openduckClients made (or anything shaped like it). */
export function closeClients(clients: { execution: Closable; catalog: Closable; control: Closable }): void {
  clients.execution.close();
  clients.catalog.close();
  clients.control.close();
}

export type { ExecuteFragmentRequest__Output } from './generated/openduck/v1/ExecuteFragmentRequest.js';
export type { ExecuteFragmentChunk } from './generated/openduck/v1/ExecuteFragmentChunk.js';
export type { ExecutionServiceHandlers } from './generated/openduck/v1/ExecutionService.js';
export type { CatalogServiceHandlers } from './generated/openduck/v1/CatalogService.js';
export type { ControlServiceHandlers } from './generated/openduck/v1/ControlService.js';
