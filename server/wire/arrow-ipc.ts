/**
 * The result wire format: DuckDB query results as an Arrow IPC stream, cut into checksummed payloads.
 *
 * Contract
 * --------
 * - The concatenation of all payloads' `bytes`, in order, is one valid Arrow IPC *stream*: the schema
 *   message, then dictionary and record-batch messages, then the end-of-stream marker. Any Arrow
 *   reader can read it (e.g. apache-arrow's `tableFromIPC`, pyarrow's `ipc.open_stream`).
 * - Each payload holds whole IPC messages only; no message is ever split across payloads. The first
 *   payload starts with the schema message. An empty result still yields the schema: `finish()`
 *   emits it, followed by the end-of-stream marker, when `push()` never produced a payload.
 * - `crc32` is `zlib.crc32(bytes)`. `verifyPayload` (and `ArrowIpcDecoder.push`, which calls it
 *   first) throws `CorruptPayloadError` when the bytes do not match it, before anything is parsed.
 * - Every top-level Arrow field carries the exact DuckDB type as JSON (see duckdb-type-json.ts) in its
 *   metadata under `duckdb.type`, so a DuckDB peer rebuilds types and values exactly, while the Arrow
 *   types themselves are standard ones wherever Arrow has one:
 *
 *     BOOLEAN            Bool                    DATE           Date32 (days; ±infinity kept as DuckDB's raw day numbers)
 *     TINYINT..BIGINT    Int8..Int64             TIME           Time64[us]
 *     UTINYINT..UBIGINT  Uint8..Uint64           TIME_NS        Time64[ns]
 *     FLOAT, DOUBLE      Float32, Float64        TIMETZ         Int64 holding DuckDB's 64-bit TIMETZ encoding
 *     HUGEINT            Decimal128(38,0)        TIMESTAMP      Timestamp[us]
 *     UHUGEINT           Decimal256(39,0)        TIMESTAMP_S/MS/NS  Timestamp[s/ms/ns]
 *     DECIMAL(p,s)       Decimal128(p,s)         TIMESTAMPTZ    Timestamp[us, "UTC"]
 *     VARCHAR            Utf8                    INTERVAL       Interval[MonthDayNano] (nanos = micros * 1000)
 *     BLOB               Binary                  LIST, ARRAY    List, FixedSizeList
 *     UUID               FixedSizeBinary(16), extension arrow.uuid (RFC 4122 byte order)
 *     ENUM               Dictionary<Uint8|Uint16|Uint32, Utf8>, the dictionary holding every member
 *     STRUCT, MAP        Struct, Map
 *     UNION              Struct<tag: Uint8, member...>, DuckDB's own physical layout (lossless)
 *     BIT                Binary of DuckDB's bit-string bytes (lossless)
 *     BIGNUM             Utf8 of the decimal digits (lossless)
 *     GEOMETRY           Binary (WKB), extension geoarrow.wkb
 *     VARIANT            Struct of DuckDB's physical VARIANT layout (keys, children, values, data)
 *     SQLNULL            Null
 *
 *   MonthDayNano holds the microseconds part as int64 nanoseconds, so an INTERVAL whose
 *   microseconds part exceeds about ±292 years (2^63 ns) has no exact Arrow form; the encoder
 *   refuses it with `UnsupportedValueError` rather than send a wrong value. DuckDB keeps such parts
 *   unnormalised (INTERVAL '3000000 hours' stays hours), so they do occur, if rarely.
 *
 * Decoding rebuilds node-api values (DuckDBDecimalValue, DuckDBListValue, ...) so that each prints
 * and converts to JSON exactly like the value DuckDB produced. VARIANT values are decoded by writing
 * their physical layout into a scratch DuckDB chunk and letting the node-api read it back.
 *
 * Encoding reads DuckDB's vectors directly (the raw data and validity buffers the Node bindings
 * expose) and builds Arrow buffers from them, so no per-value JS objects are made for flat columns.
 * The encoder holds at most about one batch of rows (`targetBatchBytes`, default 2 MiB); its buffers
 * are reused from batch to batch because touching fresh memory is slow.
 */
