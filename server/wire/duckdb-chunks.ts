/**
 * Arrow record batches of the result wire format (arrow-ipc.ts) written straight into DuckDB data
 * chunks, for loading a result into a local DuckDB table with the Appender.
 *
 * The common flat types are copied buffer to buffer through the Node bindings' raw vector writes
 * (`copy_data_to_vector`, `copy_data_to_vector_validity`), so no JS value is made per row:
 *
 *   same bytes as DuckDB, copied as is    integers, FLOAT, DOUBLE, DATE, TIME, TIME_NS, TIMETZ, every
 *                                         TIMESTAMP flavour, HUGEINT, DECIMAL(>18), ENUM indices
 *   converted per value in a scratch      BOOLEAN (bits to bytes), DECIMAL(<=18) (128-bit to 16/32/64),
 *   buffer, then copied                   UHUGEINT, UUID, INTERVAL
 *   DuckDB's 16-byte string records       VARCHAR, BLOB, BIT, GEOMETRY: strings of up to 12 bytes are
 *                                         written inline into the records; longer ones go through
 *                                         `vector_assign_string_element_len` (DuckDB copies them
 *                                         into the vector's own string heap)
 *
 * Everything else (LIST, STRUCT, MAP, ARRAY, UNION, VARIANT, BIGNUM, SQLNULL), and VARCHAR data that
 * is not valid UTF-8, is decoded to values exactly as `ArrowIpcDecoder.push` would and written with
 * `setColumnValues`.
 *
 * The raw writes are unchecked memory copies, so every Arrow buffer is bounds-checked against the
 * rows it must hold before anything is copied; a batch that fails the checks is refused with
 * CorruptPayloadError. ENUM indices are range-checked too: DuckDB trusts them.
 */
import { isUtf8 } from 'node:buffer';
import duckdb from '@duckdb/node-bindings';
import {
  DuckDBArrayValue,
  DuckDBDataChunk,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTypeId,
  DuckDBUnionValue,
  STRUCT,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Data, RecordBatch } from 'apache-arrow';
import { CorruptPayloadError, EMPTY_BYTES, arrowColumnValueReader, decimalStorageBytes, isValidBit, validityOf } from './arrow-ipc.js';

/** Rows in one DuckDB chunk (DuckDB's vector size, 2,048 in every release so far). */
export const CHUNK_ROWS = duckdb.vector_size();

/**
 * Fills one reused DuckDB chunk from slices of Arrow record batches. A filled chunk is valid until
 * the next `fill`, which suits `appender.appendDataChunk` (it copies the rows).
 */
export class ArrowChunkFiller {
  readonly chunk: DuckDBDataChunk;
  private readonly columns: ColumnFiller[];

  constructor(readonly types: readonly DuckDBType[]) {
    this.chunk = DuckDBDataChunk.create(types);
    this.columns = types.map((t, c) => createFiller(t, c));
  }

  /** Which columns travel the raw path (true) or are written as values (false); for tests and reports. */
  get rawColumns(): boolean[] {
    return this.columns.map((c) => !(c instanceof ValueFiller));
  }

  /** Fills the chunk with rows [from, to) of `batch` (at most CHUNK_ROWS of them) and returns it. */
  fill(batch: RecordBatch, from: number, to: number): DuckDBDataChunk {
    const count = to - from;
    if (count <= 0 || count > CHUNK_ROWS || from < 0 || to > batch.numRows) throw new RangeError(`cannot fill a chunk with rows [${from}, ${to}) of a ${batch.numRows}-row batch`);
    const children = batch.data.children;
    if (children.length !== this.columns.length) throw new CorruptPayloadError(`a record batch has ${children.length} columns, the result ${this.columns.length}`);
    const chunk = this.chunk;
    // Reset drops the previous rows' validity and string heap; setting the size also clears the
    // node-api's cached vector wrappers, which the value path uses.
    chunk.reset();
    chunk.rowCount = count;
    for (let c = 0; c < this.columns.length; c++) this.columns[c]!.fill(chunk, children[c]!, from, to);
    return chunk;
  }

