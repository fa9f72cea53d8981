import type { QueryRunner } from 'typeorm';

/**
 * Throws unless `table` has (`present`) or lacks (`absent`) each of these columns: a migration that reshapes a table
 * checks, inside its own transaction, that it starts from the shape it was written for. Run twice (two processes
 * starting together on one SQLite file: data-source.ts `migrate`), the second run fails instead of reshaping data a
 * second time.
 */
export async function expectColumns(q: QueryRunner, table: string, want: { present?: string[]; absent?: string[] }): Promise<void> {
  const pg = q.connection.options.type === 'postgres';
  const rows = (await q.query(
    pg
      ? 'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1'
      : 'SELECT name FROM pragma_table_info(?)',
    [table],
  )) as { name: string }[];
  const have = new Set(rows.map((r) => r.name));
  const wrong = [
    ...(want.present ?? []).filter((c) => !have.has(c)).map((c) => `no column ${c}`),
    ...(want.absent ?? []).filter((c) => have.has(c)).map((c) => `already a column ${c}`),
  ];
  if (rows.length === 0 || wrong.length)
    throw new Error(
      `migration: table ${table} is not in the shape this migration starts from (${rows.length ? wrong.join(', ') : 'no such table'}); another process may have run it`,
    );
}
