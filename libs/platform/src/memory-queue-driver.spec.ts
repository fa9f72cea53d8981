/**
 * The in-memory queue driver keeps the BullMQ semantics the apps rely on (memory-queue-driver.ts), and QueueService
 * types jobs by the queue contract (`JobItemMap`).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { type EncryptTaskPayload, JobName, QueueName } from '#contracts';
import { MemoryQueueDriver } from './memory-queue-driver.js';
import { FatalTaskError, type FlowJobSpec, type JobState, type Task, isFinalAttempt } from './queue-driver.js';
import { QueueService } from './queues.js';

const open: MemoryQueueDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

function driver(): MemoryQueueDriver {
  const d = new MemoryQueueDriver();
  open.push(d);
  return d;
}

/** Lets the driver's scheduled work run until `ok` holds (a bounded number of timer turns, no clock reading). */
async function until(ok: () => boolean | Promise<boolean>, turns = 500): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.fail('condition not reached');
}

async function stateOf(d: MemoryQueueDriver, queue: string, id: string): Promise<JobState | null> {
  return (await d.job(queue, id))?.state ?? null;
}

/** Flow `p` on queue `eval` with encryption children (queue, id). */
function flowOf(children: [queue: string, id: string][]): FlowJobSpec {
  return {
    queue: 'eval',
    name: 'evaluate',
    data: {},
    opts: { jobId: 'p' },
    children: children.map(([queue, jobId]) => ({ queue, name: 'encrypt', data: {}, opts: { jobId } })),
  };
}

