#!/usr/bin/env node
// A serving process caps its data memory (server/limits.ts). DuckDB's allocator would keep the
// address space of memory it freed, which counts against that cap, so a serving process asks it
// to give freed memory back. The allocator reads this once, when DuckDB loads: it is set before
// anything is imported.
if (['serve', 'worker'].includes(process.argv[2] ?? '') && !process.env.DUCKDB_JE_MALLOC_CONF) process.env.DUCKDB_JE_MALLOC_CONF = 'retain:false';

const { main } = await import('../dist/cli/main.js');
await main(process.argv.slice(2), import.meta.url);
