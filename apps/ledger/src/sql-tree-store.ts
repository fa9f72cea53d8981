import type { EntityManager } from 'typeorm';
import { type NodeKey, type TreeNode, type TreeStore, TreeStoreError, hashFromHex, toHex } from '#ledger-core';
import { LedgerEntryEntity, LedgerNodeEntity } from '#persistence';

/** Ids per `IN (...)` list: far below SQLite's 32766 and PostgreSQL's 65535 bound parameters. */
const IN_CHUNK = 1000;
/** Bound parameters per INSERT statement. */
const INSERT_PARAMS = 8000;

/**
 * Multi-row INSERT in plain SQL. The ledger writes thousands of rows per batch; TypeORM's query builder
 * re-scans its parameter map for every value it adds, which cost more than the hashing itself.
 */
export async function insertRows(
  m: EntityManager,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  const pg = m.connection.options.type === 'postgres';
  const per = Math.max(1, Math.floor(INSERT_PARAMS / columns.length));
  const head = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES `;
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    let n = 0;
    const tuple = (): string => `(${columns.map(() => (pg ? `$${++n}` : '?')).join(', ')})`;
    await m.query(head + part.map(tuple).join(', '), part.flat());
  }
}

/**
 * The Merkle log's node table in SQL (`ledger_nodes`): the hash of every complete subtree, so roots and
 * proofs cost O(log n) reads. The leaf count is the number of stored entries; `putNodes` runs inside the
 * append transaction that inserts those entries.
 */
export class SqlTreeStore implements TreeStore {
  constructor(private readonly m: EntityManager) {}

  async getLeafCount(): Promise<number> {
    const r = await this.m
      .getRepository(LedgerEntryEntity)
      .createQueryBuilder('e')
      .select('MAX(e.idx)', 'max')
      .getRawOne<{ max: number | string | null }>();
    return r?.max === null || r?.max === undefined ? 0 : Number(r.max) + 1;
  }

  /**
   * One `level = ? AND idx IN (...)` query per level and chunk (a proof touches a few levels; a full audit
   * asks thousands of keys at once, where one OR term per key would make the planner's work quadratic).
   */
  async getNodes(keys: readonly NodeKey[]): Promise<ReadonlyArray<Uint8Array | undefined>> {
    if (keys.length === 0) return [];
    const byLevel = new Map<number, number[]>();
    for (const k of keys) {
      const list = byLevel.get(k.level);
      if (list) list.push(k.index);
      else byLevel.set(k.level, [k.index]);
    }
    const found = new Map<string, string>();
    const repo = this.m.getRepository(LedgerNodeEntity);
    for (const [level, all] of byLevel) {
      const unique = [...new Set(all)];
      for (let i = 0; i < unique.length; i += IN_CHUNK) {
        const rows = await repo
          .createQueryBuilder('n')
          .select(['n.level', 'n.idx', 'n.hash'])
          .where('n.level = :level AND n.idx IN (:...ids)', { level, ids: unique.slice(i, i + IN_CHUNK) })
          .getMany();
        for (const r of rows) found.set(`${r.level}/${r.idx}`, r.hash);
      }
    }
    return keys.map((k) => {
      const h = found.get(`${k.level}/${k.index}`);
      return h === undefined ? undefined : hashFromHex(h);
    });
  }

  async putNodes(nodes: readonly TreeNode[], sizes: { readonly from: number; readonly to: number }): Promise<void> {
    // The entries of this append were inserted earlier in the same transaction, so the count is already `to`;
    // anything else means another writer interleaved (their idx primary keys would also collide).
    const count = await this.getLeafCount();
    if (count !== sizes.to) throw new TreeStoreError(`ledger size changed under an append (${count}, expected ${sizes.to})`);
    await insertRows(
      this.m,
      'ledger_nodes',
      ['level', 'idx', 'hash'],
      nodes.map((n) => [n.level, n.index, toHex(n.hash)]),
    );
  }
}
