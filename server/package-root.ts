import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder, found by walking up from this module, so that compiled code in
 * dist/server and sources run by the tests both find proto/ and bin/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto', 'openduck', 'v1', 'execution.proto'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the openduck package root (proto/openduck/v1/execution.proto)');
}