  /** Every row of `batch`, one chunk (the same reused chunk, refilled) at a time. */
  *chunks(batch: RecordBatch): Generator<DuckDBDataChunk> {
    for (let from = 0; from < batch.numRows; from += CHUNK_ROWS) yield this.fill(batch, from, Math.min(from + CHUNK_ROWS, batch.numRows));
  }
}

// =============================================================================================
// Column fillers
// =============================================================================================

interface ColumnFiller {
  fill(chunk: DuckDBDataChunk, data: Data, from: number, to: number): void;
}


function bytesOf(view: ArrayBufferView | undefined | null): Uint8Array {
  return view ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : EMPTY_BYTES;
}

function corrupt(column: number, detail: string): CorruptPayloadError {
  return new CorruptPayloadError(`column ${column}: ${detail}`);
}


/**
 * Writes rows [from, to) of Arrow validity into the vector's validity mask (same bit order); leaves
 * the mask alone (all valid after the chunk's reset) when the Data has no nulls.
 */
abstract class RawFiller implements ColumnFiller {
  protected validity = new Uint8Array(((CHUNK_ROWS + 63) >> 6) * 8);

  constructor(protected readonly column: number) {}

  fill(chunk: DuckDBDataChunk, data: Data, from: number, to: number): void {
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, this.column);
    const bits = validityOf(data);
    // apache-arrow slices values and offsets buffers with the Data, but not validity bitmaps (nor
    // boolean values): those are indexed from data.offset.
    const start = data.offset + from;
    const count = to - from;
    if (bits !== null) {
      if (bits.byteLength * 8 < start + count) throw corrupt(this.column, 'validity bitmap shorter than the rows');
      duckdb.vector_ensure_validity_writable(vector);
      const words = (count + 63) >> 6;
      if ((start & 7) === 0) {
        const n = (count + 7) >> 3;
        this.validity.fill(0xff, n, words * 8);
        this.validity.set(bits.subarray(start >> 3, (start >> 3) + n));
      } else {
        const out = this.validity;
        out.fill(0, 0, words * 8);
        for (let i = 0; i < count; i++) {
          const s = start + i;
          if ((bits[s >> 3]! >> (s & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
        }
      }
      // Bits past the last row stay set, as DuckDB leaves them.
      if ((count & 7) !== 0) this.validity[count >> 3]! |= 0xff << (count & 7);
      duckdb.copy_data_to_vector_validity(vector, 0, this.validity.buffer, this.validity.byteOffset, words * 8);
    }
    this.fillData(vector, data, from, count, bits, start);
  }

  /** Rows [start, start + count) of the values; the validity bit of row start + i is bit bitStart + i. */
  protected abstract fillData(vector: duckdb.Vector, data: Data, start: number, count: number, bits: Uint8Array | null, bitStart: number): void;
}


/** Arrow and DuckDB share the bytes: one copy per chunk. */
class CopyFiller extends RawFiller {
  constructor(
    column: number,
    private readonly width: number,
  ) {
    super(column);
  }

  protected fillData(vector: duckdb.Vector, data: Data, start: number, count: number, _bits: Uint8Array | null, _bitStart: number): void {
    const values = bytesOf(data.values);
    const begin = start * this.width;
    const bytes = count * this.width;
    if (begin + bytes > values.byteLength) throw corrupt(this.column, 'values buffer shorter than the rows');
    duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + begin, bytes);
  }
}

/** ENUM: the indices are copied as they are, after a range check (DuckDB trusts them). */
class EnumFiller extends CopyFiller {
  constructor(
    column: number,
    width: number,
    private readonly members: number,
  ) {
    super(column, width);
  }

