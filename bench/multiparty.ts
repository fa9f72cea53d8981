/**
 * Item 3: sme-credit-score (10^5 firms listed by the consumer, 3 providers) and
 * energy-intensity-by-sector (10^5 firms per provider aligned by private set intersection), plus
 * the intersection timed directly on libs/psi (both suites).
 */
import { PsiParty, intersect, type SuiteName } from '#psi';
import {
  builtinScenario,
  catalogPurpose,
  compareResult,
  datasetDocumentFor,
  evaluateReference,
  generateRoleRows,
  type ParamValues,
  type Row,
} from '#scenario';
import { publishKeyset } from '#sdk';
import type { BenchContext } from './lib/context.js';
import { runTimedJob } from './lib/jobs.js';
import { MiB } from './lib/rss.js';
import { catalogRows, consumerKeys, importRows, localPlan, participant, registerCatalogDataset, startSystem } from './lib/system.js';

const S3 = '3 multi-provider scenarios';

async function runScenario(
  ctx: BenchContext,
  id: string,
  n: number,
  params: (rows: Record<string, Row[]> | null) => ParamValues,
  label: string,
  targetS: number,
  checkRows: boolean,
): Promise<void> {
  const { report } = ctx;
  const scenario = builtinScenario(id);
  const roles = Object.keys(scenario.inputs);
  const sys = await startSystem({ env: { HE_THREADS: '0' } });
  try {
    const consumer = await participant(sys, 'consumer', 'consumer');
    const bindings: Record<string, string> = {};
    let importMs = 0;
    for (const role of roles) {
      const p = await participant(sys, 'provider', role);
      bindings[role] = await registerCatalogDataset(p, id, role);
      const imp = await importRows(p, bindings[role]!, Object.keys(datasetDocumentFor(id, role).columns), catalogRows(id, role, n, 1));
      importMs += imp.ms;
    }
    report.add({
      section: S3,
      name: `${label}: import ${roles.length} × ${n.toLocaleString('en-US')} rows (not in the job time)`,
      value: importMs / 1000,
      unit: 's',
    });
    const rows = checkRows ? Object.fromEntries(roles.map((r) => [r, generateRoleRows(id, r, { rows: n, seed: 1 })])) : null;
    const values = params(rows);
    const plan = localPlan(scenario, values, Object.fromEntries(roles.map((r) => [r, n])));
    const k = await consumerKeys(ctx.dir, plan, id);
    report.add({ section: S3, name: `${label}: consumer key generation`, value: k.ms / 1000, unit: 's' });
    await publishKeyset(consumer, k.keys);
    ctx.rss.reset();
    const run = await runTimedJob(
      consumer,
      k.keys,
      { scenario: id, bindings, purpose: catalogPurpose(id), params: values },
      { publish: false, probe: { queues: sys.server.queues, connectorId: sys.config.CONNECTOR_ID } },
    );
    if (run.status !== 'completed') throw new Error(`${id} job ${run.status}: ${JSON.stringify(run.error)}`);
    for (const [stage, ms] of Object.entries(run.stages))
      report.add({ section: S3, name: `${label}: ${stage}`, value: ms / 1000, unit: 's' });
    for (const [role, k] of Object.entries(run.taskRuns))
      if (k > 1)
        report.note(
          S3,
          `${label}: the ${role} provider task ran ${k} times (retry, or its BullMQ lock lapsed while the event loop was blocked): queue boundaries are its last run's, so stage splits are unreliable; the end-to-end time is not affected`,
        );
    for (const [role, seen] of Object.entries(run.roles)) {
      if (seen.intersecting !== undefined && seen.encrypting !== undefined) {
        report.add({
          section: S3,
          name: `${label}: PSI at ${role} ('intersecting' → 'encrypting', includes encoding)`,
          value: (seen.encrypting - seen.intersecting) / 1000,
          unit: 's',
        });
      }
    }
    const providers = run.progress.providers as Record<string, { ciphertexts?: number }>;
    const cts = Object.values(providers).reduce((a, p) => a + (p.ciphertexts ?? 0), 0);
    report.add({ section: S3, name: `${label}: ciphertexts uploaded (all providers)`, value: cts });
    report.add({ section: S3, name: `${label}: peak RSS during the job`, value: ctx.rss.peak() / MiB, unit: 'MiB' });
    report.add({ section: S3, name: `${label}: CPU time of the process during the job (all threads)`, value: run.cpuMs / 1000, unit: 's' });
    // the targets are for 10^5 rows; a quick run's smaller size says so instead of claiming them
    const target =
      n >= 100_000
        ? { target: `≤ ${targetS} s`, met: run.totalMs / 1000 <= targetS }
        : { note: `quick run: the ≤ ${targetS} s target is for 100,000` };
    report.add({ section: S3, name: `${label}: end to end`, value: run.totalMs / 1000, unit: 's', ...target });
    if (rows) {
      const ref = evaluateReference(scenario, values, rows);
      const acc = compareResult(scenario, run.result!.metrics, ref.metrics);
      report.add({
        section: S3,
        name: `${label}: result vs plaintext reference`,
        value: acc.ok ? 'within the accuracy table' : `${acc.problems.length} problem(s)`,
        note: `largest relative error ${acc.largestError.toExponential(2)}${acc.ok ? '' : `; first: ${acc.problems[0]?.message ?? ''}`}`,
      });
    }
  } finally {
    await sys.close();
  }
}

