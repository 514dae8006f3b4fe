import { open } from 'node:fs/promises';
import { scanChangedChunks } from './dist/core/chunk-scan.js';
import { readDuckDBLayout } from './dist/core/format/duckdb-file.js';
const path = process.argv[3] ?? '/tmp/sb/big.duckdb';
const h = await open(path, 'r'); const layout = await readDuckDBLayout(h, path);
const [collect, compress, verify] = process.argv[2].split(',');
const s = performance.now(); let raw = 0, stored = 0;
for await (const c of scanChangedChunks(h, layout, { base: null, collect, compress: compress === '1', verify: verify === '1', file: path })) { raw += c.rawLength; stored += c.data.length; if (c.problem) throw new Error(c.problem); }
console.error(process.argv[2], 'wall', ((performance.now()-s)/1000).toFixed(3), 'saved', (100*(1-stored/raw)).toFixed(1)+'%');
await h.close();