  protected override fillData(vector: duckdb.Vector, data: Data, start: number, count: number, bits: Uint8Array | null, bitStart: number): void {
    const indices = data.values as ArrayLike<number>;
    if (start + count > indices.length) throw corrupt(this.column, 'index buffer shorter than the rows');
    for (let i = 0; i < count; i++) {
      const index = indices[start + i]!;
      if (index >= this.members && isValidBit(bits, bitStart + i)) throw corrupt(this.column, `ENUM index ${index} out of range`);
    }
    super.fillData(vector, data, start, count, bits, bitStart);
  }
}

/** Values converted into a scratch buffer of `width` bytes per row, then copied in one go. */
abstract class ScratchFiller extends RawFiller {
  protected readonly scratch: Uint8Array;

  constructor(
    column: number,
    protected readonly width: number,
  ) {
    super(column);
    this.scratch = new Uint8Array(CHUNK_ROWS * width);
  }

  protected fillData(vector: duckdb.Vector, data: Data, start: number, count: number, bits: Uint8Array | null, bitStart: number): void {
    this.convert(data, start, count, bits, bitStart);
    duckdb.copy_data_to_vector(vector, 0, this.scratch.buffer as ArrayBuffer, this.scratch.byteOffset, count * this.width);
  }

  protected abstract convert(data: Data, start: number, count: number, bits: Uint8Array | null, bitStart: number): void;

  /** Arrow's values buffer, checked to hold `bytesPerRow` bytes for every row up to start + count. */
  protected valuesFor(data: Data, start: number, count: number, bytesPerRow: number): Uint8Array {
    const values = bytesOf(data.values);
    if ((start + count) * bytesPerRow > values.byteLength) throw corrupt(this.column, 'values buffer shorter than the rows');
    return values;
  }
}

/** Arrow packs booleans into bits; DuckDB keeps one byte each. */
class BoolFiller extends ScratchFiller {
  constructor(column: number) {
    super(column, 1);
  }

  protected convert(data: Data, _start: number, count: number, _bits: Uint8Array | null, bitStart: number): void {
    const values = bytesOf(data.values);
    if (((bitStart + count + 7) >> 3) > values.byteLength) throw corrupt(this.column, 'values buffer shorter than the rows');
    const out = this.scratch;
    for (let i = 0; i < count; i++) {
      const s = bitStart + i;
      out[i] = (values[s >> 3]! >> (s & 7)) & 1;
    }
  }
}

/** DECIMAL(<=18): the low 16, 32 or 64 bits of Arrow's 128-bit two's complement values. */
class NarrowDecimalFiller extends ScratchFiller {
  protected convert(data: Data, start: number, count: number): void {
    const values = this.valuesFor(data, start, count, 16);
    const src = new Int32Array(values.buffer, values.byteOffset, values.byteLength >> 2);
    const s = this.scratch;
    if (this.width === 8) {
      const out = new Int32Array(s.buffer, s.byteOffset, count * 2);
      for (let i = 0, k = start * 4; i < count; i++, k += 4) {
        out[2 * i] = src[k]!;
        out[2 * i + 1] = src[k + 1]!;
      }
    } else if (this.width === 4) {
      const out = new Int32Array(s.buffer, s.byteOffset, count);
      for (let i = 0, k = start * 4; i < count; i++, k += 4) out[i] = src[k]!;
    } else {
      const out = new Int16Array(s.buffer, s.byteOffset, count);
      for (let i = 0, k = start * 4; i < count; i++, k += 4) out[i] = src[k]!;
    }
  }
}

/** UHUGEINT travels as a 256-bit decimal; DuckDB keeps the low 128 bits. */
class UHugeIntFiller extends ScratchFiller {
  constructor(column: number) {
    super(column, 16);
  }

  protected convert(data: Data, start: number, count: number): void {
    const values = this.valuesFor(data, start, count, 32);
    for (let i = 0; i < count; i++) this.scratch.set(values.subarray((start + i) * 32, (start + i) * 32 + 16), i * 16);
  }
}

/** UUID: RFC 4122 byte order back to DuckDB's little-endian hugeint with the top bit flipped. */
class UUIDFiller extends ScratchFiller {
  constructor(column: number) {
    super(column, 16);
  }

