/**
 * The 64-byte block entry shared by the layer index and the block map: where one block is
 * stored and how to check it. The two formats differ only in the leading number, which is the
 * chunk number in a layer index and the layer's position in a block map's layer list.
 *
 *   0   u32  lead: chunk number (layer index) or layer position (block map)
 *   4   u8   encoding (BlockEncoding)
 *   5   3 B  zero
 *   8   u64  offset of the stored bytes in the layer
 *   16  u32  stored length
 *   20  u32  raw length
 *   24  8 B  DuckDB's own checksum of the raw block (zeros for the header chunk)
 *   32  32 B sha256 of the raw bytes
 */

export const BLOCK_ENTRY_SIZE = 64;

export enum BlockEncoding {
  Raw = 0,
  /** Written by layer format 1; still read. */
  DeflateRaw = 1,
  Brotli = 2,
}

/** Where one block sits in a layer, and how to check it. */
export interface StoredBlock {
  encoding: BlockEncoding;
  offset: number;
  storedLength: number;
  rawLength: number;
  /** DuckDB's own checksum: the first 8 bytes of the raw block (zeros for the header chunk). */
  duckdbChecksum: Buffer;
  sha256: Buffer;
}

export function writeBlockEntry(buf: Buffer, at: number, lead: number, block: StoredBlock): void {
  buf.writeUInt32LE(lead, at);
  buf.writeUInt8(block.encoding, at + 4);
  buf.fill(0, at + 5, at + 8);
  buf.writeBigUInt64LE(BigInt(block.offset), at + 8);
  buf.writeUInt32LE(block.storedLength, at + 16);
  buf.writeUInt32LE(block.rawLength, at + 20);
  block.duckdbChecksum.copy(buf, at + 24, 0, 8);
  block.sha256.copy(buf, at + 32, 0, 32);
}

/** Reads an entry; callers check `lead` against their own structure. */
export function readBlockEntry(buf: Buffer, at: number): { lead: number; block: StoredBlock } {
  return {
    lead: buf.readUInt32LE(at),
    block: {
      encoding: buf.readUInt8(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 8)),
      storedLength: buf.readUInt32LE(at + 16),
      rawLength: buf.readUInt32LE(at + 20),
      duckdbChecksum: Buffer.from(buf.subarray(at + 24, at + 32)),
      sha256: Buffer.from(buf.subarray(at + 32, at + 64)),
    },
  };
}
