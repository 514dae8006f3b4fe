import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { blockMapId, decodeBlockMap, encodeBlockMap, type BlockMap } from '../../core/format/block-map.js';
import { BlockEncoding } from '../../core/format/layer.js';
import { CorruptObjectError } from '../../core/errors.js';
import { decodeSnapshotRecord, encodeSnapshotRecord, snapshotIdOf } from '../../core/format/snapshot-record.js';

function sampleMap(): BlockMap {
  const layers = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
  const fileSize = 12_288 + 3 * 262_144;
  const lengths = [12_288, 262_144, 262_144, 262_144];
  return {
    headerSize: 12_288,
    blockSize: 262_144,
    fileSize,
    chunks: lengths.map((rawLength, i) => ({
      layer: layers[i % 2]!,
      encoding: i % 2 ? BlockEncoding.Raw : BlockEncoding.DeflateRaw,
      offset: 96 + i * 1000,
      storedLength: 1000,
      rawLength,
      duckdbChecksum: randomBytes(8),
      sha256: randomBytes(32),
    })),
  };
}

describe('block map format', () => {
  it('round-trips and is content-addressed', () => {
    const map = sampleMap();
    const bytes = encodeBlockMap(map);
    const id = blockMapId(bytes);
    const back = decodeBlockMap(bytes, 'blockmaps/x', id);
    expect(encodeBlockMap(back).equals(bytes)).toBe(true);
    expect(back.chunks.map((c) => c.layer)).toEqual(map.chunks.map((c) => c.layer));
    expect(blockMapId(encodeBlockMap(back))).toBe(id);
  });

  it('detects any flipped byte', () => {
    const bytes = encodeBlockMap(sampleMap());
    const id = blockMapId(bytes);
    for (let pos = 0; pos < bytes.length; pos += 7) {
      const damaged = Buffer.from(bytes);
      damaged[pos] = damaged[pos]! ^ 0x01;
      expect(() => decodeBlockMap(damaged, 'blockmaps/x', id), `flip at ${pos}`).toThrow(CorruptObjectError);
      // Without the id, the internal checksum still catches it.
      expect(() => decodeBlockMap(damaged, 'blockmaps/x'), `flip at ${pos}`).toThrow(CorruptObjectError);
    }
  });

  it('refuses a map whose chunks do not fit its file size', () => {
    const map = sampleMap();
    map.fileSize += 262_144;
    expect(() => encodeBlockMap(map)).toThrow(/layout needs/);
  });
});

describe('snapshot record format', () => {
  const record = {
    format: 1,
    parents: ['cd'.repeat(32)],
    blockMap: 'ef'.repeat(32),
    message: 'load Q3 — ünïcode "quoted"',
    author: 'alice',
    time: '2026-11-24T07:00:00.000Z',
    size: 1234,
  };

  it('encodes canonically with sorted keys and hashes to its id', () => {
    const bytes = encodeSnapshotRecord(record);
    expect(Object.keys(JSON.parse(bytes.toString()))).toEqual(['author', 'blockMap', 'format', 'message', 'parents', 'size', 'time']);
    const id = snapshotIdOf(record);
    expect(decodeSnapshotRecord(bytes, 'snapshots/x', id)).toEqual(record);
    // Field order in the input does not change the id.
    expect(snapshotIdOf({ size: 1234, ...record })).toBe(id);
  });

  it('refuses non-canonical or altered records', () => {
    const bytes = encodeSnapshotRecord(record);
    const id = snapshotIdOf(record);
    const spaced = Buffer.from(JSON.stringify(JSON.parse(bytes.toString()), null, 1));
    expect(() => decodeSnapshotRecord(spaced, 'snapshots/x')).toThrow(/canonical/);
    const altered = Buffer.from(bytes.toString().replace('alice', 'alicf'));
    expect(() => decodeSnapshotRecord(altered, 'snapshots/x', id)).toThrow(/does not match its id/);
  });
});