import { crc32 } from 'node:zlib';
import duckdb from '@duckdb/node-bindings';
import {
  Binary,
  Bool,
  Data,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalMonthDayNano,
  List,
  Map_,
  Message,
  MessageHeader,
  Null,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimeMicrosecond,
  TimeNanosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Vector,
  makeData,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import type { ArrayBufferViewInput } from 'apache-arrow/util/buffer';
import {
  DuckDBBitValue,
  DuckDBBlobValue,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBGeometryValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBLogicalType,
  DuckDBArrayValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeNSValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  DuckDBUnionValue,
  DuckDBUUIDValue,
  DuckDBVariantVector,
  DuckDBVector,
  LIST,
  STRUCT,
  BLOB,
  UINTEGER,
  UTINYINT,
  VARCHAR,
  type DuckDBEnumType,
  type DuckDBStructType,
  type DuckDBType,
  type DuckDBUnionType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { OpenDuckError, ResourceExhaustedError } from '../../core/errors.js';
import { MAX_MESSAGE_BYTES, MAX_VALUE_BYTES, formatCap } from '../limits.js';
import { typeFromJson, typeToJson } from './duckdb-type-json.js';

// =============================================================================================
// Public API
// =============================================================================================

export interface ResultColumns {
  names: string[];
  types: DuckDBType[];
}

export interface EncodedPayload {
  bytes: Uint8Array;
  /** Data rows in this payload's record batches. */
  rows: number;
  crc32: number;
}

export interface DecodedBatch {
  rowCount: number;
  /** Column-major: `columns[c][r]`. */
  columns: DuckDBValue[][];
  /** Row-major copy: `rows()[r][c]`. */
  rows(): DuckDBValue[][];
}

/** Field-metadata key holding the exact DuckDB type as JSON. */
export const DUCKDB_TYPE_METADATA_KEY = 'duckdb.type';
export const DEFAULT_TARGET_BATCH_BYTES = 2 * 1024 * 1024;

/** Bytes that do not match their checksum, or that do not form the Arrow stream this format promises. */
export class CorruptPayloadError extends OpenDuckError {
  constructor(readonly detail: string) {
    super('CORRUPT_OBJECT', `corrupt result payload: ${detail}`);
  }
}

/** A DuckDB type this wire format cannot carry (only non-result types such as ANY). */
export class UnsupportedTypeError extends OpenDuckError {
  constructor(
    readonly column: string,
    readonly typeName: string,
    detail: string,
  ) {
    super('INVALID_ARGUMENT', `column ${column}: DuckDB type ${typeName} cannot be sent as Arrow (${detail})`);
  }
}

/** A value of a supported type that the chosen Arrow layout cannot hold exactly. */
export class UnsupportedValueError extends OpenDuckError {
  constructor(
    readonly column: string,
    detail: string,
  ) {
    super('INVALID_ARGUMENT', `column ${column}: ${detail}`);
  }
}

/** The encoder or decoder used out of order (e.g. push after finish). */
export class WireStateError extends OpenDuckError {
  constructor(detail: string) {
    super('INVALID_ARGUMENT', `result wire: ${detail}`);
  }
}

export function verifyPayload(p: { bytes: Uint8Array; crc32: number }): void {
  if (!(p.bytes instanceof Uint8Array)) throw new CorruptPayloadError('payload bytes are not a Uint8Array');
  if (typeof p.crc32 !== 'number' || !Number.isInteger(p.crc32)) throw new CorruptPayloadError('payload has no CRC-32');
  const actual = crc32(p.bytes);
  if (actual !== p.crc32 >>> 0) {
    throw new CorruptPayloadError(
      `checksum mismatch over ${p.bytes.byteLength} bytes: computed CRC-32 ${hex32(actual)}, payload says ${hex32(p.crc32 >>> 0)}`,
    );
  }
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

// =============================================================================================
// Encoder
// =============================================================================================

export class ArrowIpcEncoder {
  private readonly columns: ResultColumns;
  private readonly schema: Schema;
  private readonly writers: ColumnWriter[];
  private readonly serializer = new MessageCollector();
  private readonly targetBatchBytes: number;
  private readonly maxValueBytes: number;
  private readonly maxMessageBytes: number;
  private batchRows = 0;
  private schemaSent = false;
  private firstChunkChecked = false;
  private finished = false;
  /** Set when a push failed part-way: the batch may then hold some columns' rows but not others'. */
  private failure: unknown = null;

  /**
   * `maxValueBytes` and `maxMessageBytes` bound one value and one payload. A row over either is
   * refused with ResourceExhaustedError before any of its bytes are copied out of DuckDB.
   */
  constructor(columns: ResultColumns, options: { targetBatchBytes?: number; maxValueBytes?: number; maxMessageBytes?: number } = {}) {
    if (columns.names.length !== columns.types.length) {
      throw new WireStateError(`${columns.names.length} column names but ${columns.types.length} column types`);
    }
    const target = options.targetBatchBytes ?? DEFAULT_TARGET_BATCH_BYTES;
    if (!Number.isInteger(target) || target <= 0) throw new WireStateError(`targetBatchBytes must be a positive integer, got ${target}`);
    this.targetBatchBytes = target;
    this.maxValueBytes = options.maxValueBytes ?? MAX_VALUE_BYTES;
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.columns = { names: [...columns.names], types: [...columns.types] };
    const dictionaryIds = { next: 0 };
    const fields = columns.names.map((name, i) => topLevelField(name, columns.types[i]!, dictionaryIds));
    this.schema = new Schema(fields);
    this.writers = columns.types.map((type, i) => createWriter(type, fields[i]!.type, quoteName(columns.names[i]!)));
  }

  push(chunk: DuckDBDataChunk): EncodedPayload[] {
    this.checkUsable('push()');
    const rowCount = chunk.rowCount;
    if (rowCount === 0) return [];
    const payloads: EncodedPayload[] = [];
    try {
      this.bindChunk(chunk, rowCount);
      let from = 0;
      while (from < rowCount) {
        const to = this.rangeEnd(from, rowCount);
        // Only a range of one row can be larger than a batch: check it before copying it.
        if (to - from === 1) this.checkRowFits(from);
        for (const w of this.writers) w.append(from, to);
        this.batchRows += to - from;
        from = to;
        if (this.batchBytes() >= this.targetBatchBytes) payloads.push(this.flushBatch(false));
      }
    } catch (err) {
      this.failure = err;
      throw err;
    } finally {
      // The raw views point into DuckDB's chunk memory, which is not ours to keep once push returns.
      for (const w of this.writers) w.unbind();
    }
    return payloads;
  }

  finish(): EncodedPayload[] {
    this.checkUsable('finish()');
    this.finished = true;
    return [this.flushBatch(true)];
  }

  private checkUsable(call: string): void {
    if (this.finished) throw new WireStateError(`${call} after finish()`);
    if (this.failure !== null) throw new WireStateError(`${call} after an earlier push() failed (${errorText(this.failure)})`);
  }

  private bindChunk(chunk: DuckDBDataChunk, rowCount: number): void {
    if (chunk.columnCount !== this.writers.length) {
      throw new WireStateError(`chunk has ${chunk.columnCount} columns, the result declared ${this.writers.length}`);
    }
    for (let c = 0; c < this.writers.length; c++) {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
      this.checkVectorType(c, duckdb.vector_get_column_type(vector));
      this.writers[c]!.bind(vector, rowCount);
    }
    this.firstChunkChecked = true;
  }

  /**
   * Reading a vector as the wrong type reads foreign memory, so a chunk must hold the declared
   * types. The first chunk is compared in full; later ones by type id, which is much cheaper.
   */
  private checkVectorType(column: number, logicalType: duckdb.LogicalType): void {
    const declared = this.columns.types[column]!;
    const actual = this.firstChunkChecked ? null : DuckDBLogicalType.create(logicalType).asType();
    const actualId = actual ? actual.typeId : (duckdb.get_type_id(logicalType) as number);
    if (actualId !== declared.typeId || (actual && String(actual) !== String(declared))) {
      const shown = actual ? String(actual) : (DuckDBTypeId[actualId] ?? String(actualId));
      throw new WireStateError(`column ${quoteName(this.columns.names[column]!)} was declared ${declared} but the chunk holds ${shown}`);
    }
  }

  /**
   * Where the next range of rows appended to the batch ends: the rest of the chunk, halved until it
   * fits. A batch is flushed once it reaches the target, so batches end up between the target and
   * 1.5 times it; only a single row larger than that makes a bigger one.
   */
  private rangeEnd(from: number, rowCount: number): number {
    const room = this.targetBatchBytes * 1.5 - this.batchBytes();
    let to = rowCount;
    while (to - from > 1 && this.estimateBytes(from, to) > room) to = from + ((to - from) >> 1);
    return to;
  }

  private checkRowFits(row: number): void {
    const bytes = this.estimateBytes(row, row + 1);
    if (bytes <= Math.min(this.maxValueBytes, this.maxMessageBytes)) return;
    for (let c = 0; c < this.writers.length; c++) {
      const valueBytes = this.writers[c]!.estimateBytes(row, row + 1);
      if (valueBytes > this.maxValueBytes) {
        throw new ResourceExhaustedError(
          'the maximum value size',
          `a value of column ${quoteName(this.columns.names[c]!)} is ${Math.ceil(valueBytes)} bytes, over the ${formatCap(this.maxValueBytes)} limit for a single value in a result`,
        );
      }
    }
    if (bytes > this.maxMessageBytes) {
      throw new ResourceExhaustedError('the maximum message size', `a result row is ${Math.ceil(bytes)} bytes, over the ${formatCap(this.maxMessageBytes)} limit for a single result message`);
    }
  }

  private estimateBytes(from: number, to: number): number {
    let sum = 0;
    for (const w of this.writers) sum += w.estimateBytes(from, to);
    return sum;
  }

  private batchBytes(): number {
    let sum = 0;
    for (const w of this.writers) sum += w.byteLength;
    return sum;
  }

  /** Serialises the rows held so far (and the schema, if not yet sent) into one payload. */
  private flushBatch(endOfStream: boolean): EncodedPayload {
    const rows = this.batchRows;
    if (!this.schemaSent) {
      this.serializer.startStream(this.schema);
      this.schemaSent = true;
    }
    if (rows > 0) {
      const children = this.writers.map((w) => w.build());
      const data = makeData({ type: new Struct(this.schema.fields), length: rows, nullCount: 0, children });
      this.serializer.writeBatch(new RecordBatch(this.schema, data));
    }
    if (endOfStream) this.serializer.endStream();
    // The serializer holds views of the writers' buffers until take() copies them out.
    const bytes = this.serializer.take();
    for (const w of this.writers) w.reset();
    this.batchRows = 0;
    return { bytes, rows, crc32: crc32(bytes) };
  }
}

/**
 * apache-arrow's stream writer, with its byte sink replaced by a list we can drain after each
 * batch: the writer frames messages and tracks dictionaries correctly, but only offers its output
 * all at once at the end.
 */
class MessageCollector extends RecordBatchStreamWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor() {
    super({ autoDestroy: false });
  }

  startStream(schema: Schema): void {
    this.reset(undefined, schema);
  }

  writeBatch(batch: RecordBatch): void {
    this.write(batch);
  }

  endStream(): void {
    this.finish();
  }

  protected override _write(chunk: ArrayBufferViewInput): this {
    if (!this._started) return this;
    if (!ArrayBuffer.isView(chunk)) throw new Error('arrow writer produced a non-view chunk');
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (bytes.byteLength > 0) {
      this.pending.push(bytes);
      this.pendingBytes += bytes.byteLength;
      this._position += bytes.byteLength;
    }
    return this;
  }

  /** The bytes written since the last take, copied into one buffer the caller owns. */
  take(): Uint8Array {
    // Every byte is overwritten below, so skip the zero-fill a plain new Uint8Array would do. The
    // result is a plain Uint8Array (not a Buffer) so slice() keeps copying for callers.
    const unfilled = Buffer.allocUnsafeSlow(this.pendingBytes);
    const out = new Uint8Array(unfilled.buffer, unfilled.byteOffset, unfilled.byteLength);
    let at = 0;
    for (const part of this.pending) {
      out.set(part, at);
      at += part.byteLength;
    }
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }
}

// =============================================================================================
// DuckDB type -> Arrow type
// =============================================================================================

interface DictionaryIds {
  next: number;
}

function topLevelField(name: string, type: DuckDBType, ids: DictionaryIds): Field {
  const where = quoteName(name);
  const field = arrowField(name, type, true, ids, where);
  const metadata = new Map(field.metadata);
  metadata.set(DUCKDB_TYPE_METADATA_KEY, JSON.stringify(typeToJson(type)));
  return new Field(name, field.type, true, metadata);
}

function arrowField(name: string, type: DuckDBType, nullable: boolean, ids: DictionaryIds, where: string): Field {
  return new Field(name, arrowType(type, ids, where), nullable, extensionMetadata(type));
}

function extensionMetadata(type: DuckDBType): Map<string, string> | null {
  switch (type.typeId) {
    case DuckDBTypeId.UUID:
      return new Map([['ARROW:extension:name', 'arrow.uuid']]);
    case DuckDBTypeId.GEOMETRY:
      return new Map([
        ['ARROW:extension:name', 'geoarrow.wkb'],
        ['ARROW:extension:metadata', type.crs ? JSON.stringify({ crs: type.crs }) : '{}'],
      ]);
    default:
      return null;
  }
}

function arrowType(type: DuckDBType, ids: DictionaryIds, where: string): DataType {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return new Bool();
    case DuckDBTypeId.TINYINT:
      return new Int8();
    case DuckDBTypeId.SMALLINT:
      return new Int16();
    case DuckDBTypeId.INTEGER:
      return new Int32();
    case DuckDBTypeId.BIGINT:
      return new Int64();
    case DuckDBTypeId.UTINYINT:
      return new Uint8();
    case DuckDBTypeId.USMALLINT:
      return new Uint16();
    case DuckDBTypeId.UINTEGER:
      return new Uint32();
    case DuckDBTypeId.UBIGINT:
      return new Uint64();
    case DuckDBTypeId.FLOAT:
      return new Float32();
    case DuckDBTypeId.DOUBLE:
      return new Float64();
    case DuckDBTypeId.HUGEINT:
      return new Decimal(0, 38, 128);
    case DuckDBTypeId.UHUGEINT:
      // 2^128 - 1 has 39 digits and does not fit a signed 128-bit decimal.
      return new Decimal(0, 39, 256);
    case DuckDBTypeId.DECIMAL:
      return new Decimal(type.scale, type.width, 128);
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BIGNUM:
      return new Utf8();
    case DuckDBTypeId.BLOB:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.GEOMETRY:
      return new Binary();
    case DuckDBTypeId.UUID:
      return new FixedSizeBinary(16);
    case DuckDBTypeId.ENUM:
      return new Dictionary(new Utf8(), enumIndexArrowType(type), ids.next++, false);
    case DuckDBTypeId.DATE:
      return new DateDay();
    case DuckDBTypeId.TIME:
      return new TimeMicrosecond();
    case DuckDBTypeId.TIME_NS:
      return new TimeNanosecond();
    case DuckDBTypeId.TIME_TZ:
      return new Int64();
    case DuckDBTypeId.TIMESTAMP:
      return new TimestampMicrosecond();
    case DuckDBTypeId.TIMESTAMP_S:
      return new TimestampSecond();
    case DuckDBTypeId.TIMESTAMP_MS:
      return new TimestampMillisecond();
    case DuckDBTypeId.TIMESTAMP_NS:
      return new TimestampNanosecond();
    case DuckDBTypeId.TIMESTAMP_TZ:
      return new TimestampMicrosecond('UTC');
    case DuckDBTypeId.INTERVAL:
      return new IntervalMonthDayNano();
    case DuckDBTypeId.LIST:
      return new List(arrowField('item', type.valueType, true, ids, `${where}[]`));
    case DuckDBTypeId.ARRAY:
      return new FixedSizeList(type.length, arrowField('item', type.valueType, true, ids, `${where}[]`));
    case DuckDBTypeId.STRUCT:
      return new Struct(structFields(type, ids, where));
    case DuckDBTypeId.MAP:
      return new Map_(
        new Field(
          'entries',
          new Struct<any>([arrowField('key', type.keyType, false, ids, `${where}.key`), arrowField('value', type.valueType, true, ids, `${where}.value`)]),
          false,
        ),
        false,
      );
    case DuckDBTypeId.UNION:
      return new Struct(structFields(unionPhysicalType(type), ids, where));
    case DuckDBTypeId.VARIANT:
      return new Struct(structFields(VARIANT_PHYSICAL_TYPE, ids, where));
    case DuckDBTypeId.SQLNULL:
      return new Null();
    case DuckDBTypeId.ANY:
    case DuckDBTypeId.STRING_LITERAL:
    case DuckDBTypeId.INTEGER_LITERAL:
      throw new UnsupportedTypeError(where, String(type), 'it is not a result type');
    default: {
      const unknownType: { typeId: number } = type;
      throw new UnsupportedTypeError(where, DuckDBTypeId[unknownType.typeId] ?? String(unknownType.typeId), 'unknown type id');
    }
  }
}

function structFields(type: DuckDBStructType, ids: DictionaryIds, where: string): Field[] {
  return type.entryNames.map((name, i) => arrowField(name, type.entryTypes[i]!, true, ids, `${where}.${quoteName(name)}`));
}

function enumIndexArrowType(type: DuckDBEnumType): Uint8 | Uint16 | Uint32 {
  switch (type.internalTypeId) {
    case DuckDBTypeId.UTINYINT:
      return new Uint8();
    case DuckDBTypeId.USMALLINT:
      return new Uint16();
    default:
      return new Uint32();
  }
}

/** DuckDB stores a UNION as a STRUCT whose first entry is the member index. */
function unionPhysicalType(type: DuckDBUnionType): DuckDBStructType {
  return STRUCT(Object.fromEntries([['tag', UTINYINT], ...type.memberTags.map((tag, i) => [tag, type.memberTypes[i]!])]));
}

/** DuckDB's physical VARIANT layout (LogicalType::VARIANT()), as the node-api reads it. */
const VARIANT_PHYSICAL_TYPE: DuckDBStructType = STRUCT({
  keys: LIST(VARCHAR),
  children: LIST(STRUCT({ keys_index: UINTEGER, values_index: UINTEGER })),
  values: LIST(STRUCT({ type_id: UTINYINT, byte_offset: UINTEGER })),
  data: BLOB,
});

function quoteName(name: string): string {
  return JSON.stringify(name);
}

// =============================================================================================
// Growable buffers
// =============================================================================================

export const EMPTY_BYTES = new Uint8Array(0);

/**
 * A byte buffer reused from batch to batch. It keeps its memory unless a batch used only a small
 * part of a large buffer (say after one huge row), so one outlier does not pin memory for good.
 */
class GrowableBytes {
  bytes: Uint8Array = EMPTY_BYTES;
  length = 0;
  private int32: Int32Array = new Int32Array(0);

  /** Makes room for `extra` more bytes; returns the (possibly new) backing array. */
  reserve(extra: number): Uint8Array {
    const needed = this.length + extra;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2, 4096));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.int32 = new Int32Array(grown.buffer, 0, grown.length >> 2);
    }
    return this.bytes;
  }

  /** An Int32 view of the whole backing array; valid until the next reserve. */
  get int32View(): Int32Array {
    return this.int32;
  }

  append(src: Uint8Array): void {
    this.reserve(src.length).set(src, this.length);
    this.length += src.length;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  reset(): void {
    if (this.bytes.length > RELEASE_ABOVE_BYTES && this.length * 4 < this.bytes.length) {
      this.bytes = EMPTY_BYTES;
      this.int32 = new Int32Array(0);
    }
    this.length = 0;
  }
}

