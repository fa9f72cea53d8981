import { MAX_TEXT_LENGTH } from './columns.js';
import type { ColumnSpec } from './columns.js';
import type { ProblemCode } from './problems.js';

export type CellResult = { ok: true; value: number | string } | { ok: false; code: ProblemCode; message: string };

/**
 * A plain decimal number: optional sign, digits with an optional fraction, optional exponent.
 * Stricter than `Number()`, which would accept `""`, `"0x1F"`, `"Infinity"` and whitespace.
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function fail(code: ProblemCode, message: string): CellResult {
  return { ok: false, code, message };
}

function checkNumber(spec: ColumnSpec & { type: 'number' | 'integer' }, n: number): CellResult {
  if (!Number.isFinite(n)) return fail('NOT_A_NUMBER', 'not a finite number');
  if (spec.type === 'integer' && !Number.isInteger(n)) return fail('NOT_AN_INTEGER', 'not an integer');
  // Out of range is refused at import; clamping belongs to scenarios (bounds define sensitivity).
  if (n < spec.min || n > spec.max) return fail('OUT_OF_RANGE', `out of range [${spec.min}, ${spec.max}]`);
  return { ok: true, value: n };
}

function checkText(spec: ColumnSpec, s: string): CellResult {
  if (s.length > MAX_TEXT_LENGTH) return fail('TOO_LONG', `longer than ${MAX_TEXT_LENGTH} characters`);
  if (spec.type === 'category') {
    return spec.values.includes(s) ? { ok: true, value: s } : fail('UNKNOWN_CATEGORY', "not one of the column's categories");
  }
  if (s.trim() === '') return fail('MISSING_VALUE', 'empty id');
  return { ok: true, value: s };
}

/** Validates one CSV cell (always text). An empty cell is a missing value for every type. */
export function parseCsvCell(spec: ColumnSpec, raw: string): CellResult {
  if (raw === '') return fail('MISSING_VALUE', 'empty value');
  if (spec.type === 'number' || spec.type === 'integer') {
    const t = raw.trim();
    if (!DECIMAL.test(t)) return fail('NOT_A_NUMBER', 'not a number');
    return checkNumber(spec, Number(t));
  }
  return checkText(spec, raw);
}

/**
 * Validates one JSON value. Numbers must be JSON numbers (a numeric string is refused, so a
 * file cannot mix representations); ids may be strings or safe integers (stored as their
 * decimal string, as a CSV import of the same ids would).
 */
export function parseJsonCell(spec: ColumnSpec, v: unknown): CellResult {
  if (v === null || v === undefined) return fail('MISSING_VALUE', 'null or missing value');
  if (spec.type === 'number' || spec.type === 'integer') {
    return typeof v === 'number' ? checkNumber(spec, v) : fail('NOT_A_NUMBER', 'not a number');
  }
  if (spec.type === 'id' && typeof v === 'number' && Number.isSafeInteger(v)) return { ok: true, value: String(v) };
  if (typeof v !== 'string') return fail('NOT_A_STRING', spec.type === 'id' ? 'not a string or integer id' : 'not a string');
  return checkText(spec, v);
}
