/**
 * The protocol's service definitions, loaded from proto/openduck/v1/*.proto at run time by
 * @grpc/proto-loader (no protoc). Message types come from proto-loader-gen-types (npm run proto).
 */
import { join } from 'node:path';
import { packageRoot } from './package-root.js';
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

export type { ExecuteFragmentRequest__Output } from './generated/openduck/v1/ExecuteFragmentRequest.js';
export type { ExecuteFragmentChunk } from './generated/openduck/v1/ExecuteFragmentChunk.js';
export type { ExecutionServiceHandlers } from './generated/openduck/v1/ExecutionService.js';
export type { CatalogServiceHandlers } from './generated/openduck/v1/CatalogService.js';
export type { ControlServiceHandlers } from './generated/openduck/v1/ControlService.js';