/** A promise and its resolver: holds a processor until the test lets it go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('MemoryQueueDriver', () => {
  it('deduplicates by jobId: a job that exists is not added again, and runs once', async () => {
    const d = driver();
    const seen: unknown[] = [];
    d.worker('q', (t) => Promise.resolve(seen.push(t.data)), {});
    assert.equal(await d.add('q', 'a', { n: 1 }, { jobId: 'x' }), 'x');
    assert.equal(await d.add('q', 'a', { n: 2 }, { jobId: 'x' }), 'x');
    await until(async () => (await stateOf(d, 'q', 'x')) === 'completed');
    // completed and still kept: a later add with its id is still a duplicate
    assert.equal(await d.add('q', 'a', { n: 3 }, { jobId: 'x' }), 'x');
    await until(async () => (await d.pending('q')).waiting === 0);
    assert.deepEqual(seen, [{ n: 1 }]);
    const a = await d.add('q', 'a', { n: 4 }, {});
    const b = await d.add('q', 'a', { n: 5 }, {});
    assert.notEqual(a, b, 'jobs without a jobId get their own ids');
  });

  it('removeOnComplete: true forgets the job, so its id may be added again', async () => {
    const d = driver();
    let runs = 0;
    d.worker('q', () => Promise.resolve(runs++), {});
    await d.add('q', 'a', {}, { jobId: 'x', removeOnComplete: true });
    await until(() => runs === 1);
    await until(async () => (await d.job('q', 'x')) === null);
    await d.add('q', 'a', {}, { jobId: 'x', removeOnComplete: true });
    await until(() => runs === 2);
  });

  it('removeOnComplete as a count keeps the last jobs only', async () => {
    const d = driver();
    d.worker('q', () => Promise.resolve(), {});
    for (const id of ['1', '2', '3']) {
      await d.add('q', 'a', {}, { jobId: id, removeOnComplete: 2 });
      await until(async () => (await stateOf(d, 'q', id)) === 'completed');
    }
    assert.equal(await d.job('q', '1'), null);
    assert.equal(await stateOf(d, 'q', '2'), 'completed');
    assert.equal(await stateOf(d, 'q', '3'), 'completed');
  });

  it('a flow parent waits for its children and runs after the last completed', async () => {
    const d = driver();
    const order: string[] = [];
    const hold = gate();
    d.worker(
      'enc',
      async (t) => {
        if (t.id === 'c2') await hold.wait;
        order.push(t.id);
      },
      { concurrency: 2 },
    );
    d.worker('eval', (t) => Promise.resolve(order.push(t.id)), {});
    await d.addFlow(
      flowOf([
        ['enc', 'c1'],
        ['enc', 'c2'],
      ]),
    );
    await until(async () => (await stateOf(d, 'enc', 'c1')) === 'completed');
    assert.equal(await stateOf(d, 'eval', 'p'), 'waiting-children');
    assert.equal((await d.pending('eval'))['waiting-children'], 1);
    hold.open();
    await until(async () => (await stateOf(d, 'eval', 'p')) === 'completed');
    assert.deepEqual(order, ['c1', 'c2', 'p']);
    // a flow whose root exists is not added again
    await d.addFlow({ queue: 'eval', name: 'evaluate', data: {}, opts: { jobId: 'p' }, children: [] });
    await until(async () => (await d.pending('eval')).waiting === 0);
    assert.deepEqual(order, ['c1', 'c2', 'p']);
  });

  it('failParentOnFailure: a child failing for good fails its parent, which never runs; a fatal error is not retried', async () => {
    const d = driver();
    let parentRuns = 0;
    d.worker('enc', () => Promise.reject(new FatalTaskError('refused: UNKNOWN_JOB')), {});
    d.worker('eval', () => Promise.resolve(parentRuns++), {});
    await d.addFlow({
      queue: 'eval',
      name: 'evaluate',
      data: {},
      opts: { jobId: 'p' },
      children: [{ queue: 'enc', name: 'encrypt', data: {}, opts: { jobId: 'c', attempts: 4, failParentOnFailure: true } }],
    });
    await until(async () => (await stateOf(d, 'eval', 'p')) === 'failed');
    const child = await d.job('enc', 'c');
    assert.equal(child?.state, 'failed');
    assert.equal(child?.attemptsMade, 1);
    assert.equal(child?.failedReason, 'refused: UNKNOWN_JOB');
    assert.equal(parentRuns, 0);
  });

  it('retries up to `attempts` after the backoff; attemptsMade counts the failed runs', async () => {
    const d = driver();
    const seen: { attemptsMade: number; final: boolean }[] = [];
    d.worker(
      'q',
      (t) => {
        const e = new Error(`run ${t.attemptsMade}`);
        seen.push({ attemptsMade: t.attemptsMade, final: isFinalAttempt(t, e) });
        return t.attemptsMade < 2 || t.name === 'always' ? Promise.reject(e) : Promise.resolve();
      },
      {},
    );
    await d.add('q', 'twice', {}, { jobId: 'ok', attempts: 3, backoff: { type: 'exponential', delay: 1 } });
    await until(async () => (await stateOf(d, 'q', 'ok')) === 'completed');
    assert.deepEqual(seen, [
      { attemptsMade: 0, final: false },
      { attemptsMade: 1, final: false },
      { attemptsMade: 2, final: true },
    ]);
    seen.length = 0;
    await d.add('q', 'always', {}, { jobId: 'ko', attempts: 2, backoff: { type: 'fixed', delay: 1 } });
    await until(async () => (await stateOf(d, 'q', 'ko')) === 'failed');
    assert.deepEqual(
      seen.map((s) => s.attemptsMade),
      [0, 1],
    );
    const ko = await d.job('q', 'ko');
    assert.equal(ko?.attemptsMade, 2);
    assert.equal(ko?.failedReason, 'run 1');
  });

  it('runs at most `concurrency` jobs of a worker at once, in the order they were added', async () => {
    const d = driver();
    const hold = gate();
    let running = 0;
    let most = 0;
    const started: number[] = [];
    d.worker(
      'q',
      async (t) => {
        started.push((t.data as { i: number }).i);
        most = Math.max(most, ++running);
        await hold.wait;
        running--;
      },
      { concurrency: 2 },
    );
    for (let i = 0; i < 5; i++) await d.add('q', 'a', { i }, {});
    await until(() => running === 2);
    assert.equal((await d.pending('q')).waiting, 3);
    hold.open();
    await until(async () => Object.values(await d.pending('q')).every((n) => n === 0));
    assert.equal(most, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
  });

  it('stopWorkers: finished jobs say "finished"; a job still running after the grace is handed back to the queue', async () => {
    const d = driver();
    const hold = gate();
    d.worker('q', (t) => (t.id === 'slow' ? hold.wait : Promise.resolve()), {});
    await d.add('q', 'a', {}, { jobId: 'slow' });
    await until(async () => (await stateOf(d, 'q', 'slow')) === 'active');
    assert.equal(await d.stopWorkers(0), 'handed-back');
    const back = await d.job('q', 'slow');
    assert.equal(back?.state, 'waiting');
    assert.equal(back?.stalledCount, 1);
    // the handed-back run ending later does not complete the job, and the stopped worker takes nothing
    hold.open();
    await d.add('q', 'a', {}, { jobId: 'next' });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await stateOf(d, 'q', 'slow'), 'waiting');
    assert.equal(await stateOf(d, 'q', 'next'), 'waiting');

    const e = driver();
    e.worker('q', () => Promise.resolve(), {});
    await e.add('q', 'a', {}, { jobId: 'x' });
    await until(async () => (await stateOf(e, 'q', 'x')) === 'completed');
    assert.equal(await e.stopWorkers(1000), 'finished');
  });

  it('removeJob removes a waiting parent with its children; a running job stays', async () => {
    const d = driver();
    const hold = gate();
    d.worker('enc', () => hold.wait, {});
    await d.addFlow(
      flowOf([
        ['enc', 'c1'],
        ['other', 'c2'],
      ]),
    );
    await until(async () => (await stateOf(d, 'enc', 'c1')) === 'active');
    await d.removeJob('enc', 'c1');
    assert.equal(await stateOf(d, 'enc', 'c1'), 'active');
    await d.removeJob('eval', 'p');
    assert.equal(await d.job('eval', 'p'), null);
    assert.equal(await d.job('other', 'c2'), null);
    hold.open();
  });

  it('stores a JSON copy of the payload, as Redis would', async () => {
    const d = driver();
    let got: unknown;
    d.worker(
      'q',
      (t) => {
        got = t.data;
        return t.updateProgress({ stage: 'x' });
      },
      {},
    );
    const data = { when: new Date(0), n: 1 };
    await d.add('q', 'a', data, { jobId: 'j' });
    await until(async () => (await stateOf(d, 'q', 'j')) === 'completed');
    assert.deepEqual(got, { when: '1970-01-01T00:00:00.000Z', n: 1 });
    assert.deepEqual(d.progress('q', 'j'), { stage: 'x' });
  });

  it('takes no job once closed', async () => {
    const d = new MemoryQueueDriver();
    await d.close();
    assert.equal(await d.ping(), false);
    await assert.rejects(d.add('q', 'a', {}, {}), /closed/);
  });
});

describe('QueueService', () => {
  const task: EncryptTaskPayload = { jobId: 'j1', role: 'r', datasetId: 'd', consumerId: 'c', purpose: 'p' };

  it('hands a worker the payload of its job name; a job of another name on its queue fails without reaching it', async () => {
    const d = driver();
    const queues = new QueueService(d);
    const queue = QueueName.encrypt('local');
    const seen: Task<EncryptTaskPayload>[] = [];
    queues.worker(queue, JobName.encryptInputs, (t) => Promise.resolve(seen.push(t)), {});
    await queues.add(queue, JobName.encryptInputs, task, { jobId: 'ok' });
    await queues.add(queue, JobName.evaluate, { jobId: 'j1' }, { jobId: 'wrong', attempts: 3 });
    await until(async () => (await queues.job(queue, 'wrong'))?.state === 'failed');
    await until(async () => (await queues.job(queue, 'ok'))?.state === 'completed');
    const wrong = await queues.job(queue, 'wrong');
    assert.equal(wrong?.attemptsMade, 1, 'not retried');
    assert.match(wrong?.failedReason ?? '', /serves encrypt-inputs jobs, not evaluate/);
    assert.deepEqual(
      seen.map((t) => t.data),
      [task],
    );
  });

  it('types payloads by job name (JobItemMap): the build refuses a payload of another job', () => {
    const queues = new QueueService(driver());
    // Only compiled, never run: each line below is a type error the build must report (`@ts-expect-error` fails
    // the build if it is not).
    const compileOnly = (): void => {
      // @ts-expect-error an evaluate job carries { jobId } only
      void queues.add(QueueName.evaluate, JobName.evaluate, { jobId: 'j', role: 'r' });
      // @ts-expect-error a ledger event is a UsageEvent
      void queues.add(QueueName.ledger, JobName.ledgerEvent, task);
      // @ts-expect-error an encryption task needs its role, dataset, consumer and purpose
      void queues.add(QueueName.encrypt('x'), JobName.encryptInputs, { jobId: 'j' });
      // @ts-expect-error no such job name
      void queues.add(QueueName.evaluate, 'reduce', { jobId: 'j' });
      queues.worker(QueueName.evaluate, JobName.evaluate, (t) => {
        // @ts-expect-error an evaluate task's payload has no role
        void t.data.role;
        return Promise.resolve();
      });
      void queues.addFlow({
        queue: QueueName.evaluate,
        name: JobName.evaluate,
        data: { jobId: 'j' },
        // @ts-expect-error a child's payload is typed by its own name too
        children: [{ queue: 'enc', name: JobName.encryptInputs, data: { jobId: 'j' } }],
      });
    };
    assert.equal(typeof compileOnly, 'function');
  });
});
