import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blockMapId, decodeBlockMap, encodeBlockMap, type BlockMap } from '../../core/format/block-map.js';
import { BlockEncoding } from '../../core/format/block-entry.js';
import { LayerWriter, verifyLayer } from '../../core/format/layer.js';
import { decodeSnapshotRecord, encodeSnapshotRecord, snapshotIdOf, type SnapshotRecord } from '../../core/format/snapshot-record.js';
import { tempDir } from '../helpers.js';

/**
 * Golden files: fixed inputs must give fixed bytes and ids. A change to any on-disk format shows
 * up here first, so it can be made on purpose (with a new format version) and never by accident:
 * ids are content addresses shared between repositories, and a drifting encoding would fork them.
 */

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest();
const shaHex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Deterministic bytes: a counter-mode sha256 stream. */
function fixedBytes(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0, at = 0; at < length; i++, at += 32) sha(`${seed}:${i}`).copy(out, at);
  return out;
}

/** A header chunk compressed by brotli once, kept as bytes: decoding a fixed stream is stable across versions, encoding need not be. */
const HEADER_RAW = (() => {
  const b = Buffer.alloc(12_288);
  for (let i = 0; i < 300; i++) b[i] = i % 7;
  return b;
})();
const HEADER_BROTLI = Buffer.from('1bff2ff8076e004c5b8fcd560938f01739dd69340120', 'hex');

describe('golden formats', () => {
  it('layer: fixed blocks give fixed bytes and a fixed id', async () => {
    const path = join(await tempDir(), 'golden.layer');
    const writer = await LayerWriter.create(path, { dbBlockSize: 262_144, createdAtMs: 1_700_000_000_000, baseSnapshot: 'cd'.repeat(32) });
    await writer.addEncodedBlock({ chunk: 0, encoding: BlockEncoding.Brotli, stored: HEADER_BROTLI, rawLength: HEADER_RAW.length, duckdbChecksum: Buffer.alloc(8), sha256: sha(HEADER_RAW) });
    const block = fixedBytes(262_144, 'block');
    await writer.addEncodedBlock({ chunk: 3, encoding: BlockEncoding.Raw, stored: block, rawLength: block.length, duckdbChecksum: block.subarray(0, 8), sha256: sha(block) });
    const { id, bytes } = await writer.finish();
    const onDisk = await readFile(path);
    expect(bytes).toBe(onDisk.length);
    expect(id).toBe('d010193b38b995fa37335c893689790b0d09507e6628829ad51645bc561e9be4');
    expect(shaHex(onDisk)).toBe('bdda07096817465d062c903a33aaf3cd3b0ea1943379e83cdb85e8507b7600a2');
    // And it verifies: every block decodes to the bytes that went in.
    await verifyLayer(id, onDisk.length, async (o, l) => onDisk.subarray(o, o + l), async function* () { yield onDisk; }, 'layers/golden');
  });

  it('block map: a fixed map gives fixed bytes and a fixed id, and decodes to itself', () => {
    const layers = ['11'.repeat(32), '22'.repeat(32)];
    const map: BlockMap = {
      headerSize: 12_288,
      blockSize: 262_144,
      fileSize: 12_288 + 2 * 262_144,
      chunks: [0, 1, 2].map((chunk) => ({
        layer: layers[chunk % 2]!,
        encoding: chunk === 0 ? BlockEncoding.Brotli : BlockEncoding.Raw,
        offset: 96 + chunk * 1000,
        storedLength: chunk === 0 ? 22 : 262_144,
        rawLength: chunk === 0 ? 12_288 : 262_144,
        duckdbChecksum: chunk === 0 ? Buffer.alloc(8) : fixedBytes(8, `checksum ${chunk}`),
        sha256: sha(`chunk ${chunk}`),
      })),
    };
    const encoded = encodeBlockMap(map);
    expect(encoded.length).toBe(48 + 2 * 32 + 3 * 64 + 32);
    expect(blockMapId(encoded)).toBe('db941552a7a88325d0f908b5863ea62bfac7aff8779d177dea72fdbd06193c77');
    expect(decodeBlockMap(encoded, 'blockmaps/golden', blockMapId(encoded))).toEqual(map);
  });

  it('snapshot record: a fixed record gives fixed bytes and a fixed id', () => {
    const record: SnapshotRecord = {
      format: 1,
      parents: ['ab'.repeat(32)],
      blockMap: 'ef'.repeat(32),
      message: 'load Q3 — ünïcode',
      author: 'ci@example',
      time: '2026-11-30T00:00:00.000Z',
      size: 12_288 + 262_144,
    };
    const encoded = encodeSnapshotRecord(record);
    expect(encoded.toString('utf8')).toBe(
      `{"author":"ci@example","blockMap":"${'ef'.repeat(32)}","format":1,"message":"load Q3 — ünïcode","parents":["${'ab'.repeat(32)}"],"size":274432,"time":"2026-11-30T00:00:00.000Z"}`,
    );
    expect(snapshotIdOf(record)).toBe('6ac7303adb721f8b6a8678e31511b056cd756f7d2fb493c6d9aa917852c8d4ee');
    expect(decodeSnapshotRecord(encoded, 'snapshots/golden', snapshotIdOf(record))).toEqual(record);
  });
});
