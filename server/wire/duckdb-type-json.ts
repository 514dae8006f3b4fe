/**
 * DuckDB types as plain JSON, so a type can travel next to data (for example in Arrow field
 * metadata) and be rebuilt exactly on the other side.
 *
 * The JSON names types by their DuckDB type-id name ("BIGINT", "TIMESTAMP_TZ", ...) rather than by
 * number: the names are what a person reading a payload recognises, and they do not shift if the
 * bindings renumber their enum. Nested types nest their children's JSON. An alias is carried when
 * the type has one.
 *
 * `typeFromJson(typeToJson(t)).toString() === t.toString()` holds for every type the node-api has a
 * class for; `typeFromJson` checks its input field by field and throws `TypeJsonError`, naming the
 * path to the offending part, instead of building a half-valid type.
 */
import {
  DuckDBAnyType,
  DuckDBArrayType,
  DuckDBBigIntType,
  DuckDBBigNumType,
  DuckDBBitType,
  DuckDBBlobType,
  DuckDBBooleanType,
  DuckDBDateType,
  DuckDBDecimalType,
  DuckDBDoubleType,
  DuckDBEnumType,
  DuckDBFloatType,
  DuckDBGeometryType,
  DuckDBHugeIntType,
  DuckDBIntegerLiteralType,
  DuckDBIntegerType,
  DuckDBIntervalType,
  DuckDBListType,
  DuckDBMapType,
  DuckDBSmallIntType,
  DuckDBSQLNullType,
  DuckDBStringLiteralType,
  DuckDBStructType,
  DuckDBTimeNSType,
  DuckDBTimestampMillisecondsType,
  DuckDBTimestampNanosecondsType,
  DuckDBTimestampSecondsType,
  DuckDBTimestampTZType,
  DuckDBTimestampType,
  DuckDBTimeTZType,
  DuckDBTimeType,
  DuckDBTinyIntType,
  DuckDBTypeId,
  DuckDBUBigIntType,
  DuckDBUHugeIntType,
  DuckDBUIntegerType,
  DuckDBUnionType,
  DuckDBUSmallIntType,
  DuckDBUTinyIntType,
  DuckDBUUIDType,
  DuckDBVarCharType,
  DuckDBVariantType,
  type DuckDBType,
} from '@duckdb/node-api';
import { OpenDuckError } from '../../core/errors.js';

/** Types that carry nothing but their identity (and an optional alias). */
export const SIMPLE_TYPE_NAMES = [
  'BOOLEAN',
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'FLOAT',
  'DOUBLE',
  'TIMESTAMP',
  'DATE',
  'TIME',
  'INTERVAL',
  'HUGEINT',
  'UHUGEINT',
  'VARCHAR',
  'BLOB',
  'TIMESTAMP_S',
  'TIMESTAMP_MS',
  'TIMESTAMP_NS',
  'UUID',
  'BIT',
  'TIME_TZ',
  'TIMESTAMP_TZ',
  'ANY',
  'BIGNUM',
  'SQLNULL',
  'STRING_LITERAL',
  'INTEGER_LITERAL',
  'TIME_NS',
  'VARIANT',
] as const;
export type SimpleTypeName = (typeof SIMPLE_TYPE_NAMES)[number];

/** The integer type DuckDB stores an ENUM's member index in; it follows from the member count. */
export type EnumIndexTypeName = 'UTINYINT' | 'USMALLINT' | 'UINTEGER';

interface Aliased {
  alias?: string;
}
export type DuckDBTypeJson =
  | ({ type: SimpleTypeName } & Aliased)
  | ({ type: 'DECIMAL'; width: number; scale: number } & Aliased)
  | ({ type: 'ENUM'; values: string[]; indexType: EnumIndexTypeName } & Aliased)
  | ({ type: 'LIST'; child: DuckDBTypeJson } & Aliased)
  | ({ type: 'ARRAY'; child: DuckDBTypeJson; length: number } & Aliased)
  | ({ type: 'STRUCT'; fields: { name: string; type: DuckDBTypeJson }[] } & Aliased)
  | ({ type: 'MAP'; key: DuckDBTypeJson; value: DuckDBTypeJson } & Aliased)
  | ({ type: 'UNION'; members: { tag: string; type: DuckDBTypeJson }[] } & Aliased)
  | ({ type: 'GEOMETRY'; crs?: string } & Aliased);