const RELEASE_ABOVE_BYTES = 16 * 1024 * 1024;

/**
 * Arrow validity bits for one batch. No bitmap is materialised until the first null, because
 * Arrow lets an all-valid column omit it and most columns have no nulls.
 */
class ValidityBuilder {
  private bits: Uint8Array = EMPTY_BYTES;
  private materialized = false;
  length = 0;
  nullCount = 0;

  get byteLength(): number {
    return this.materialized ? (this.length + 7) >> 3 : 0;
  }

  /** Appends rows [from, to) of a DuckDB validity mask (null mask = all valid); same bit order as Arrow's. */
  appendFromDuckDB(src: Uint8Array | null, from: number, to: number): void {
    if (src === null || allBitsSet(src, from, to)) {
      this.appendValid(to - from);
      return;
    }
    this.materialize(this.length + (to - from));
    const bits = this.bits;
    let d = this.length;
    let nulls = 0;
    for (let i = from; i < to; i++, d++) {
      if ((src[i >> 3]! >> (i & 7)) & 1) bits[d >> 3]! |= 1 << (d & 7);
      else {
        bits[d >> 3]! &= ~(1 << (d & 7));
        nulls++;
      }
    }
    this.length = d;
    this.nullCount += nulls;
  }

  appendValid(count: number): void {
    if (this.materialized) {
      this.ensure(this.length + count);
      setBits(this.bits, this.length, count);
    }
    this.length += count;
  }

  /** The bitmap for Arrow, or undefined when every row is valid. */
  build(): Uint8Array | undefined {
    return this.materialized ? this.bits.subarray(0, (this.length + 7) >> 3) : undefined;
  }

  reset(): void {
    this.length = 0;
    this.nullCount = 0;
    this.materialized = false;
  }

  private materialize(capacityBits: number): void {
    this.ensure(capacityBits);
    if (!this.materialized) {
      setBits(this.bits, 0, this.length);
      this.materialized = true;
    }
  }

  private ensure(capacityBits: number): void {
    const needed = (capacityBits + 7) >> 3;
    if (needed > this.bits.length) {
      const grown = new Uint8Array(Math.max(needed, this.bits.length * 2, 512));
      grown.set(this.bits);
      this.bits = grown;
    }
  }
}

function setBits(bits: Uint8Array, from: number, count: number): void {
  let i = from;
  const end = from + count;
  while (i < end && (i & 7) !== 0) {
    bits[i >> 3]! |= 1 << (i & 7);
    i++;
  }
  const fullBytesEnd = end & ~7;
  if (i < fullBytesEnd) {
    bits.fill(0xff, i >> 3, fullBytesEnd >> 3);
    i = fullBytesEnd;
  }
  for (; i < end; i++) bits[i >> 3]! |= 1 << (i & 7);
}

function allBitsSet(bits: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to && (i & 7) !== 0) {
    if (!((bits[i >> 3]! >> (i & 7)) & 1)) return false;
    i++;
  }
  const fullBytesEnd = to & ~7;
  for (; i < fullBytesEnd; i += 8) if (bits[i >> 3] !== 0xff) return false;
  for (; i < to; i++) if (!((bits[i >> 3]! >> (i & 7)) & 1)) return false;
  return true;
}

export function isValidBit(bits: Uint8Array | null, i: number): boolean {
  return bits === null || ((bits[i >> 3]! >> (i & 7)) & 1) === 1;
}

// =============================================================================================
// Raw DuckDB vector access
// =============================================================================================

/** DuckDB's data buffer for `count` values of `width` bytes: a view of DuckDB's memory, not a copy. */
function rawData(vector: duckdb.Vector, count: number, width: number): Uint8Array {
  return count === 0 ? EMPTY_BYTES : duckdb.vector_get_data(vector, count * width);
}

/** DuckDB's validity mask (64-bit words, least significant bit first), or null when all are valid. */
function rawValidity(vector: duckdb.Vector, count: number): Uint8Array | null {
  if (count === 0) return null;
  return duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8) ?? null;
}

function int32ViewOf(bytes: Uint8Array): Int32Array {
  if (bytes.byteOffset % 4 !== 0) throw new Error('DuckDB vector data is not 4-byte aligned');
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
}

// =============================================================================================
// Column writers: DuckDB vectors -> Arrow Data
// =============================================================================================

/**
 * Accumulates one column (or nested child) of the current batch. `bind` points it at a DuckDB
 * vector, `append(from, to)` copies those rows, `build` hands the batch to Arrow and `reset` starts
 * the next batch in the same memory.
 */
abstract class ColumnWriter {
  readonly validity = new ValidityBuilder();
  protected srcValidity: Uint8Array | null = null;

  constructor(readonly arrowType: DataType) {}

  bind(vector: duckdb.Vector, count: number): void {
    this.srcValidity = rawValidity(vector, count);
    this.bindData(vector, count);
  }

  unbind(): void {
    this.srcValidity = null;
    this.unbindData();
  }

  append(from: number, to: number): void {
    if (to <= from) return;
    // Validity goes first, so `length` already counts these rows while the data is appended.
    this.validity.appendFromDuckDB(this.srcValidity, from, to);
    this.appendData(from, to);
  }

  get length(): number {
    return this.validity.length;
  }

  get byteLength(): number {
    return this.validity.byteLength + this.dataByteLength();
  }

  /** About how many Arrow bytes rows [from, to) of the bound vector will add. */
  estimateBytes(from: number, to: number): number {
    return (to - from) / 8 + this.estimateDataBytes(from, to);
  }

  reset(): void {
    this.validity.reset();
    this.resetData();
  }