  protected convert(data: Data, start: number, count: number): void {
    const values = this.valuesFor(data, start, count, 16);
    const out = this.scratch;
    for (let i = 0; i < count; i++) {
      const s = (start + i) * 16;
      const o = i * 16;
      for (let j = 0; j < 16; j++) out[o + j] = values[s + 15 - j]!;
      out[o + 15] = out[o + 15]! ^ 0x80;
    }
  }
}

/** MonthDayNano {months, days, int64 nanos} back to DuckDB's {months, days, int64 micros}. */
class IntervalFiller extends ScratchFiller {
  constructor(column: number) {
    super(column, 16);
  }

  protected convert(data: Data, start: number, count: number, bits: Uint8Array | null, bitStart: number): void {
    const values = this.valuesFor(data, start, count, 16);
    const src = new BigInt64Array(values.buffer, values.byteOffset, values.byteLength >> 3);
    const src32 = new Int32Array(values.buffer, values.byteOffset, values.byteLength >> 2);
    const out = new BigInt64Array(this.scratch.buffer, this.scratch.byteOffset, count * 2);
    const out32 = new Int32Array(this.scratch.buffer, this.scratch.byteOffset, count * 4);
    for (let i = 0; i < count; i++) {
      const s = start + i;
      out32[4 * i] = src32[4 * s]!;
      out32[4 * i + 1] = src32[4 * s + 1]!;
      out[2 * i + 1] = isValidBit(bits, bitStart + i) ? src[2 * s + 1]! / 1000n : 0n;
    }
  }
}

/**
 * Variable-width values into DuckDB's 16-byte string records: a 4-byte length, then up to 12 bytes
 * inline (zero padded: DuckDB compares whole records), or, for longer strings, left for
 * `vector_assign_string_element_len` to fill with a pointer into the vector's string heap.
 */
class StringFiller extends RawFiller {
  private readonly records = new Uint8Array(CHUNK_ROWS * 16);
  private readonly words = new Int32Array(this.records.buffer);
  private readonly long = new Int32Array(CHUNK_ROWS);
  private readonly fallback: ValueFiller | null;

  constructor(column: number, type: DuckDBType) {
    super(column);
    // VARCHAR must be valid UTF-8; data that is not goes through the value path, which replaces
    // bad sequences exactly as ArrowIpcDecoder.push does.
    this.fallback = type.typeId === DuckDBTypeId.VARCHAR ? new ValueFiller(column, type) : null;
  }

  override fill(chunk: DuckDBDataChunk, data: Data, from: number, to: number): void {
    const offsets = data.valueOffsets as Int32Array | undefined;
    const values = bytesOf(data.values);
    const start = from;
    const count = to - from;
    if (!offsets || start + count + 1 > offsets.length) throw corrupt(this.column, 'offsets buffer shorter than the rows');
    const first = offsets[start]!;
    const last = offsets[start + count]!;
    if (first < 0 || last < first || last > values.byteLength) throw corrupt(this.column, 'offsets outside the data buffer');
    if (this.fallback !== null && !isUtf8(values.subarray(first, last))) {
      this.fallback.fill(chunk, data, from, to);
      return;
    }
    super.fill(chunk, data, from, to);
  }