export async function benchSme(ctx: BenchContext, n: number): Promise<void> {
  ctx.report.heading(S3);
  // The consumer lists the firms the bank holds (n of them); tax and utility hold n rows each, so
  // some listed firms are missing there (they contribute 0 and are counted in meta.missingKeys).
  const firms = Array.from(catalogRows('sme-credit-score', 'bank', n, 1), (r) => String(r.firm_id));
  await runScenario(
    ctx,
    'sme-credit-score',
    n,
    () => ({ firms }),
    `sme-credit-score, ${n.toLocaleString('en-US')} firms listed`,
    30,
    n <= 20_000,
  );
}

export async function benchEnergy(ctx: BenchContext, n: number): Promise<void> {
  ctx.report.heading(S3);
  await runScenario(
    ctx,
    'energy-intensity-by-sector',
    n,
    () => ({}),
    `energy-intensity-by-sector, ${n.toLocaleString('en-US')} firms per provider (PSI)`,
    60,
    n <= 20_000,
  );
}

/** Two parties with n ids each, half shared: blind, re-blind, intersect, resolve (one thread). */
export async function benchPsiDirect(ctx: BenchContext, n: number, suites: SuiteName[]): Promise<void> {
  const { report } = ctx;
  report.heading(S3);
  const a = Array.from({ length: n }, (_, i) => `FP${String(i).padStart(9, '0')}`);
  const b = Array.from({ length: n }, (_, i) => `FP${String(i + n / 2).padStart(9, '0')}`);
  for (const suite of suites) {
    const pa = new PsiParty('bench-session', { suite });
    const pb = new PsiParty('bench-session', { suite });
    try {
      let t = performance.now();
      const ma = pa.blind(a);
      const mb = pb.blind(b);
      const blindMs = performance.now() - t;
      t = performance.now();
      const fa = pb.reblind(ma);
      const fb = pa.reblind(mb);
      const reblindMs = performance.now() - t;
      t = performance.now();
      const r = intersect([fa, fb]);
      const ids = pa.resolve(r.positions[0]!);
      const intersectMs = performance.now() - t;
      const total = blindMs + reblindMs + intersectMs;
      report.add({
        section: S3,
        name: `PSI direct (libs/psi, ${suite}), 2 × ${n.toLocaleString('en-US')} ids, one thread`,
        value: total / 1000,
        unit: 's',
        note: `blind ${(blindMs / 1000).toFixed(2)} s, re-blind ${(reblindMs / 1000).toFixed(2)} s, intersect+resolve ${(intersectMs / 1000).toFixed(2)} s; ${ids.length} shared (expected ${n / 2})`,
      });
    } finally {
      pa.destroy();
      pb.destroy();
    }
  }
}