  protected nullCount(): number {
    return this.validity.nullCount;
  }

  abstract build(): Data;
  protected abstract bindData(vector: duckdb.Vector, count: number): void;
  protected abstract unbindData(): void;
  protected abstract appendData(from: number, to: number): void;
  protected abstract estimateDataBytes(from: number, to: number): number;
  protected abstract dataByteLength(): number;
  protected abstract resetData(): void;
}

/**
 * Fixed-width values. By default DuckDB's bytes already are Arrow's and whole ranges are copied;
 * subclasses that need a per-value transformation override `convert`.
 */
class FixedWidthWriter extends ColumnWriter {
  protected readonly values = new GrowableBytes();
  protected src: Uint8Array = EMPTY_BYTES;

  constructor(
    arrowType: DataType,
    protected readonly srcWidth: number,
    protected readonly outWidth: number = srcWidth,
    private readonly dictionary?: Vector,
  ) {
    super(arrowType);
  }

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.src = rawData(vector, count, this.srcWidth);
  }

  protected unbindData(): void {
    this.src = EMPTY_BYTES;
  }

  protected appendData(from: number, to: number): void {
    const bytes = (to - from) * this.outWidth;
    const out = this.values.reserve(bytes);
    this.convert(from, to, out, this.values.length);
    this.values.length += bytes;
  }

  /** Writes rows [from, to) of `src` into `out` from byte `at`. */
  protected convert(from: number, to: number, out: Uint8Array, at: number): void {
    out.set(this.src.subarray(from * this.srcWidth, to * this.srcWidth), at);
  }

  protected estimateDataBytes(from: number, to: number): number {
    return (to - from) * this.outWidth;
  }

  protected dataByteLength(): number {
    return this.values.length;
  }

  protected resetData(): void {
    this.values.reset();
  }

  build(): Data {
    const values = typedArrayFor(this.arrowType, this.values.view());
    return new Data(this.arrowType, 0, this.length, this.nullCount(), [undefined, values, this.validity.build()], [], this.dictionary);
  }
}

/** Arrow's typed-array flavour for a fixed-width type (the indices' for a dictionary), over the same bytes. */
function typedArrayFor(type: DataType, bytes: Uint8Array): ArrayBufferView {
  const ArrayType = (type.typeId === Type.Dictionary ? (type as Dictionary).indices.ArrayType : type.ArrayType) as {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView;
    BYTES_PER_ELEMENT: number;
  };
  return new ArrayType(bytes.buffer, bytes.byteOffset, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);
}

/** DECIMAL stored as int16/int32/int64, sign-extended to Arrow's 128-bit decimal. */
class WideningDecimalWriter extends FixedWidthWriter {
  protected override convert(from: number, to: number, out: Uint8Array, at: number): void {
    const o = new Int32Array(out.buffer, out.byteOffset + at, (to - from) * 4);
    const src = this.src;
    if (this.srcWidth === 8) {
      const s = int32ViewOf(src);
      for (let i = from, k = 0; i < to; i++, k += 4) writeWords(o, k, s[2 * i]!, s[2 * i + 1]!, s[2 * i + 1]! >> 31);
    } else {
      const s = this.srcWidth === 2 ? new Int16Array(src.buffer, src.byteOffset, src.byteLength >> 1) : int32ViewOf(src);
      for (let i = from, k = 0; i < to; i++, k += 4) writeWords(o, k, s[i]!, s[i]! >> 31, s[i]! >> 31);
    }
  }
}

function writeWords(o: Int32Array, k: number, low: number, second: number, sign: number): void {
  o[k] = low;
  o[k + 1] = second;
  o[k + 2] = sign;
  o[k + 3] = sign;
}

/** UHUGEINT (two unsigned 64-bit words) zero-extended into a 256-bit decimal. */
class UHugeIntWriter extends FixedWidthWriter {
  protected override convert(from: number, to: number, out: Uint8Array, at: number): void {
    for (let i = from, o = at; i < to; i++, o += 32) {
      out.set(this.src.subarray(i * 16, i * 16 + 16), o);
      out.fill(0, o + 16, o + 32);
    }
  }
}

/**
 * DuckDB keeps a UUID as a little-endian hugeint with the top bit flipped (so it sorts like its
 * text); Arrow's uuid extension wants the 16 bytes in RFC 4122 (big-endian) order.
 */
class UUIDWriter extends FixedWidthWriter {
  protected override convert(from: number, to: number, out: Uint8Array, at: number): void {
    const src = this.src;
    for (let i = from, o = at; i < to; i++, o += 16) {
      const s = i * 16;
      for (let j = 0; j < 16; j++) out[o + j] = src[s + 15 - j]!;
      out[o] = out[o]! ^ 0x80;
    }
  }
}

const MAX_MICROS_AS_NANOS = ((1n << 63n) - 1n) / 1000n;

/** INTERVAL {int32 months, int32 days, int64 micros} -> MonthDayNano {months, days, int64 nanos}. */
class IntervalWriter extends FixedWidthWriter {
  constructor(private readonly where: string) {
    super(new IntervalMonthDayNano(), 16);
  }

  protected override convert(from: number, to: number, out: Uint8Array, at: number): void {
    const src = new DataView(this.src.buffer, this.src.byteOffset, this.src.byteLength);
    const dst = new DataView(out.buffer, out.byteOffset + at, (to - from) * 16);
    for (let i = from, o = 0; i < to; i++, o += 16) {
      const s = i * 16;
      dst.setInt32(o, src.getInt32(s, true), true);
      dst.setInt32(o + 4, src.getInt32(s + 4, true), true);
      // A NULL slot may hold anything; it must not trip the range check.
      const micros = isValidBit(this.srcValidity, i) ? src.getBigInt64(s + 8, true) : 0n;
      if (micros > MAX_MICROS_AS_NANOS || micros < -MAX_MICROS_AS_NANOS) {
        throw new UnsupportedValueError(
          this.where,
          `INTERVAL with ${micros} microseconds beyond its months and days does not fit Arrow's MonthDayNano (limit ±${MAX_MICROS_AS_NANOS})`,
        );
      }
      dst.setBigInt64(o + 8, micros * 1000n, true);
    }
  }
}

/** DuckDB's 1-byte booleans packed into Arrow's bits. */
class BoolWriter extends ColumnWriter {
  private readonly bits = new GrowableBytes();
  private src: Uint8Array = EMPTY_BYTES;

  constructor() {
    super(new Bool());
  }

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.src = rawData(vector, count, 1);
  }

  protected unbindData(): void {
    this.src = EMPTY_BYTES;
  }

  protected appendData(from: number, to: number): void {
    const first = this.length - (to - from);
    const out = this.bits.reserve(((this.length + 7) >> 3) - this.bits.length);
    const src = this.src;
    for (let i = from, d = first; i < to; i++, d++) {
      if (src[i] !== 0) out[d >> 3]! |= 1 << (d & 7);
      else out[d >> 3]! &= ~(1 << (d & 7));
    }
    this.bits.length = (this.length + 7) >> 3;
  }

  protected estimateDataBytes(from: number, to: number): number {
    return (to - from) / 8;
  }

  protected dataByteLength(): number {
    return this.bits.length;
  }

  protected resetData(): void {
    this.bits.reset();
  }

  build(): Data {
    return new Data(this.arrowType, 0, this.length, this.nullCount(), [undefined, this.bits.view(), this.validity.build()]);
  }
}

/** Arrow's variable-width layout: int32 offsets (starting at 0) and the bytes. */
abstract class VariableWidthWriter extends ColumnWriter {
  protected readonly offsets = new GrowableBytes();
  protected readonly data = new GrowableBytes();

  constructor(
    arrowType: DataType,
    protected readonly where: string,
  ) {
    super(arrowType);
    this.resetData();
  }

  protected dataByteLength(): number {
    return this.offsets.length + this.data.length;
  }

  protected resetData(): void {
    this.data.reset();
    this.offsets.reset();
    this.offsets.reserve(4);
    this.offsets.int32View[0] = 0;
    this.offsets.length = 4;
  }

  protected checkDataSize(extra: number): void {
    if (this.data.length + extra > 0x7fffffff) {
      throw new UnsupportedValueError(this.where, 'a single batch would hold more than 2 GiB of variable-width data');
    }
  }

  build(): Data {
    const offsets = this.offsets.int32View.subarray(0, this.length + 1);
    return new Data(this.arrowType, 0, this.length, this.nullCount(), [offsets, this.data.view(), this.validity.build()]);
  }
}

/**
 * DuckDB strings (VARCHAR, BLOB, BIT, GEOMETRY) are 16-byte records: a 4-byte length, then the bytes
 * inline when they are 12 or fewer, otherwise a 4-byte prefix and a pointer.
 */
