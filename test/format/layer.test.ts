import { describe, expect, it } from 'vitest';
import { randomBytes, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayerWriter, verifyLayer, decodeBlock, BlockEncoding, LAYER_HEADER_SIZE, LAYER_TRAILER_SIZE } from '../../core/format/layer.js';
import { CorruptObjectError } from '../../core/errors.js';
import { tempDir } from '../helpers.js';

function block(kind: 'random' | 'sparse', size = 262_144): Buffer {
  if (kind === 'random') return randomBytes(size);
  const b = Buffer.alloc(size);
  randomBytes(4096).copy(b, 0);
  return b;
}

async function writeLayer(blocks: Buffer[]) {
  const path = join(await tempDir(), 'layer');
  const writer = await LayerWriter.create(path, { dbBlockSize: 262_144, createdAtMs: 1_700_000_000_000, baseSnapshot: 'ab'.repeat(32) });
  for (const [i, b] of blocks.entries()) await writer.addBlock(i + 1, b, createHash('sha256').update(b).digest());
  const done = await writer.finish();
  return { path, ...done, bytesOnDisk: await readFile(path) };
}

function verify(id: string, bytes: Buffer) {
  return verifyLayer(
    id,
    bytes.length,
    async (o, l) => bytes.subarray(o, o + l),
    async function* () {
      for (let o = 0; o < bytes.length; o += 100_000) yield bytes.subarray(o, o + 100_000);
    },
    'layers/test',
  );
}

describe('layer format', () => {
  it('round-trips blocks, compressing sparse ones and storing random ones raw', async () => {
    const blocks = [block('random'), block('sparse'), block('sparse', 12_288)];
    const layer = await writeLayer(blocks);
    // Format 2: the id covers header, index and trailer; the index names each block's sha256.
    const indexEnd = layer.bytesOnDisk.length;
    const { header: h, trailer: t } = { header: layer.bytesOnDisk.subarray(0, LAYER_HEADER_SIZE), trailer: layer.bytesOnDisk.subarray(indexEnd - LAYER_TRAILER_SIZE) };
    const indexOffset = Number(t.readBigUInt64LE(0));
    const index = layer.bytesOnDisk.subarray(indexOffset, indexEnd - LAYER_TRAILER_SIZE);
    expect(layer.id).toBe(createHash('sha256').update(h).update(index).update(t).digest('hex'));
    const { header, entries } = await verify(layer.id, layer.bytesOnDisk);
    expect(header.baseSnapshot).toBe('ab'.repeat(32));
    expect(header.dbBlockSize).toBe(262_144);
    expect(entries.map((e) => e.encoding)).toEqual([BlockEncoding.Raw, BlockEncoding.Brotli, BlockEncoding.Brotli]);
    expect(entries[1]!.storedLength).toBeLessThan(blocks[1]!.length / 4);
    entries.forEach((e, i) => {
      const stored = layer.bytesOnDisk.subarray(e.offset, e.offset + e.storedLength);
      expect(decodeBlock(stored, e, 'layers/test').equals(blocks[i]!)).toBe(true);
    });
  });

  it('detects a flipped byte anywhere in the object', async () => {
    const layer = await writeLayer([block('sparse'), block('random', 20_000)]);
    const size = layer.bytesOnDisk.length;
    // Header, every structural region, and samples through the blocks.
    const positions = new Set<number>([0, 8, 40, 70, 95, LAYER_HEADER_SIZE, LAYER_HEADER_SIZE + 7, size - 1, size - 9, size - 50, size - 88, size - 100]);
    for (let i = 0; i < 60; i++) positions.add(Math.floor(Math.random() * size));
    for (const pos of positions) {
      const damaged = Buffer.from(layer.bytesOnDisk);
      damaged[pos] = damaged[pos]! ^ 0x40;
      await expect(verify(layer.id, damaged), `flip at ${pos}`).rejects.toBeInstanceOf(CorruptObjectError);
    }
  });

  it('refuses a block whose bytes do not match its hash', async () => {
    const layer = await writeLayer([block('random', 4096)]);
    const { entries } = await verify(layer.id, layer.bytesOnDisk);
    const e = entries[0]!;
    const stored = Buffer.from(layer.bytesOnDisk.subarray(e.offset, e.offset + e.storedLength));
    stored[10] = stored[10]! ^ 1;
    expect(() => decodeBlock(stored, e, 'layers/x')).toThrow(/layers\/x.*sha256/);
  });
});
