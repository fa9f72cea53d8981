import type { DataSource } from 'typeorm';

/**
 * Reverts the newest migrations, newest first, down to and including the one named `name` (what running
 * `migration:revert` that many times does), so a test can put data in the shape that migration found.
 */
export async function revertThrough(ds: DataSource, name: string): Promise<void> {
  for (;;) {
    const [last] = (await ds.query('SELECT name FROM migrations ORDER BY timestamp DESC LIMIT 1')) as { name: string }[];
    if (!last) throw new Error(`migration ${name} has not run`);
    await ds.undoLastMigration({ transaction: 'each' });
    if (last.name === name) return;
  }
}
