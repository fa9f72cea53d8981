/**
 * The job state machine (`#contracts` job-status.ts) and its one writer (`transition`), and the reading of a stored
 * job into a typed `JobRecord` (plan checked with the connector protocol's `planSchema`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVE_JOB_STATUSES,
  AppError,
  JOB_STATUSES,
  JOB_TRANSITIONS,
  type JobStatus,
  TERMINAL_JOB_STATUSES,
  canTransition,
  isTerminalJobStatus,
} from '#contracts';
import { type ParamValues, builtinScenarios, compilePlan, defaultParams } from '#scenario';
import { JobRecordError, JobTransitionError, countsWithheld, readJobRecord, transition } from './index.js';

/** Every (from, to) pair the broker's code performs, and the one a retried step repeats. */
const PERFORMED: [JobStatus, JobStatus][] = [
  ['queued', 'encrypting'], // a provider's first progress report (ConnectorGateway.reportProgress)
  ['queued', 'evaluating'], // the evaluation starting before any report was stored
  ['encrypting', 'evaluating'], // EvaluationWorker.evaluate
  ['evaluating', 'evaluating'], // a retried evaluation
  ['evaluating', 'completed'],
  ['queued', 'failed'], // a provider's refusal or failure, too few keys in the intersection
  ['encrypting', 'failed'],
  ['evaluating', 'failed'], // the evaluation's final failure
  ['queued', 'cancelled'], // JobsService.cancel
  ['encrypting', 'cancelled'],
  ['evaluating', 'cancelled'],
];

function storedPlan(): Record<string, unknown> {
  const s = builtinScenarios().find((x) => x.id === 'water-district-consumption')!;
  const rows = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, 100]));
  const pub: ParamValues = {};
  for (const [k, v] of Object.entries(defaultParams(s.id, rows))) if (!s.params?.[k]?.private) pub[k] = v;
  const c = compilePlan(s, pub, { rowCounts: rows });
  assert.ok(c.ok, JSON.stringify(!c.ok && c.errors));
  // as the database gives it back (simple-json)
  return JSON.parse(JSON.stringify(c.plan)) as Record<string, unknown>;
}

describe('job state machine', () => {
  it('the statuses are the six a job is stored with; none is `refused` (a refused submission stores no job)', () => {
    assert.deepEqual([...JOB_STATUSES].sort(), ['cancelled', 'completed', 'encrypting', 'evaluating', 'failed', 'queued']);
    assert.ok(!(JOB_STATUSES as readonly string[]).includes('refused'));
  });

  it('active and terminal statuses partition the statuses: active ones have a way out, terminal ones none', () => {
    assert.deepEqual([...ACTIVE_JOB_STATUSES], ['queued', 'encrypting', 'evaluating']);
    assert.deepEqual([...TERMINAL_JOB_STATUSES], ['completed', 'failed', 'cancelled']);
    for (const s of TERMINAL_JOB_STATUSES) {
      assert.ok(isTerminalJobStatus(s));
      for (const to of JOB_STATUSES) assert.equal(canTransition(s, to), false, `${s} -> ${to}`);
    }
    for (const s of ACTIVE_JOB_STATUSES) assert.equal(isTerminalJobStatus(s), false);
  });

  it('a string that is no status (an older broker, a typo) is not terminal', () => {
    assert.equal(isTerminalJobStatus('refused'), false);
    assert.equal(isTerminalJobStatus(''), false);
  });

  it('every transition the broker performs is allowed', () => {
    for (const [from, to] of PERFORMED) assert.ok(canTransition(from, to), `${from} -> ${to}`);
  });

  it('no way back: a job never returns to queued, nor from evaluating to encrypting', () => {
    for (const from of JOB_STATUSES) if (from !== 'queued') assert.equal(canTransition(from, 'queued'), false, `${from} -> queued`);
    assert.equal(canTransition('evaluating', 'encrypting'), false);
    assert.equal(canTransition('queued', 'completed'), false, 'a job completes only after its evaluation');
    assert.equal(canTransition('encrypting', 'completed'), false);
  });

  it('the table names only statuses, and every status has an entry', () => {
    assert.deepEqual(Object.keys(JOB_TRANSITIONS).sort(), [...JOB_STATUSES].sort());
    for (const tos of Object.values(JOB_TRANSITIONS)) for (const to of tos) assert.ok(JOB_STATUSES.includes(to));
  });
});

describe('transition (the one writer of a job status)', () => {
  it('returns the patch that sets the status when the machine allows it', () => {
    for (const [from, to] of PERFORMED) assert.deepEqual(transition({ id: 'j1', status: from }, to), { status: to });
  });

  it('refuses an ended job any change, with CONFLICT naming both states', () => {
    for (const from of TERMINAL_JOB_STATUSES) {
      for (const to of JOB_STATUSES) {
        const sut = (): unknown => transition({ id: 'j1', status: from }, to);
        assert.throws(sut, (e: unknown) => {
          assert.ok(e instanceof JobTransitionError && e instanceof AppError);
          assert.equal(e.code, 'CONFLICT');
          assert.equal(e.status, 409);
          assert.equal(e.from, from);
          assert.equal(e.to, to);
          assert.match(e.message, new RegExp(`job j1 is ${from}: it cannot become ${to}`));
          return true;
        });
      }
    }
  });
});

describe('readJobRecord', () => {
  it('types a stored job: the plan parsed unchanged, the other fields kept', () => {
    const plan = storedPlan();
    const row = { id: 'j1', status: 'evaluating' as const, plan, consumerId: 'c1', extra: 7 };
    const sut = readJobRecord(row);
    assert.deepEqual(JSON.parse(JSON.stringify(sut.plan)), plan);
    assert.equal(sut.status, 'evaluating');
    assert.equal(sut.consumerId, 'c1');
    assert.equal(sut.extra, 7);
    assert.equal(typeof sut.plan.epsilon, 'number');
  });

  it('refuses a malformed plan, a missing plan or an unknown status, naming the JSON paths', () => {
    const plan = storedPlan() as { slots: unknown };
    plan.slots = -1;
    assert.throws(
      () => readJobRecord({ id: 'j2', status: 'refused', plan }),
      (e: unknown) => {
        assert.ok(e instanceof JobRecordError);
        assert.equal(e.code, 'MALFORMED_JOB_RECORD');
        const paths = e.details.map((d) => d.path);
        assert.ok(paths.includes('$.plan.slots'), paths.join(', '));
        assert.ok(paths.includes('$.status'), paths.join(', '));
        return true;
      },
    );
    assert.throws(() => readJobRecord({ id: 'j3', status: 'queued', plan: null }), JobRecordError);
  });

  it("refuses CKKS parameters #he-core has no engine for (the plan's params are he-core's HeParams)", () => {
    const plan = storedPlan() as { params: { polyModulusDegree: number } };
    plan.params.polyModulusDegree = 4096;
    assert.throws(
      () => readJobRecord({ id: 'j4', status: 'queued', plan }),
      (e: unknown) => e instanceof JobRecordError && e.details.some((d) => d.path === '$.plan.params.polyModulusDegree'),
    );
  });
});

describe('countsWithheld', () => {
  it("is true only when the job's progress says its counts are withheld", () => {
    assert.equal(countsWithheld({ progress: { counts: 'withheld' } }), true);
    assert.equal(countsWithheld({ progress: {} }), false);
    assert.equal(countsWithheld({ progress: { counts: undefined } }), false);
  });
});
