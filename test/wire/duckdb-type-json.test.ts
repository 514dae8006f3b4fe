import { describe, expect, it } from 'vitest';
import {
  ANY,
  ARRAY,
  BIGINT,
  BIGNUM,
  BIT,
  BLOB,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBBigIntType,
  DuckDBGeometryType,
  DuckDBTimestampTZType,
  DuckDBTypeId,
  ENUM,
  ENUM16,
  FLOAT,
  GEOMETRY,
  HUGEINT,
  INTEGER,
  INTEGER_LITERAL,
  INTERVAL,
  LIST,
  MAP,
  SMALLINT,
  SQLNULL,
  STRING_LITERAL,
  STRUCT,
  TIME,
  TIME_NS,
  TIMESTAMP,
  TIMESTAMP_MS,
  TIMESTAMP_NS,
  TIMESTAMP_S,
  TIMESTAMPTZ,
  TIMETZ,
  TINYINT,
  UBIGINT,
  UHUGEINT,
  UINTEGER,
  UNION,
  USMALLINT,
  UTINYINT,
  UUID,
  VARCHAR,
  VARIANT,
  type DuckDBType,
} from '@duckdb/node-api';
import { TypeJsonError, typeFromJson, typeToJson } from '../../server/wire/duckdb-type-json.js';

const SIMPLE: DuckDBType[] = [
  BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, UTINYINT, USMALLINT, UINTEGER, UBIGINT, HUGEINT, UHUGEINT,
  FLOAT, DOUBLE, VARCHAR, BLOB, UUID, BIT, BIGNUM, DATE, TIME, TIME_NS, TIMETZ, TIMESTAMP, TIMESTAMP_S,
  TIMESTAMP_MS, TIMESTAMP_NS, TIMESTAMPTZ, INTERVAL, VARIANT, SQLNULL, ANY, STRING_LITERAL, INTEGER_LITERAL,
];

const NESTED: DuckDBType[] = [
  DECIMAL(4, 1),
  DECIMAL(9, 3),
  DECIMAL(18, 6),
  DECIMAL(38, 10),
  DECIMAL(1, 0),
  ENUM(['sad', 'ok', "it's \"quoted\""]),
  ENUM16(Array.from({ length: 300 }, (_, i) => `member ${i}`)),
  LIST(INTEGER),
  LIST(LIST(VARCHAR)),
  ARRAY(DOUBLE, 3),
  ARRAY(LIST(UUID), 2),
  STRUCT({ a: INTEGER, 'b c': VARCHAR, '': BOOLEAN, 'quote"d': LIST(DATE) }),
  STRUCT({ inner: STRUCT({ x: DOUBLE, e: ENUM(['a', 'b']) }) }),
  MAP(VARCHAR, BIGINT),
  MAP(INTEGER, MAP(VARCHAR, LIST(TIMESTAMPTZ))),
  UNION({ n: INTEGER, s: VARCHAR }),
  UNION({ only: LIST(STRUCT({ k: BLOB })) }),
  GEOMETRY,
  DuckDBGeometryType.create(undefined, 'EPSG:4326'),
  LIST(STRUCT({ m: MAP(VARCHAR, UNION({ a: HUGEINT, b: ARRAY(INTERVAL, 2) })) })),
];

const ALIASED: DuckDBType[] = [
  DuckDBBigIntType.create('my_id'),
  DuckDBTimestampTZType.create('instant'),
  DECIMAL(10, 2, 'money'),
  LIST(INTEGER, 'int_list'),
  STRUCT({ a: INTEGER }, 'point'),
  ENUM(['x', 'y'], 'axis'),
  DuckDBGeometryType.create('shape', 'OGC:CRS84'),
];

describe('DuckDB type JSON', () => {
  it('covers every type id the node-api knows, except INVALID', () => {
    const covered = new Set([...SIMPLE, ...NESTED].map((t) => t.typeId));
    const all = Object.values(DuckDBTypeId).filter((v): v is number => typeof v === 'number' && v !== DuckDBTypeId.INVALID);
    expect(all.filter((id) => !covered.has(id)).map((id) => DuckDBTypeId[id])).toEqual([]);
  });

  it('round-trips every type through plain JSON text', () => {
    for (const type of [...SIMPLE, ...NESTED, ...ALIASED]) {
      const json = typeToJson(type);
      const text = JSON.stringify(json);
      const rebuilt = typeFromJson(JSON.parse(text));
      expect(rebuilt.toString(), text).toBe(type.toString());
      expect(rebuilt.typeId).toBe(type.typeId);
      expect(rebuilt.alias).toBe(type.alias);
      expect(typeToJson(rebuilt)).toEqual(json);
    }
  });

  it('keeps what toString does not show: ENUM index width and GEOMETRY reference system', () => {
    const wide = typeFromJson(typeToJson(ENUM16(['a', 'b'])));
    expect(wide.typeId === DuckDBTypeId.ENUM && wide.internalTypeId).toBe(DuckDBTypeId.USMALLINT);
    const geo = typeFromJson(typeToJson(DuckDBGeometryType.create(undefined, 'EPSG:4326')));
    expect(geo.typeId === DuckDBTypeId.GEOMETRY && geo.crs).toBe('EPSG:4326');
  });

  it('rejects JSON that is not a DuckDB type, naming where', () => {
    const bad: [unknown, RegExp][] = [
      [null, /at \$: expected an object/],
      [[], /at \$: expected an object/],
      [{}, /at \$\.type: unknown type undefined/],
      [{ type: 'NOPE' }, /at \$\.type: unknown type "NOPE"/],
      [{ type: 'INTEGER', alias: 7 }, /at \$\.alias: expected a string/],
      [{ type: 'DECIMAL', width: 39, scale: 0 }, /at \$\.width/],
      [{ type: 'DECIMAL', width: 4, scale: 5 }, /at \$\.scale/],
      [{ type: 'DECIMAL', width: 4.5, scale: 1 }, /at \$\.width/],
      [{ type: 'LIST' }, /at \$\.child: expected an object/],
      [{ type: 'ARRAY', child: { type: 'INTEGER' }, length: 0 }, /at \$\.length/],
      [{ type: 'STRUCT', fields: [{ name: 1, type: { type: 'INTEGER' } }] }, /at \$\.fields\[0\]\.name/],
      [{ type: 'STRUCT', fields: [{ name: 'a', type: { type: 'LIST', child: { type: 'X' } } }] }, /at \$\.fields\[0\]\.type\.child\.type/],
      [{ type: 'MAP', key: { type: 'VARCHAR' } }, /at \$\.value/],
      [{ type: 'UNION', members: [] }, /at \$\.members: a UNION needs at least one member/],
      [{ type: 'ENUM', values: ['a', 2], indexType: 'UTINYINT' }, /at \$\.values\[1\]/],
      [{ type: 'ENUM', values: ['a'], indexType: 'BIGINT' }, /at \$\.indexType/],
      [{ type: 'ENUM', values: Array.from({ length: 257 }, (_, i) => String(i)), indexType: 'UTINYINT' }, /257 members do not fit/],
      [{ type: 'GEOMETRY', crs: 1 }, /at \$\.crs/],
    ];
    for (const [json, message] of bad) {
      expect(() => typeFromJson(json), JSON.stringify(json)).toThrow(TypeJsonError);
      expect(() => typeFromJson(json), JSON.stringify(json)).toThrow(message);
    }
  });
});