class StringWriter extends VariableWidthWriter {
  private records: Uint8Array = EMPTY_BYTES;
  private recordWords: Int32Array = new Int32Array(0);
  private measured = { from: -1, to: -1, bytes: 0, outOfLine: false };

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.records = rawData(vector, count, 16);
    this.recordWords = int32ViewOf(this.records);
    this.measured = { from: -1, to: -1, bytes: 0, outOfLine: false };
  }

  protected unbindData(): void {
    this.records = EMPTY_BYTES;
    this.recordWords = new Int32Array(0);
  }

  protected estimateDataBytes(from: number, to: number): number {
    return 4 * (to - from) + this.measure(from, to).bytes;
  }

  /**
   * Total string bytes of [from, to), and whether any string sits behind a pointer. Cached for one
   * range, because the encoder sizes a range just before appending that same range.
   */
  private measure(from: number, to: number): { bytes: number; outOfLine: boolean } {
    const m = this.measured;
    if (m.from === from && m.to === to) return m;
    const words = this.recordWords;
    let bytes = 0;
    let outOfLine = false;
    for (let i = from; i < to; i++) {
      if (!isValidBit(this.srcValidity, i)) continue;
      const len = words[i * 4]! >>> 0;
      bytes += len;
      if (len > 12) outOfLine = true;
    }
    this.measured = { from, to, bytes, outOfLine };
    return this.measured;
  }

  protected appendData(from: number, to: number): void {
    const records = this.records;
    const words = this.recordWords;
    const valid = this.srcValidity;
    // Sizing first lets the data grow at most once per range.
    const { bytes: total, outOfLine } = this.measure(from, to);
    this.checkDataSize(total);
    const out = this.data.reserve(total);
    this.offsets.reserve((to - from) * 4);
    const offsets = this.offsets.int32View;
    const heap = outOfLine ? this.readHeap(from, to) : null;
    let at = this.data.length;
    let o = this.length - (to - from) + 1;
    for (let i = from; i < to; i++, o++) {
      if (isValidBit(valid, i)) {
        const len = words[i * 4]! >>> 0;
        const r = i * 16;
        if (len <= 12) {
          for (let k = 0; k < len; k++) out[at + k] = records[r + 4 + k]!;
        } else if (heap !== null) {
          const span = heap.spanOf[i - from]!;
          const h = pointerAt(words, i) - heap.starts[span]!;
          out.set(heap.bytes[span]!.subarray(h, h + len), at);
        } else {
          out.set(duckdb.get_data_from_pointer(records.buffer as ArrayBuffer, records.byteOffset + r + 8, len), at);
        }
        at += len;
      }
      offsets[o] = at;
    }
    this.data.length = at;
    this.offsets.length = o * 4;
  }

  /**
   * Copies the memory behind the out-of-line strings of [from, to) in a few large reads, because
   * each get_data_from_pointer call costs far more than the bytes it copies. Strings are grouped
   * into spans whose internal gaps stay under 4 KiB: every byte of such a span shares a page with
   * a string byte, so reading the whole span is safe. Returns null (read strings one by one) when
   * the strings are too scattered for spans to pay off.
   */
  private readHeap(from: number, to: number): HeapSpans | null {
    const words = this.recordWords;
    const spanOf = new Int32Array(to - from).fill(-1);
    const starts: number[] = [];
    const ends: number[] = [];
    const startRows: number[] = [];
    let stringBytes = 0;
    let last = 0;
    for (let i = from; i < to; i++) {
      const len = words[i * 4]! >>> 0;
      if (len <= 12 || !isValidBit(this.srcValidity, i)) continue;
      const address = pointerAt(words, i);
      const end = address + len;
      // Strings of one chunk mostly follow each other, so the span used last is tried first.
      let span = near(starts, ends, last, address, end) ? last : starts.findIndex((_, k) => near(starts, ends, k, address, end));
      if (span < 0) {
        if (starts.length === MAX_HEAP_SPANS) return null;
        span = starts.push(address) - 1;
        ends.push(end);
        startRows.push(i);
      } else {
        if (address < starts[span]!) {
          starts[span] = address;
          startRows[span] = i;
        }
        ends[span] = Math.max(ends[span]!, end);
      }
      spanOf[i - from] = span;
      stringBytes += len;
      last = span;
    }
    let spanBytes = 0;
    for (let k = 0; k < starts.length; k++) spanBytes += ends[k]! - starts[k]!;
    if (starts.length === 0 || starts.length * 8 > (to - from) || spanBytes > 2 * stringBytes + MAX_HEAP_GAP * starts.length) return null;
    const records = this.records;
    const bytes = starts.map((start, k) =>
      duckdb.get_data_from_pointer(records.buffer as ArrayBuffer, records.byteOffset + startRows[k]! * 16 + 8, ends[k]! - start),
    );
    return { spanOf, bytes, starts };
  }
}

/** Out-of-line string memory read in spans: row `from + j` lives in span `spanOf[j]`, which begins at address `starts[span]`. */
interface HeapSpans {
  spanOf: Int32Array;
  bytes: Uint8Array[];
  starts: number[];
}

/** Below the smallest page size (4 KiB), so a gap this small cannot hide an unreadable page. */
const MAX_HEAP_GAP = 4096;
const MAX_HEAP_SPANS = 256;

/** Whether [address, end) lies within MAX_HEAP_GAP of span k, so adding it leaves no larger gap. */
function near(starts: number[], ends: number[], k: number, address: number, end: number): boolean {
  return k < starts.length && address - ends[k]! < MAX_HEAP_GAP && starts[k]! - end < MAX_HEAP_GAP;
}

/** The 64-bit pointer of string record `i`; user-space addresses fit a double exactly. */
function pointerAt(words: Int32Array, i: number): number {
  return (words[i * 4 + 2]! >>> 0) + (words[i * 4 + 3]! >>> 0) * 0x100000000;
}

/**
 * Rare types read through the node-api's own vector classes and written as UTF-8 text. Used for
 * BIGNUM, whose decimal digits are the one form every Arrow reader can take losslessly.
 */
class TextWriter extends VariableWidthWriter {
  private vector: DuckDBVector | null = null;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly duckType: DuckDBType,
    where: string,
  ) {
    super(new Utf8(), where);
  }

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.vector = DuckDBVector.create(vector, count, this.duckType);
  }

  protected unbindData(): void {
    this.vector = null;
  }

  protected estimateDataBytes(from: number, to: number): number {
    return 28 * (to - from);
  }

  protected appendData(from: number, to: number): void {
    const vector = this.vector!;
    let o = this.length - (to - from) + 1;
    // Appending text grows only `data`, so the offsets' view stays valid for the whole run.
    this.offsets.reserve(4 * (to - from));
    for (let i = from; i < to; i++, o++) {
      const value = isValidBit(this.srcValidity, i) ? vector.getItem(i) : null;
      if (value !== null) {
        const bytes = this.encoder.encode(String(value));
        this.checkDataSize(bytes.length);
        this.data.append(bytes);
      }
      this.offsets.int32View[o] = this.data.length;
      this.offsets.length += 4;
    }
  }
}

/** LIST and MAP: DuckDB's (offset, length) entries become Arrow offsets; children are copied run by run. */
class ListWriter extends ColumnWriter {
  private readonly offsets = new GrowableBytes();
  private entries: Int32Array = new Int32Array(0);

  constructor(
    arrowType: DataType,
    private readonly child: ColumnWriter,
    private readonly where: string,
  ) {
    super(arrowType);
    this.resetData();
  }

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.entries = int32ViewOf(rawData(vector, count, 16));
    this.child.bind(duckdb.list_vector_get_child(vector), duckdb.list_vector_get_size(vector));
  }

  protected unbindData(): void {
    this.entries = new Int32Array(0);
    this.child.unbind();
  }

  /** Child range spanned by the valid rows of [from, to); DuckDB lays a chunk's lists out in order. */
  protected estimateDataBytes(from: number, to: number): number {
    let start = Infinity;
    let end = 0;
    for (let i = from; i < to; i++) {
      if (!isValidBit(this.srcValidity, i)) continue;
      const s = uint64At(this.entries, i * 4);
      start = Math.min(start, s);
      end = Math.max(end, s + uint64At(this.entries, i * 4 + 2));
    }
    return 4 * (to - from) + (end > start ? this.child.estimateBytes(start, end) : 0);
  }

  protected appendData(from: number, to: number): void {
    const entries = this.entries;
    const valid = this.srcValidity;
    this.offsets.reserve((to - from) * 4);
    const offsets = this.offsets.int32View;
    let o = this.length - (to - from) + 1;
    let childLength = this.child.length;
    // Consecutive lists usually sit back to back in DuckDB's child vector: copy them as one run.
    let runStart = 0;
    let runEnd = 0;
    for (let i = from; i < to; i++, o++) {
      if (isValidBit(valid, i)) {
        const start = uint64At(entries, i * 4);
        const len = uint64At(entries, i * 4 + 2);
        if (start !== runEnd) {
          this.child.append(runStart, runEnd);
          runStart = start;
        }
        runEnd = start + len;
        childLength += len;
        if (childLength > 0x7fffffff) throw new UnsupportedValueError(this.where, 'a single batch would hold more than 2^31 list elements');
      }
      offsets[o] = childLength;
    }
    this.child.append(runStart, runEnd);
    this.offsets.length = o * 4;
  }

  protected dataByteLength(): number {
    return this.offsets.length + this.child.byteLength;
  }

  protected resetData(): void {
    this.offsets.reset();
    this.offsets.reserve(4);
    this.offsets.int32View[0] = 0;
    this.offsets.length = 4;
    this.child.reset();
  }

  build(): Data {
    const valueOffsets = this.offsets.int32View.subarray(0, this.length + 1);
    return new Data(this.arrowType, 0, this.length, this.nullCount(), [valueOffsets, undefined, this.validity.build()], [this.child.build()]);
  }
}

function uint64At(words: Int32Array, i: number): number {
  return (words[i]! >>> 0) + (words[i + 1]! >>> 0) * 0x100000000;
}

/** STRUCT (and UNION, VARIANT and MAP entries, which DuckDB stores as structs): children share the row range. */
class StructWriter extends ColumnWriter {
  constructor(
    arrowType: DataType,
    private readonly children: ColumnWriter[],
  ) {
    super(arrowType);
  }

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.children.forEach((c, i) => c.bind(duckdb.struct_vector_get_child(vector, i), count));
  }

  protected unbindData(): void {
    for (const c of this.children) c.unbind();
  }

  protected appendData(from: number, to: number): void {
    for (const c of this.children) c.append(from, to);
  }

  protected estimateDataBytes(from: number, to: number): number {
    return this.children.reduce((sum, c) => sum + c.estimateBytes(from, to), 0);
  }

  protected dataByteLength(): number {
    return this.children.reduce((sum, c) => sum + c.byteLength, 0);
  }

  protected resetData(): void {
    for (const c of this.children) c.reset();
  }

  build(): Data {
    const children = this.children.map((c) => c.build());
    return new Data(this.arrowType, 0, this.length, this.nullCount(), [undefined, undefined, this.validity.build()], children);
  }
}