/** Type JSON that does not describe a DuckDB type; `path` locates the bad part, `$` being the root. */
export class TypeJsonError extends OpenDuckError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super('INVALID_ARGUMENT', `invalid DuckDB type JSON at ${path}: ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------
// DuckDBType -> JSON
// ---------------------------------------------------------------------------------------------

export function typeToJson(t: DuckDBType): DuckDBTypeJson {
  const json = typeToJsonWithoutAlias(t);
  return t.alias ? { ...json, alias: t.alias } : json;
}

function typeToJsonWithoutAlias(t: DuckDBType): DuckDBTypeJson {
  switch (t.typeId) {
    case DuckDBTypeId.DECIMAL:
      return { type: 'DECIMAL', width: t.width, scale: t.scale };
    case DuckDBTypeId.ENUM:
      return { type: 'ENUM', values: [...t.values], indexType: enumIndexTypeName(t) };
    case DuckDBTypeId.LIST:
      return { type: 'LIST', child: typeToJson(t.valueType) };
    case DuckDBTypeId.ARRAY:
      return { type: 'ARRAY', child: typeToJson(t.valueType), length: t.length };
    case DuckDBTypeId.STRUCT:
      return { type: 'STRUCT', fields: t.entryNames.map((name, i) => ({ name, type: typeToJson(t.entryTypes[i]!) })) };
    case DuckDBTypeId.MAP:
      return { type: 'MAP', key: typeToJson(t.keyType), value: typeToJson(t.valueType) };
    case DuckDBTypeId.UNION:
      return { type: 'UNION', members: t.memberTags.map((tag, i) => ({ tag, type: typeToJson(t.memberTypes[i]!) })) };
    case DuckDBTypeId.GEOMETRY:
      return t.crs ? { type: 'GEOMETRY', crs: t.crs } : { type: 'GEOMETRY' };
    default:
      return { type: simpleTypeName(t.typeId) };
  }
}

function enumIndexTypeName(t: DuckDBEnumType): EnumIndexTypeName {
  switch (t.internalTypeId) {
    case DuckDBTypeId.UTINYINT:
      return 'UTINYINT';
    case DuckDBTypeId.USMALLINT:
      return 'USMALLINT';
    case DuckDBTypeId.UINTEGER:
      return 'UINTEGER';
    default:
      throw new TypeJsonError('$', `ENUM with unexpected index type id ${t.internalTypeId}`);
  }
}

function simpleTypeName(typeId: DuckDBTypeId): SimpleTypeName {
  const name = DuckDBTypeId[typeId];
  if (!isSimpleTypeName(name)) throw new TypeJsonError('$', `type id ${typeId} (${name ?? 'unknown'}) has no JSON form`);
  return name;
}

function isSimpleTypeName(name: unknown): name is SimpleTypeName {
  return typeof name === 'string' && (SIMPLE_TYPE_NAMES as readonly string[]).includes(name);
}

// ---------------------------------------------------------------------------------------------
// JSON -> DuckDBType
// ---------------------------------------------------------------------------------------------

export function typeFromJson(j: unknown): DuckDBType {
  return typeAt(j, '$');
}

function typeAt(j: unknown, path: string): DuckDBType {
  const o = objectAt(j, path);
  const alias = optionalStringAt(o, 'alias', path);
  const type = o['type'];
  if (isSimpleTypeName(type)) return simpleType(type, alias);
  switch (type) {
    case 'DECIMAL':
      return decimalType(o, path, alias);
    case 'ENUM':
      return enumType(o, path, alias);
    case 'LIST':
      return new DuckDBListType(typeAt(o['child'], `${path}.child`), alias);
    case 'ARRAY':
      return new DuckDBArrayType(typeAt(o['child'], `${path}.child`), integerAt(o, 'length', path, 1, 2 ** 32 - 1), alias);
    case 'STRUCT': {
      const fields = arrayAt(o, 'fields', path).map((f, i) => namedTypeAt(f, `${path}.fields[${i}]`, 'name'));
      return new DuckDBStructType(
        fields.map((f) => f.name),
        fields.map((f) => f.type),
        alias,
      );
    }
    case 'MAP':
      return new DuckDBMapType(typeAt(o['key'], `${path}.key`), typeAt(o['value'], `${path}.value`), alias);
    case 'UNION': {
      const members = arrayAt(o, 'members', path).map((m, i) => namedTypeAt(m, `${path}.members[${i}]`, 'tag'));
      if (members.length === 0) throw new TypeJsonError(`${path}.members`, 'a UNION needs at least one member');
      return new DuckDBUnionType(
        members.map((m) => m.name),
        members.map((m) => m.type),
        alias,
      );
    }
    case 'GEOMETRY':
      return DuckDBGeometryType.create(alias, optionalStringAt(o, 'crs', path));
    default:
      throw new TypeJsonError(`${path}.type`, `unknown type ${JSON.stringify(type)}`);
  }
}

function simpleType(name: SimpleTypeName, alias: string | undefined): DuckDBType {
  switch (name) {
    case 'BOOLEAN':
      return DuckDBBooleanType.create(alias);
    case 'TINYINT':
      return DuckDBTinyIntType.create(alias);
    case 'SMALLINT':
      return DuckDBSmallIntType.create(alias);
    case 'INTEGER':
      return DuckDBIntegerType.create(alias);
    case 'BIGINT':
      return DuckDBBigIntType.create(alias);
    case 'UTINYINT':
      return DuckDBUTinyIntType.create(alias);
    case 'USMALLINT':
      return DuckDBUSmallIntType.create(alias);
    case 'UINTEGER':
      return DuckDBUIntegerType.create(alias);
    case 'UBIGINT':
      return DuckDBUBigIntType.create(alias);
    case 'FLOAT':
      return DuckDBFloatType.create(alias);
    case 'DOUBLE':
      return DuckDBDoubleType.create(alias);
    case 'TIMESTAMP':
      return DuckDBTimestampType.create(alias);
    case 'DATE':
      return DuckDBDateType.create(alias);
    case 'TIME':
      return DuckDBTimeType.create(alias);
    case 'INTERVAL':
      return DuckDBIntervalType.create(alias);
    case 'HUGEINT':
      return DuckDBHugeIntType.create(alias);
    case 'UHUGEINT':
      return DuckDBUHugeIntType.create(alias);
    case 'VARCHAR':
      return DuckDBVarCharType.create(alias);
    case 'BLOB':
      return DuckDBBlobType.create(alias);
    case 'TIMESTAMP_S':
      return DuckDBTimestampSecondsType.create(alias);
    case 'TIMESTAMP_MS':
      return DuckDBTimestampMillisecondsType.create(alias);
    case 'TIMESTAMP_NS':
      return DuckDBTimestampNanosecondsType.create(alias);
    case 'UUID':
      return DuckDBUUIDType.create(alias);
    case 'BIT':
      return DuckDBBitType.create(alias);
    case 'TIME_TZ':
      return DuckDBTimeTZType.create(alias);
    case 'TIMESTAMP_TZ':
      return DuckDBTimestampTZType.create(alias);
    case 'ANY':
      return DuckDBAnyType.create(alias);
    case 'BIGNUM':
      return DuckDBBigNumType.create(alias);
    case 'SQLNULL':
      return DuckDBSQLNullType.create(alias);
    case 'STRING_LITERAL':
      return DuckDBStringLiteralType.create(alias);
    case 'INTEGER_LITERAL':
      return DuckDBIntegerLiteralType.create(alias);
    case 'TIME_NS':
      return DuckDBTimeNSType.create(alias);
    case 'VARIANT':
      return DuckDBVariantType.create(alias);
  }
}

/** DuckDB's own limits: 1..38 digits, scale no larger than the width. */
function decimalType(o: Record<string, unknown>, path: string, alias: string | undefined): DuckDBDecimalType {
  const width = integerAt(o, 'width', path, 1, 38);
  const scale = integerAt(o, 'scale', path, 0, width);
  return new DuckDBDecimalType(width, scale, alias);
}

const ENUM_INDEX_TYPE_IDS: Record<EnumIndexTypeName, DuckDBTypeId> = {
  UTINYINT: DuckDBTypeId.UTINYINT,
  USMALLINT: DuckDBTypeId.USMALLINT,
  UINTEGER: DuckDBTypeId.UINTEGER,
};

function enumType(o: Record<string, unknown>, path: string, alias: string | undefined): DuckDBEnumType {
  const values = arrayAt(o, 'values', path).map((v, i) => {
    if (typeof v !== 'string') throw new TypeJsonError(`${path}.values[${i}]`, 'an ENUM member must be a string');
    return v;
  });
  const indexType = o['indexType'];
  if (typeof indexType !== 'string' || !Object.hasOwn(ENUM_INDEX_TYPE_IDS, indexType)) {
    throw new TypeJsonError(`${path}.indexType`, `expected one of ${Object.keys(ENUM_INDEX_TYPE_IDS).join(', ')}`);
  }
  const indexTypeId = ENUM_INDEX_TYPE_IDS[indexType as EnumIndexTypeName];
  if (values.length > enumCapacity(indexTypeId)) {
    throw new TypeJsonError(`${path}.values`, `${values.length} members do not fit index type ${indexType}`);
  }
  return new DuckDBEnumType(values, indexTypeId, alias);
}

function enumCapacity(indexTypeId: DuckDBTypeId): number {
  switch (indexTypeId) {
    case DuckDBTypeId.UTINYINT:
      return 2 ** 8;
    case DuckDBTypeId.USMALLINT:
      return 2 ** 16;
    default:
      return 2 ** 32;
  }
}

function namedTypeAt(j: unknown, path: string, nameKey: 'name' | 'tag'): { name: string; type: DuckDBType } {
  const o = objectAt(j, path);
  const name = o[nameKey];
  if (typeof name !== 'string') throw new TypeJsonError(`${path}.${nameKey}`, 'expected a string');
  return { name, type: typeAt(o['type'], `${path}.type`) };
}

function objectAt(j: unknown, path: string): Record<string, unknown> {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new TypeJsonError(path, 'expected an object');
  return j as Record<string, unknown>;
}

function arrayAt(o: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new TypeJsonError(`${path}.${key}`, 'expected an array');
  return v;
}

function integerAt(o: Record<string, unknown>, key: string, path: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeJsonError(`${path}.${key}`, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalStringAt(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new TypeJsonError(`${path}.${key}`, 'expected a string');
  return v;
}