  protected fillData(vector: duckdb.Vector, data: Data, start: number, count: number, bits: Uint8Array | null, bitStart: number): void {
    const offsets = data.valueOffsets as Int32Array;
    const values = bytesOf(data.values);
    const records = this.records;
    const words = this.words;
    records.fill(0, 0, count * 16);
    let longCount = 0;
    let previous = offsets[start]!;
    for (let i = 0; i < count; i++) {
      const end = offsets[start + i + 1]!;
      // Offsets must not run backwards: the bytes of a row are [previous, end).
      if (end < previous) throw corrupt(this.column, 'offsets run backwards');
      if (isValidBit(bits, bitStart + i)) {
        const len = end - previous;
        if (len <= 12) {
          words[i * 4] = len;
          const r = i * 16 + 4;
          for (let k = 0; k < len; k++) records[r + k] = values[previous + k]!;
        } else {
          this.long[longCount++] = i;
        }
      }
      previous = end;
    }
    duckdb.copy_data_to_vector(vector, 0, records.buffer, records.byteOffset, count * 16);
    for (let j = 0; j < longCount; j++) {
      const i = this.long[j]!;
      duckdb.vector_assign_string_element_len(vector, i, values.subarray(offsets[start + i]!, offsets[start + i + 1]!));
    }
  }
}

/** Anything else: decoded to DuckDB values as `ArrowIpcDecoder.push` does, then written by the node-api. */
class ValueFiller implements ColumnFiller {
  private readonly read: (data: Data, from: number, to: number) => DuckDBValue[];

  constructor(
    private readonly column: number,
    private readonly type: DuckDBType,
  ) {
    this.read = arrowColumnValueReader(type, `column ${column}`);
  }