/** ARRAY: every row owns exactly `size` child slots, as in Arrow's FixedSizeList. */
class ArrayWriter extends ColumnWriter {
  constructor(
    arrowType: DataType,
    private readonly size: number,
    private readonly child: ColumnWriter,
  ) {
    super(arrowType);
  }

  protected bindData(vector: duckdb.Vector, count: number): void {
    this.child.bind(duckdb.array_vector_get_child(vector), count * this.size);
  }

  protected unbindData(): void {
    this.child.unbind();
  }

  protected appendData(from: number, to: number): void {
    this.child.append(from * this.size, to * this.size);
  }

  protected estimateDataBytes(from: number, to: number): number {
    return this.child.estimateBytes(from * this.size, to * this.size);
  }

  protected dataByteLength(): number {
    return this.child.byteLength;
  }

  protected resetData(): void {
    this.child.reset();
  }

  build(): Data {
    return new Data(this.arrowType, 0, this.length, this.nullCount(), [undefined, undefined, this.validity.build()], [this.child.build()]);
  }
}

/** SQLNULL: Arrow's Null type has no buffers, only a length (and every slot is null). */
class NullWriter extends ColumnWriter {
  constructor() {
    super(new Null());
  }
  override append(from: number, to: number): void {
    this.validity.appendValid(to - from);
  }
  protected bindData(): void {}
  protected unbindData(): void {}
  protected appendData(): void {}
  protected estimateDataBytes(): number {
    return 0;
  }
  protected dataByteLength(): number {
    return 0;
  }
  protected resetData(): void {}
  build(): Data {
    return new Data(this.arrowType, 0, this.length, this.length, {});
  }
}

function createWriter(type: DuckDBType, arrow: DataType, where: string): ColumnWriter {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return new BoolWriter();
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.UTINYINT:
      return new FixedWidthWriter(arrow, 1);
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.USMALLINT:
      return new FixedWidthWriter(arrow, 2);
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DATE:
      return new FixedWidthWriter(arrow, 4);
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
      return new FixedWidthWriter(arrow, 8);
    case DuckDBTypeId.HUGEINT:
      // DuckDB's hugeint (low uint64, high int64, little-endian) is bit-for-bit Arrow's Decimal128.
      return new FixedWidthWriter(arrow, 16);
    case DuckDBTypeId.UHUGEINT:
      return new UHugeIntWriter(arrow, 16, 32);
    case DuckDBTypeId.DECIMAL: {
      const width = decimalStorageBytes(type.width);
      return width === 16 ? new FixedWidthWriter(arrow, 16) : new WideningDecimalWriter(arrow, width, 16);
    }
    case DuckDBTypeId.UUID:
      return new UUIDWriter(arrow, 16);
    case DuckDBTypeId.INTERVAL:
      return new IntervalWriter(where);
    case DuckDBTypeId.ENUM: {
      // DuckDB's member indices are the dictionary indices; the dictionary is every member, sent once.
      const indexWidth = (arrow as Dictionary).indices.bitWidth / 8;
      return new FixedWidthWriter(arrow, indexWidth, indexWidth, vectorFromArray([...type.values], new Utf8()));
    }
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.BLOB:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.GEOMETRY:
      return new StringWriter(arrow, where);
    case DuckDBTypeId.BIGNUM:
      return new TextWriter(type, where);
    case DuckDBTypeId.LIST:
      return new ListWriter(arrow, createWriter(type.valueType, (arrow as List).children[0]!.type, `${where}[]`), where);
    case DuckDBTypeId.ARRAY:
      return new ArrayWriter(arrow, type.length, createWriter(type.valueType, (arrow as FixedSizeList).children[0]!.type, `${where}[]`));
    case DuckDBTypeId.MAP: {
      // DuckDB stores a MAP as a LIST of STRUCT(key, value), which is Arrow's Map layout too.
      const entries = (arrow as Map_).children[0]!.type as Struct;
      const entriesWriter = new StructWriter(entries, [
        createWriter(type.keyType, entries.children[0]!.type, `${where}.key`),
        createWriter(type.valueType, entries.children[1]!.type, `${where}.value`),
      ]);
      return new ListWriter(arrow, entriesWriter, where);
    }
    case DuckDBTypeId.STRUCT:
      return structWriter(type, arrow, where);
    case DuckDBTypeId.UNION:
      return structWriter(unionPhysicalType(type), arrow, where);
    case DuckDBTypeId.VARIANT:
      return structWriter(VARIANT_PHYSICAL_TYPE, arrow, where);
    case DuckDBTypeId.SQLNULL:
      return new NullWriter();
    default:
      throw new UnsupportedTypeError(where, String(type), 'no writer');
  }
}

function structWriter(type: DuckDBStructType, arrow: DataType, where: string): StructWriter {
  const fields = (arrow as Struct).children;
  return new StructWriter(
    arrow,
    type.entryTypes.map((t, i) => createWriter(t, fields[i]!.type, `${where}.${quoteName(type.entryNames[i]!)}`)),
  );
}

/** Bytes DuckDB uses per DECIMAL value, which follow from the width. */
export function decimalStorageBytes(width: number): 2 | 4 | 8 | 16 {
  if (width <= 4) return 2;
  if (width <= 9) return 4;
  if (width <= 18) return 8;
  return 16;
}

// =============================================================================================
// Decoder
// =============================================================================================

export class ArrowIpcDecoder {
  /** Schema and dictionary messages seen so far, replayed in front of each later payload. */
  private preamble: Uint8Array[] = [];
  private schema: DecodedSchema | null = null;
  private ended = false;

  get columns(): ResultColumns | null {
    return this.schema && { names: [...this.schema.names], types: [...this.schema.types] };
  }

  /** True once the end-of-stream marker has arrived. */
  get complete(): boolean {
    return this.ended;
  }

  /**
   * Verifies and decodes one payload. Nothing changes unless the whole payload decodes, so after a
   * CorruptPayloadError the same payload can be fetched again and pushed.
   */
  push(payload: { bytes: Uint8Array; crc32: number }): DecodedBatch[] {
    verifyPayload(payload);
    if (this.ended) throw new CorruptPayloadError('payload after the end-of-stream marker');
    const bytes = payload.bytes;
    const messages = splitMessages(bytes);
    checkMessageOrder(messages, this.schema === null);

    // Arrow views typed arrays straight into the payload, which needs 8-byte-aligned bodies.
    const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
    const reader = openStream([...this.preamble, aligned]);
    const schema = this.schema ?? decodedSchema(reader.schema);
    const batches = readBatches(reader, schema);

    this.commit(schema, bytes, messages);
    return batches;
  }

  /**
   * Like `push`, but returns the payload's Arrow record batches (those with rows) instead of
   * DuckDB values: for consumers that copy Arrow buffers straight into DuckDB chunks (see
   * duckdb-chunks.ts). The batches' buffers are views of the payload bytes, or, when those are not
   * 8-byte aligned, of `options.alignedScratch` (reused between calls: the batches of one call are
   * then valid only until the next), else of a fresh copy. The same checks as `push` run first,
   * and the decoder's state changes only when the whole payload decodes.
   */
  pushArrow(payload: { bytes: Uint8Array; crc32: number }, options: { alignedScratch?: AlignedScratch } = {}): RecordBatch[] {
    verifyPayload(payload);
    if (this.ended) throw new CorruptPayloadError('payload after the end-of-stream marker');
    const bytes = payload.bytes;
    const messages = splitMessages(bytes);
    checkMessageOrder(messages, this.schema === null);

    const aligned = bytes.byteOffset % 8 === 0 ? bytes : options.alignedScratch ? options.alignedScratch.copy(bytes) : bytes.slice();
    const reader = openStream([...this.preamble, aligned]);
    const schema = this.schema ?? decodedSchema(reader.schema);
    const batches: RecordBatch[] = [];
    try {
      for (const batch of reader) {
        if (batch.numRows === 0) continue;
        if (batch.data.children.length !== schema.types.length) throw new CorruptPayloadError(`a record batch has ${batch.data.children.length} columns, the schema ${schema.types.length}`);
        for (const child of batch.data.children) {
          if (child.length !== batch.numRows) throw new CorruptPayloadError(`a column of a ${batch.numRows}-row batch has ${child.length} rows`);
        }
        batches.push(batch);
      }
    } catch (err) {
      if (err instanceof OpenDuckError) throw err;
      throw new CorruptPayloadError(`record batch does not decode (${errorText(err)})`);
    }
    this.commit(schema, bytes, messages);
    return batches;
  }

  private commit(schema: DecodedSchema, bytes: Uint8Array, messages: MessageSpan[]): void {
    this.schema = schema;
    for (const m of messages) {
      if (m.kind === MessageHeader.Schema || m.kind === MessageHeader.DictionaryBatch) this.preamble.push(bytes.slice(m.start, m.end));
    }
    this.ended = messages.at(-1)?.kind === 'eos';
  }
}

/**
 * An 8-byte-aligned buffer reused for payloads that arrive at an odd offset (gRPC hands out
 * views into its message buffers), so aligning them does not touch fresh memory every time.
 */
export class AlignedScratch {
  private buffer = new Uint8Array(0);

  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.byteLength > this.buffer.byteLength || this.buffer.byteLength > 4 * Math.max(bytes.byteLength, 1 << 20)) {
      this.buffer = new Uint8Array(Math.max(bytes.byteLength, 1 << 16));
    }
    const view = this.buffer.subarray(0, bytes.byteLength);
    view.set(bytes);
    return view;
  }
}

/**
 * Reads rows [from, to) of one column of a batch from `ArrowIpcDecoder.pushArrow` as DuckDB
 * values, exactly as `push` would: the fallback for types without a faster path.
 */
