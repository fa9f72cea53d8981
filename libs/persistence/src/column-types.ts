/**
 * Column types that differ between the embedded SQLite store and PostgreSQL.
 * Entity decorators are evaluated when the module loads, so the driver is read from the environment
 * of the process (`DATABASE_URL`); one process talks to one kind of database.
 */
export function isPostgresUrl(url: string | undefined): boolean {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}
const pg = isPostgresUrl(process.env.DATABASE_URL);
export const BINARY = pg ? 'bytea' : 'blob';
export const TIMESTAMP = pg ? 'timestamptz' : 'datetime';
/** 64-bit counters (ledger indexes): read back as strings by pg; entities convert. */
export const BIGINT = 'bigint';
export const REAL = pg ? 'double precision' : 'real';