  fill(chunk: DuckDBDataChunk, data: Data, from: number, to: number): void {
    // The value readers index every buffer from data.offset, which matches Data straight from an
    // IPC stream (offset 0) but not apache-arrow's slices (which slice values buffers already).
    if (data.offset !== 0) throw new RangeError(`column ${this.column}: sliced Arrow data (offset ${data.offset}) is only supported for flat types`);
    setColumnValuesAndNulls(chunk, this.column, this.type, this.read(data, from, to));
  }
}

/**
 * `chunk.setColumnValues`, then every null UNION marked NULL in its vector's validity, at any
 * depth (a column, or inside structs, lists, arrays and maps): the node-api's UNION writer
 * stores a null as a union whose member is null, which DuckDB does not treat as a NULL union
 * (`IS NULL` is false, and it compares unequal to one). Other types need no repair.
 */
export function setColumnValuesAndNulls(chunk: DuckDBDataChunk, column: number, type: DuckDBType, values: readonly DuckDBValue[]): void {
  chunk.setColumnValues(column, values);
  if (containsUnion(type)) markNullUnions(duckdb.data_chunk_get_vector(chunk.chunk, column), type, values, (i) => i);
}

function containsUnion(type: DuckDBType): boolean {
  switch (type.typeId) {
    case DuckDBTypeId.UNION:
      return true;
    case DuckDBTypeId.STRUCT:
      return type.entryTypes.some(containsUnion);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return containsUnion(type.valueType);
    case DuckDBTypeId.MAP:
      return containsUnion(type.keyType) || containsUnion(type.valueType);
    default:
      return false;
  }
}

/** Walks `values` (written to `vector` at rows `row(i)`) and clears the validity bit of each null union. */
function markNullUnions(vector: duckdb.Vector, type: DuckDBType, values: readonly DuckDBValue[], row: (i: number) => number): void {
  if (!containsUnion(type)) return;
  switch (type.typeId) {
    case DuckDBTypeId.UNION: {
      const nullRows: number[] = [];
      values.forEach((v, i) => v === null && nullRows.push(row(i)));
      clearValidity(vector, nullRows);
      // A union's members are the children after its tag; a member that is itself nested may hold unions too.
      type.memberTypes.forEach((memberType, m) => {
        const rows: number[] = [];
        const members: DuckDBValue[] = [];
        values.forEach((v, i) => {
          if (v instanceof DuckDBUnionValue && v.tag === type.memberTags[m]) {
            rows.push(row(i));
            members.push(v.value);
          }
        });
        markNullUnions(duckdb.struct_vector_get_child(vector, m + 1), memberType, members, (j) => rows[j]!);
      });
      return;
    }
    case DuckDBTypeId.STRUCT:
      // A NULL struct's entries count as NULL too: DuckDB compares and hashes them.
      type.entryTypes.forEach((entryType, e) => {
        const name = type.entryNames[e]!;
        const entries = values.map((v) => (v instanceof DuckDBStructValue ? (v.entries[name] ?? null) : null));
        markNullUnions(duckdb.struct_vector_get_child(vector, e), entryType, entries, row);
      });
      return;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP: {
      // Each row's elements sit in the child vector from the row's list entry offset on.
      const lastRow = values.reduce<number>((max, _v, i) => Math.max(max, row(i)), -1);
      const entries = new BigUint64Array(duckdb.vector_get_data(vector, (lastRow + 1) * 16).slice().buffer);
      const rows: number[] = [];
      const items: DuckDBValue[] = [];
      values.forEach((v, i) => {
        const elements = v instanceof DuckDBListValue ? v.items : v instanceof DuckDBMapValue ? v.entries.map(({ key, value }) => new DuckDBStructValue({ key, value })) : null;
        const offset = Number(entries[row(i) * 2]!);
        elements?.forEach((item, k) => {
          rows.push(offset + k);
          items.push(item);
        });
      });
      const child = duckdb.list_vector_get_child(vector);
      const childType = type.typeId === DuckDBTypeId.LIST ? type.valueType : STRUCT({ key: type.keyType, value: type.valueType });
      markNullUnions(child, childType, items, (j) => rows[j]!);
      return;
    }
    case DuckDBTypeId.ARRAY: {
      const rows: number[] = [];
      const items: DuckDBValue[] = [];
      values.forEach((v, i) => {
        if (v instanceof DuckDBArrayValue)
          v.items.forEach((item, k) => {
            rows.push(row(i) * type.length + k);
            items.push(item);
          });
      });
      markNullUnions(duckdb.array_vector_get_child(vector), type.valueType, items, (j) => rows[j]!);
      return;
    }
    default:
      return;
  }
}

/** Marks `rows` of `vector` NULL. */
function clearValidity(vector: duckdb.Vector, rows: readonly number[]): void {
  if (rows.length === 0) return;
  duckdb.vector_ensure_validity_writable(vector);
  const bytes = ((Math.max(...rows) + 64) >> 6) * 8;
  const bits = duckdb.vector_get_validity(vector, bytes).slice();
  for (const r of rows) bits[r >> 3]! &= ~(1 << (r & 7));
  duckdb.copy_data_to_vector_validity(vector, 0, bits.buffer, bits.byteOffset, bytes);
}


function createFiller(type: DuckDBType, column: number): ColumnFiller {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return new BoolFiller(column);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.UTINYINT:
      return new CopyFiller(column, 1);
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.USMALLINT:
      return new CopyFiller(column, 2);
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DATE:
      return new CopyFiller(column, 4);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.TIME_TZ:
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return new CopyFiller(column, 8);
    case DuckDBTypeId.HUGEINT:
      return new CopyFiller(column, 16);
    case DuckDBTypeId.DECIMAL: {
      const width = decimalStorageBytes(type.width);
      return width === 16 ? new CopyFiller(column, 16) : new NarrowDecimalFiller(column, width);
    }
    case DuckDBTypeId.UHUGEINT:
      return new UHugeIntFiller(column);
    case DuckDBTypeId.UUID:
      return new UUIDFiller(column);
    case DuckDBTypeId.INTERVAL:
      return new IntervalFiller(column);
    case DuckDBTypeId.ENUM: {
      const width = type.internalTypeId === DuckDBTypeId.UTINYINT ? 1 : type.internalTypeId === DuckDBTypeId.USMALLINT ? 2 : 4;
      return new EnumFiller(column, width, type.values.length);
    }
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BLOB:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.GEOMETRY:
      return new StringFiller(column, type);
    default:
      return new ValueFiller(column, type);
  }
}
