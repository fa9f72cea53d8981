import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { JobCiphertextEntity, openDatabase } from '#persistence';
import { CiphertextKinds1797300000000 } from '../libs/persistence/src/migrations/1797300000000-ciphertext-kinds.js';
import { migrationTestDatabase, revertThrough } from './support/migrations.js';

/**
 * A job's stored ciphertexts carry an explicit kind (migration 1797300000000): what was stored under the `$`
 * pseudo-roles before it is carried over to its kind (the role column then holds only a provider role), `$partial`
 * sums of the removed fan-out are dropped, and `down` folds the kinds back into the roles, bytes unchanged. Runs on
 * SQLite, and on PostgreSQL when DATABASE_URL is one.
 */
describe('job ciphertexts: kinds instead of pseudo-roles (migration)', () => {
  const t = migrationTestDatabase('kinds');
  const { dir, pg, p } = t;
  let ds: DataSource;
  before(() => {
    ds = t.db();
  });

  // what the role column held before, one of each, and the kind and role each becomes
  const before_: [string, string, string | null][] = [
    ['utility', 'input', 'utility'],
    ['$staging:utility', 'staging', 'utility'],
    ['$staging:a:b', 'staging', 'a:b'],
    ['$params', 'params', ''],
    ['$psi', 'psi', ''],
    ['$result', 'result', ''],
    ['$partial', '', null],
  ];
  const blob = (i: number): Buffer => Buffer.from(`ciphertext ${i} \u0000\u00ff`, 'latin1');

  it('pseudo-roles become kinds, $partial is dropped, and down gives the roles back', async () => {
    await revertThrough(ds, 'CiphertextKinds1797300000000');
    const insert = `INSERT INTO job_ciphertexts (job_id, role, feature, chunk, blob) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`;
    for (const [i, [role]] of before_.entries()) await ds.query(insert, ['job-1', role, `f${i}`, i, blob(i)]);
    await ds.runMigrations({ transaction: 'each' });

    const rows = await ds.getRepository(JobCiphertextEntity).find({ where: { jobId: 'job-1' }, order: { chunk: 'ASC' } });
    const kept = before_.filter(([, , role]) => role !== null);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.role, r.feature, r.chunk, Buffer.from(r.blob).toString('latin1')]),
      kept.map(([, kind, role]) => {
        const i = before_.findIndex((b) => b[1] === kind && b[2] === role);
        return [kind, role, `f${i}`, i, blob(i).toString('latin1')];
      }),
    );

    await revertThrough(ds, 'CiphertextKinds1797300000000');
    const back = (await ds.query(`SELECT role, feature, chunk FROM job_ciphertexts WHERE job_id = ${p(1)} ORDER BY chunk`, ['job-1'])) as {
      role: string;
      feature: string;
      chunk: number | string;
    }[];
    assert.deepEqual(
      back.map((r) => [r.role, r.feature, Number(r.chunk)]),
      before_.flatMap(([role], i) => (role === '$partial' ? [] : [[role, `f${i}`, i]])),
    );
    await ds.runMigrations({ transaction: 'each' });
    assert.equal(await ds.getRepository(JobCiphertextEntity).countBy({ jobId: 'job-1', kind: 'staging' }), 2);
  });
  it('run a second time (two processes starting together), the migration refuses to reshape the table again', async () => {
    const before = await ds.getRepository(JobCiphertextEntity).find({ order: { kind: 'ASC', chunk: 'ASC' } });
    const q = ds.createQueryRunner();
    try {
      await q.startTransaction();
      await assert.rejects(new CiphertextKinds1797300000000().up(q), /not in the shape this migration starts from .*already a column kind/);
      await q.rollbackTransaction();
    } finally {
      await q.release();
    }
    assert.deepEqual(await ds.getRepository(JobCiphertextEntity).find({ order: { kind: 'ASC', chunk: 'ASC' } }), before);
  });

  it(
    'processes opening one PostgreSQL schema at once run each migration once (advisory lock)',
    { skip: !pg && 'PostgreSQL only', timeout: 120_000 },
    async () => {
      const fresh = `t_lock_${randomBytes(4).toString('hex')}`;
      const opened = await Promise.all(
        [0, 1, 2].map(() => openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: dir, schema: fresh })),
      );
      try {
        const runs = (await opened[0]!.query(`SELECT name, COUNT(*) AS n FROM "${fresh}".migrations GROUP BY name`)) as {
          n: string | number;
        }[];
        assert.ok(runs.length >= 5);
        assert.deepEqual(new Set(runs.map((r) => Number(r.n))), new Set([1]));
      } finally {
        await opened[0]!.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`).catch(() => undefined);
        for (const o of opened) await o.destroy();
      }
    },
  );
});
