/**
 * Writes oclif.manifest.json at build time, so `openduck --help` and command lookup do not
 * import every command file. Run by `npm run build`.
 */
import { Config } from '@oclif/core';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Config.load would otherwise read the previous manifest and miss new commands.
await rm(join(root, 'oclif.manifest.json'), { force: true });
const config = await Config.load(root);
const plugin = config.getPluginsList().find((p) => p.isRoot) as unknown as { manifest: unknown } | undefined;
if (!plugin) throw new Error(`no oclif plugin at ${root}`);
await writeFile(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n');
