/**
 * The ledger worker on the in-memory queue driver, with a typed stand-in for the usage log (no Redis, no database):
 * events that arrive together are appended together, a job completes only once its event is in the log, and one
 * bad event fails (after its retries) alone.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { JobName, QueueName, type UsageEvent } from '#contracts';
import { QueueService } from '#platform';
import { LedgerWorker } from './ledger.worker.js';
import type { EventLog } from './record-events.js';

const open: QueueService[] = [];
afterEach(async () => {
  for (const q of open.splice(0)) await q.close();
});

function event(id: string): UsageEvent {
  return { id, at: '2026-01-01T00:00:00.000Z', type: 'job.submitted', actor: { id: 'broker', role: 'broker' }, job: 'j1' };
}

/** A usage log in memory: the batches it was asked to append; `refuse` decides which events make a batch throw. */
class LogStandIn implements EventLog {
  readonly batches: string[][] = [];
  readonly logged = new Set<string>();
  constructor(private readonly refuse: (e: UsageEvent, call: number) => boolean = () => false) {}
  append(events: UsageEvent[]): Promise<unknown> {
    const call = this.batches.push(events.map((e) => e.id));
    if (events.some((e) => this.refuse(e, call))) return Promise.reject(new Error('the log refused the batch'));
    for (const e of events) this.logged.add(e.id);
    return Promise.resolve();
  }
}

function start(log: LogStandIn): QueueService {
  const queues = QueueService.memory();
  open.push(queues);
  new LedgerWorker(queues, log).onApplicationBootstrap();
  return queues;
}

async function settled(queues: QueueService, ids: string[]): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const jobs = await Promise.all(ids.map((id) => queues.job(QueueName.ledger, id)));
    if (jobs.every((j) => j?.state === 'completed' || j?.state === 'failed')) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.fail('jobs did not finish');
}

it('events queued together are appended in one batch; each job completes with its event in the log', async () => {
  const log = new LogStandIn();
  const queues = start(log);
  const ids = Array.from({ length: 20 }, (_, i) => `e${i}`);
  for (const id of ids) await queues.add(QueueName.ledger, JobName.ledgerEvent, event(id), { jobId: id });
  await settled(queues, ids);
  for (const id of ids) assert.equal((await queues.job(QueueName.ledger, id))?.state, 'completed');
  assert.deepEqual(log.batches, [ids]);
});

it('one bad event in a batch fails alone, after its retries; the others are logged once', async () => {
  const log = new LogStandIn((e) => e.id === 'bad');
  const queues = start(log);
  const ids = ['a', 'bad', 'b'];
  for (const id of ids)
    await queues.add(QueueName.ledger, JobName.ledgerEvent, event(id), { jobId: id, attempts: 2, backoff: { type: 'fixed', delay: 1 } });
  await settled(queues, ids);
  const bad = await queues.job(QueueName.ledger, 'bad');
  assert.equal(bad?.state, 'failed');
  assert.equal(bad?.attemptsMade, 2);
  assert.equal((await queues.job(QueueName.ledger, 'a'))?.state, 'completed');
  assert.equal((await queues.job(QueueName.ledger, 'b'))?.state, 'completed');
  assert.deepEqual([...log.logged].sort(), ['a', 'b']);
  // the batch, then one by one, then the retry of the bad one
  assert.deepEqual(log.batches, [ids, ['a'], ['bad'], ['b'], ['bad']]);
});

it('a log that fails once is retried: the job completes on its next attempt', async () => {
  const log = new LogStandIn((_e, call) => call === 1);
  const queues = start(log);
  await queues.add(QueueName.ledger, JobName.ledgerEvent, event('x'), { jobId: 'x', attempts: 3, backoff: { type: 'fixed', delay: 1 } });
  await settled(queues, ['x']);
  const x = await queues.job(QueueName.ledger, 'x');
  assert.equal(x?.state, 'completed');
  assert.equal(x?.attemptsMade, 1);
  assert.deepEqual([...log.logged], ['x']);
});
