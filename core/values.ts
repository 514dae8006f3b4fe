/**
 * Converting DuckDB values for output. JSON keeps numbers as JSON numbers where a JSON reader
 * gets the exact value back, and uses strings otherwise: 64/128-bit integers beyond 2^53, decimals
 * a double cannot carry, and NaN/±Infinity.
 */
import type { DuckDBDecimalValue, DuckDBType, DuckDBValue, Json } from '@duckdb/node-api';
import { DuckDBTypeId, JsonDuckDBValueConverter } from './duckdb-api.js';

export function toJsonValue(value: DuckDBValue, type: DuckDBType): Json {
  return exactJson(value, type, exactJson);
}

function exactJson(value: DuckDBValue, type: DuckDBType, recurse: typeof exactJson): Json {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT: {
      const n = Number(value as bigint);
      return Number.isSafeInteger(n) ? n : String(value);
    }
    case DuckDBTypeId.DECIMAL: {
      const d = value as DuckDBDecimalValue;
      const text = d.toString();
      const n = Number(text);
      return Number.isFinite(n) && n.toFixed(d.scale) === text ? n : text;
    }
    default:
      return JsonDuckDBValueConverter(value, type, recurse);
  }
}

/** Text for table and CSV output: DuckDB's own rendering of each value. */
export function toDisplayText(value: DuckDBValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return value;
  return String(value);
}
