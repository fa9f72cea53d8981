/**
 * HeThreads settles every task: one running or queued when the pool closes (shutdown) is rejected rather
 * than left pending, which would keep its BullMQ job active forever and hang the queue worker's close.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeEngine, ckksParamsForDepth, encodePublicKeyset } from '#he-core';
import { HeTaskError, HeThreads } from './he-threads.js';

const params = ckksParamsForDepth(1);

async function savedChunks(n: number): Promise<Uint8Array[]> {
  const engine = await HeEngine.create(params);
  try {
    const keys = engine.generateKeyset({ galoisSteps: [], relin: false });
    const pk = engine.usePublicKeyset(keys.publicKeyset);
    assert.ok(encodePublicKeyset(keys.publicKeyset).length > 0);
    return Array.from({ length: n }, (_, i) => engine.scope(() => engine.save(engine.encrypt(pk, [i, 1]))));
  } finally {
    engine.dispose();
  }
}

test('a reduce task runs on a thread and returns the sum', async () => {
  const threads = new HeThreads(2);
  try {
    const chunks = await savedChunks(3);
    const r = await threads.run({ kind: 'reduce', params, chunks });
    assert.equal(r.kind, 'reduce');
  } finally {
    await threads.close();
  }
});

test('closing rejects the running and queued tasks, and later ones, instead of leaving them pending', async () => {
  const threads = new HeThreads(1);
  const chunks = await savedChunks(2);
  const settled = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: unknown) => (e instanceof HeTaskError ? 'rejected' : `other: ${String(e)}`),
    );
  const running = settled(threads.run({ kind: 'reduce', params, chunks }));
  const queued = settled(threads.run({ kind: 'reduce', params, chunks }));
  await threads.close();
  const outcome = await Promise.race([
    Promise.all([running, queued]),
    new Promise((resolve) => setTimeout(() => resolve('pending'), 10_000)),
  ]);
  assert.deepEqual(outcome, ['rejected', 'rejected']);
  await assert.rejects(threads.run({ kind: 'reduce', params, chunks }), HeTaskError);
});