export function arrowColumnValueReader(type: DuckDBType, where = 'column'): (data: Data, from: number, to: number) => DuckDBValue[] {
  const reader = createReader(type, where);
  return (data, from, to) => {
    try {
      return reader.read(data, from, to);
    } catch (err) {
      if (err instanceof OpenDuckError) throw err;
      throw new CorruptPayloadError(`record batch does not decode (${errorText(err)})`);
    }
  };
}

interface DecodedSchema extends ResultColumns {
  readers: ColumnReader[];
}

function checkMessageOrder(messages: MessageSpan[], first: boolean): void {
  if (first && messages[0]?.kind !== MessageHeader.Schema) throw new CorruptPayloadError('the first payload does not start with a schema message');
  messages.forEach((m, i) => {
    if (m.kind === MessageHeader.Schema && !(first && i === 0)) throw new CorruptPayloadError(`unexpected schema message at byte ${m.start}`);
    if (m.kind === 'eos' && i !== messages.length - 1) throw new CorruptPayloadError(`bytes after the end-of-stream marker at byte ${m.start}`);
  });
}

/** Opens `parts` (whole messages each, schema first) as one stream; Arrow reads across the parts without copying. */
function openStream(parts: Uint8Array[]): RecordBatchReader {
  try {
    const reader = RecordBatchReader.from(parts);
    reader.open();
    return reader;
  } catch (err) {
    throw new CorruptPayloadError(`not an Arrow IPC stream (${errorText(err)})`);
  }
}

/** The DuckDB columns behind an Arrow schema, from each field's `duckdb.type` metadata. */
function decodedSchema(schema: Schema): DecodedSchema {
  const names: string[] = [];
  const types: DuckDBType[] = [];
  for (const field of schema.fields) {
    const where = quoteName(field.name);
    const json = field.metadata.get(DUCKDB_TYPE_METADATA_KEY);
    if (json === undefined) throw new CorruptPayloadError(`field ${where} has no ${DUCKDB_TYPE_METADATA_KEY} metadata`);
    let type: DuckDBType;
    try {
      type = typeFromJson(JSON.parse(json));
    } catch (err) {
      throw new CorruptPayloadError(`field ${where} has unreadable ${DUCKDB_TYPE_METADATA_KEY} metadata (${errorText(err)})`);
    }
    // The readers trust the Arrow layout, so it must be exactly the one this DuckDB type travels as.
    const expected = arrowType(type, { next: 0 }, where);
    if (String(expected) !== String(field.type)) {
      throw new CorruptPayloadError(`field ${where} is Arrow ${field.type}, but DuckDB type ${type} travels as ${expected}`);
    }
    names.push(field.name);
    types.push(type);
  }
  return { names, types, readers: types.map((t, i) => createReader(t, quoteName(names[i]!))) };
}

function readBatches(reader: RecordBatchReader, schema: DecodedSchema): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  try {
    // A stream without record batches reads back as one empty placeholder batch; rows are what count.
    for (const batch of reader) if (batch.numRows > 0) out.push(decodeBatch(batch, schema.readers));
  } catch (err) {
    if (err instanceof OpenDuckError) throw err;
    throw new CorruptPayloadError(`record batch does not decode (${errorText(err)})`);
  }
  return out;
}

function decodeBatch(batch: RecordBatch, readers: ColumnReader[]): DecodedBatch {
  const rowCount = batch.numRows;
  const columns = readers.map((reader, c) => {
    const data = batch.data.children[c];
    if (!data || data.length !== rowCount) throw new CorruptPayloadError(`column ${c} of a ${rowCount}-row batch is missing or short`);
    return reader.read(data, 0, rowCount);
  });
  return { rowCount, columns, rows: () => transpose(columns, rowCount) };
}

function transpose(columns: DuckDBValue[][], rowCount: number): DuckDBValue[][] {
  const rows: DuckDBValue[][] = new Array(rowCount);
  for (let r = 0; r < rowCount; r++) {
    const row: DuckDBValue[] = new Array(columns.length);
    for (let c = 0; c < columns.length; c++) row[c] = columns[c]![r]!;
    rows[r] = row;
  }
  return rows;
}

interface MessageSpan {
  kind: MessageHeader | 'eos';
  start: number;
  end: number;
}

/** Walks the IPC framing (continuation marker, metadata length, metadata, body) without reading bodies. */
function splitMessages(bytes: Uint8Array): MessageSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans: MessageSpan[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + 8 > bytes.byteLength) throw new CorruptPayloadError(`truncated message header at byte ${at}`);
    if (view.getInt32(at, true) !== -1) throw new CorruptPayloadError(`no continuation marker at byte ${at}`);
    const metadataLength = view.getInt32(at + 4, true);
    if (metadataLength === 0) {
      spans.push({ kind: 'eos', start: at, end: at + 8 });
      at += 8;
      continue;
    }
    const metadataEnd = at + 8 + metadataLength;
    if (metadataLength < 0 || metadataEnd > bytes.byteLength) throw new CorruptPayloadError(`message metadata at byte ${at} overruns the payload`);
    let message: Message;
    try {
      message = Message.decode(bytes.subarray(at + 8, metadataEnd));
    } catch (err) {
      throw new CorruptPayloadError(`message metadata at byte ${at} does not decode (${errorText(err)})`);
    }
    const end = metadataEnd + Number(message.bodyLength);
    if (!Number.isSafeInteger(end) || end > bytes.byteLength) throw new CorruptPayloadError(`message body at byte ${metadataEnd} overruns the payload`);
    const kind = message.headerType;
    if (kind !== MessageHeader.Schema && kind !== MessageHeader.RecordBatch && kind !== MessageHeader.DictionaryBatch) {
      throw new CorruptPayloadError(`unexpected message type ${kind} at byte ${at}`);
    }
    spans.push({ kind, start: at, end });
    at = end;
  }
  return spans;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// =============================================================================================
// Column readers: Arrow Data -> DuckDB values
// =============================================================================================

/**
 * Reads rows [from, to) of an Arrow Data as DuckDB values. Indices are relative to the Data: a
 * reader adds `data.offset` for the Data's own buffers, and (as in apache-arrow, whose slices slice
 * struct and fixed-size-list children too) children carry their own offsets.
 */
interface ColumnReader {
  read(data: Data, from: number, to: number): DuckDBValue[];
}

/** Arrow's validity bitmap when the Data has nulls, else null. */
export function validityOf(data: Data): Uint8Array | null {
  return data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0 ? data.nullBitmap : null;
}

/**
 * A reader for one-value-per-slot layouts: `valuesOf` picks the buffer view, `convert` turns slot `i`
 * (already shifted by the Data's offset) into a value when the row is valid.
 */
function primitiveReader<V>(valuesOf: (data: Data) => V, convert: (values: V, i: number) => DuckDBValue): ColumnReader {
  return {
    read(data, from, to) {
      const values = valuesOf(data);
      const valid = validityOf(data);
      const off = data.offset;
      const out: DuckDBValue[] = new Array(to - from);
      if (valid === null) {
        for (let r = from, k = 0; r < to; r++, k++) out[k] = convert(values, off + r);
      } else {
        for (let r = from, k = 0; r < to; r++, k++) out[k] = isValidBit(valid, off + r) ? convert(values, off + r) : null;
      }
      return out;
    },
  };
}

type Indexed<T> = { readonly [i: number]: T };
const valuesAs = <V>(data: Data): V => data.values as V;

/** Numbers and bigints straight from Arrow's typed array; the no-null case skips the per-value callback. */
function typedArrayReader(): ColumnReader {
  const withNulls = primitiveReader(valuesAs<Indexed<number | bigint>>, (v, i) => v[i]!);
  return {
    read(data, from, to) {
      if (validityOf(data) !== null) return withNulls.read(data, from, to);
      const values = data.values as Indexed<number | bigint>;
      const start = data.offset + from;
      const out: DuckDBValue[] = new Array(to - from);
      for (let k = 0; k < out.length; k++) out[k] = values[start + k]!;
      return out;
    },
  };
}
const numberReader = typedArrayReader();
const bigintReader = typedArrayReader();
const boolReader = primitiveReader(valuesAs<Uint8Array>, (v, i) => ((v[i >> 3]! >> (i & 7)) & 1) === 1);

/** 64-bit views of Arrow's Uint32 decimal words (the decoder keeps IPC bodies 8-byte aligned). */
function unsignedWords(data: Data): BigUint64Array {
  const v = data.values as Uint32Array;
  return new BigUint64Array(v.buffer, v.byteOffset, v.length >> 1);
}
function signedWords(data: Data): BigInt64Array {
  const v = data.values as Uint32Array;
  return new BigInt64Array(v.buffer, v.byteOffset, v.length >> 1);
}

function int128Reader(make: (value: bigint) => DuckDBValue): ColumnReader {
  return primitiveReader(unsignedWords, (w, i) => make((BigInt.asIntN(64, w[2 * i + 1]!) << 64n) | w[2 * i]!));
}

/** DECIMAL up to 18 digits fits the low 64 bits; reading only those saves two bigint operations per value. */
function narrowDecimalReader(width: number, scale: number): ColumnReader {
  return primitiveReader(signedWords, (w, i) => new DuckDBDecimalValue(w[2 * i]!, width, scale));
}

const uhugeintReader = primitiveReader(unsignedWords, (w, i) => (w[4 * i + 1]! << 64n) | w[4 * i]!);

const uuidReader = primitiveReader(valuesAs<Uint8Array>, (v, i) => {
  const view = new DataView(v.buffer, v.byteOffset + i * 16, 16);
  return DuckDBUUIDValue.fromUint128((view.getBigUint64(0, false) << 64n) | view.getBigUint64(8, false));
});

const intervalReader = primitiveReader(valuesAs<Int32Array>, (v, i) => {
  const k = i * 4;
  const nanos = (BigInt(v[k + 3]!) << 32n) | BigInt(v[k + 2]! >>> 0);
  return new DuckDBIntervalValue(v[k]!, v[k + 1]!, nanos / 1000n);
});

/**
 * Variable-width values: `make` gets the Arrow data both as bytes and as a Buffer over the same
 * memory, because Buffer#toString('utf8') is the fastest decoder Node has for short strings (about
 * 25% faster than TextDecoder) and replaces bad sequences the same way.
 */
function variableWidthReader(make: (bytes: Uint8Array, text: Buffer, start: number, end: number) => DuckDBValue): ColumnReader {
  return {
    read(data, from, to) {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const valid = validityOf(data);
      const off = data.offset;
      const out: DuckDBValue[] = new Array(to - from);
      for (let r = from, k = 0; r < to; r++, k++) {
        const i = off + r;
        out[k] = isValidBit(valid, i) ? make(bytes, text, offsets[i]!, offsets[i + 1]!) : null;
      }
      return out;
    },
  };
}

// Byte values are copied out: a view would keep the whole received payload alive.
const varcharReader = variableWidthReader((_b, t, s, e) => t.toString('utf8', s, e));
const blobReader = variableWidthReader((b, _t, s, e) => new DuckDBBlobValue(b.slice(s, e)));
const bitReader = variableWidthReader((b, _t, s, e) => new DuckDBBitValue(b.slice(s, e)));
const geometryReader = variableWidthReader((b, _t, s, e) => new DuckDBGeometryValue(b.slice(s, e)));
const bignumReader = variableWidthReader((_b, t, s, e) => BigInt(t.toString('latin1', s, e)));

function enumReader(type: DuckDBEnumType, where: string): ColumnReader {
  const members = type.values;
  return primitiveReader(valuesAs<Indexed<number>>, (v, i) => {
    const member = members[v[i]!];
    if (member === undefined) throw new CorruptPayloadError(`column ${where}: ENUM index ${v[i]} out of range`);
    return member;
  });
}

function listReader(child: ColumnReader): ColumnReader {
  return {
    read(data, from, to) {
      const offsets = data.valueOffsets as Int32Array;
      const valid = validityOf(data);
      const off = data.offset;
      const childData = data.children[0]!;
      const first = offsets[off + from]!;
      const all = child.read(childData, first, offsets[off + to]!);
      const out: DuckDBValue[] = new Array(to - from);
      for (let r = from, k = 0; r < to; r++, k++) {
        const i = off + r;
        out[k] = isValidBit(valid, i) ? new DuckDBListValue(all.slice(offsets[i]! - first, offsets[i + 1]! - first)) : null;
      }
      return out;
    },
  };
}

function mapReader(key: ColumnReader, value: ColumnReader): ColumnReader {
  return {
    read(data, from, to) {
      const offsets = data.valueOffsets as Int32Array;
      const valid = validityOf(data);
      const off = data.offset;
      const entries = data.children[0]!;
      const first = offsets[off + from]!;
      const last = offsets[off + to]!;
      const keys = key.read(entries.children[0]!, first, last);
      const values = value.read(entries.children[1]!, first, last);
      const out: DuckDBValue[] = new Array(to - from);
      for (let r = from, k = 0; r < to; r++, k++) {
        const i = off + r;
        if (!isValidBit(valid, i)) {
          out[k] = null;
          continue;
        }
        const pairs = [];
        for (let e = offsets[i]! - first; e < offsets[i + 1]! - first; e++) pairs.push({ key: keys[e]!, value: values[e]! });
        out[k] = new DuckDBMapValue(pairs);
      }
      return out;
    },
  };
}

function fixedSizeListReader(size: number, child: ColumnReader): ColumnReader {
  return {
    read(data, from, to) {
      const valid = validityOf(data);
      const off = data.offset;
      const all = child.read(data.children[0]!, from * size, to * size);
      const out: DuckDBValue[] = new Array(to - from);
      for (let r = from, k = 0; r < to; r++, k++) {
        out[k] = isValidBit(valid, off + r) ? new DuckDBArrayValue(all.slice(k * size, (k + 1) * size)) : null;
      }
      return out;
    },
  };
}

/** Reads every child column for the range, then assembles rows with `make`. */
function structLikeReader(children: ColumnReader[], make: (childValues: DuckDBValue[][], k: number) => DuckDBValue): ColumnReader {
  return {
    read(data, from, to) {
      const valid = validityOf(data);
      const off = data.offset;
      const childValues = children.map((c, j) => c.read(data.children[j]!, from, to));
      const out: DuckDBValue[] = new Array(to - from);
      for (let r = from, k = 0; r < to; r++, k++) out[k] = isValidBit(valid, off + r) ? make(childValues, k) : null;
      return out;
    },
  };
}

function structReader(type: DuckDBStructType, where: string): ColumnReader {
  const names = type.entryNames;
  return structLikeReader(
    type.entryTypes.map((t, i) => createReader(t, `${where}.${quoteName(names[i]!)}`)),
    (childValues, k) => {
      const entries: Record<string, DuckDBValue> = {};
      for (let j = 0; j < names.length; j++) entries[names[j]!] = childValues[j]![k]!;
      return new DuckDBStructValue(entries);
    },
  );
}

function unionReader(type: DuckDBUnionType, where: string): ColumnReader {
  const physical = unionPhysicalType(type);
  return structLikeReader(
    physical.entryTypes.map((t, i) => createReader(t, `${where}.${quoteName(physical.entryNames[i]!)}`)),
    (childValues, k) => {
      // Like the node-api: a union is NULL when its tag is.
      const tag = childValues[0]![k];
      if (tag === null || tag === undefined) return null;
      const member = type.memberTags[tag as number];
      if (member === undefined) throw new CorruptPayloadError(`column ${where}: UNION tag ${String(tag)} out of range`);
      return new DuckDBUnionValue(member, childValues[(tag as number) + 1]![k]!);
    },
  );
}

/**
 * VARIANT travels in DuckDB's physical layout; the node-api's VARIANT decoder reads that layout
 * from a DuckDB vector, so the physical values are written into a scratch chunk and decoded there.
 */
function variantReader(where: string): ColumnReader {
  const physical = structReader(VARIANT_PHYSICAL_TYPE, where);
  return {
    read(data, from, to) {
      const physicalValues = physical.read(data, from, to);
      const out: DuckDBValue[] = [];
      const step = DuckDBVector.standardSize();
      for (let at = 0; at < physicalValues.length; at += step) {
        const slice = physicalValues.slice(at, at + step);
        const chunk = DuckDBDataChunk.create([VARIANT_PHYSICAL_TYPE], slice.length);
        chunk.setColumnValues(0, slice);
        const vector = DuckDBVariantVector.fromRawVector(duckdb.data_chunk_get_vector(chunk.chunk, 0), slice.length);
        for (let i = 0; i < slice.length; i++) out.push(slice[i] === null ? null : vector.getItem(i));
      }
      return out;
    },
  };
}

const nullReader: ColumnReader = { read: (_data, from, to) => new Array<DuckDBValue>(to - from).fill(null) };

function createReader(type: DuckDBType, where: string): ColumnReader {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return boolReader;
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return numberReader;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
      return bigintReader;
    case DuckDBTypeId.HUGEINT:
      return int128Reader((v) => v);
    case DuckDBTypeId.UHUGEINT:
      return uhugeintReader;
    case DuckDBTypeId.DECIMAL: {
      const { width, scale } = type;
      return width <= 18 ? narrowDecimalReader(width, scale) : int128Reader((v) => new DuckDBDecimalValue(v, width, scale));
    }
    case DuckDBTypeId.VARCHAR:
      return varcharReader;
    case DuckDBTypeId.BLOB:
      return blobReader;
    case DuckDBTypeId.BIT:
      return bitReader;
    case DuckDBTypeId.GEOMETRY:
      return geometryReader;
    case DuckDBTypeId.BIGNUM:
      return bignumReader;
    case DuckDBTypeId.UUID:
      return uuidReader;
    case DuckDBTypeId.ENUM:
      return enumReader(type, where);
    case DuckDBTypeId.DATE:
      return primitiveReader(valuesAs<Int32Array>, (v, i) => new DuckDBDateValue(v[i]!));
    case DuckDBTypeId.TIME:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimeValue(v[i]!));
    case DuckDBTypeId.TIME_NS:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimeNSValue(v[i]!));
    case DuckDBTypeId.TIME_TZ:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => DuckDBTimeTZValue.fromBits(BigInt.asUintN(64, v[i]!)));
    case DuckDBTypeId.TIMESTAMP:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimestampValue(v[i]!));
    case DuckDBTypeId.TIMESTAMP_S:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimestampSecondsValue(v[i]!));
    case DuckDBTypeId.TIMESTAMP_MS:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimestampMillisecondsValue(v[i]!));
    case DuckDBTypeId.TIMESTAMP_NS:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimestampNanosecondsValue(v[i]!));
    case DuckDBTypeId.TIMESTAMP_TZ:
      return primitiveReader(valuesAs<BigInt64Array>, (v, i) => new DuckDBTimestampTZValue(v[i]!));
    case DuckDBTypeId.INTERVAL:
      return intervalReader;
    case DuckDBTypeId.LIST:
      return listReader(createReader(type.valueType, `${where}[]`));
    case DuckDBTypeId.ARRAY:
      return fixedSizeListReader(type.length, createReader(type.valueType, `${where}[]`));
    case DuckDBTypeId.MAP:
      return mapReader(createReader(type.keyType, `${where}.key`), createReader(type.valueType, `${where}.value`));
    case DuckDBTypeId.STRUCT:
      return structReader(type, where);
    case DuckDBTypeId.UNION:
      return unionReader(type, where);
    case DuckDBTypeId.VARIANT:
      return variantReader(where);
    case DuckDBTypeId.SQLNULL:
      return nullReader;
    default:
      throw new UnsupportedTypeError(where, String(type), 'no reader');
  }
}
