/**
 * Item 5: the ledger. `runLedgerBench` (libs/ledger-core: in-memory tree store) and, when present,
 * `runLedgerSqlBench` (bench/ledger-sql.ts, another helper's: the ledger on the database).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runLedgerBench } from '#ledger-core';
import type { BenchContext } from './lib/context.js';

const S5 = '5 ledger';

export async function benchLedger(ctx: BenchContext, leaves: number): Promise<void> {
  const { report } = ctx;
  report.heading(S5);
  const r = await runLedgerBench({ quick: ctx.quick, leaves });
  const n = r.leaves.toLocaleString('en-US');
  report.add({ section: S5, name: `appends per second (libs/ledger-core, in-memory store, batches of ${r.batchSize})`, value: r.appendsPerSecond, unit: '/s', target: '≥ 5,000/s', met: r.appendsPerSecond >= 5000, note: `${n} in ${r.appendSeconds} s wall, ${r.appendCpuSeconds} s CPU` });
  report.add({ section: S5, name: `inclusion proof at ${n} leaves (produce)`, value: r.inclusionProof.meanMicros, unit: 'µs', note: `p50 ${r.inclusionProof.p50Micros} µs, p99 ${r.inclusionProof.p99Micros} µs, ${r.inclusionProof.samples} samples` });
  report.add({ section: S5, name: 'inclusion proof verification', value: r.inclusionVerify.meanMicros, unit: 'µs' });
  report.add({ section: S5, name: `consistency proof to ${n} leaves (produce)`, value: r.consistencyProof.meanMicros, unit: 'µs' });
  const target = leaves >= 1_000_000 ? { target: '≤ 30 s at 10^6', met: r.fullVerifySeconds <= 30 } : { note: 'quick run: the target is for 10^6 entries' };
  report.add({ section: S5, name: `full verification of ${n} entries`, value: r.fullVerifySeconds, unit: 's', ...target, ...(leaves >= 1_000_000 ? { note: `${r.fullVerifyCpuSeconds} s CPU, ${r.verifiedEntriesPerSecond.toLocaleString('en-US')} entries/s` } : {}) });

  // The database-backed ledger bench, if its author has landed it (dist/bench/ledger-sql.js).
  const file = fileURLToPath(new URL('./ledger-sql.js', import.meta.url));
  if (!existsSync(file)) {
    report.note(S5, 'bench/ledger-sql.ts (runLedgerSqlBench) is not there yet: only the in-memory ledger-core figures are shown');
    return;
  }
  const mod = (await import(new URL('./ledger-sql.js', import.meta.url).href)) as Record<string, unknown>;
  const fn = mod.runLedgerSqlBench;
  if (typeof fn !== 'function') {
    report.note(S5, 'bench/ledger-sql.js has no runLedgerSqlBench export');
    return;
  }
  const out: unknown = await (fn as (o: { quick: boolean; leaves: number }) => Promise<unknown>)({ quick: ctx.quick, leaves });
  const format = mod.formatLedgerSqlBench;
  if (typeof format === 'function') process.stdout.write(String((format as (x: unknown) => string)(out)) + '\n');
  reportObject(ctx, 'ledger on the database (runLedgerSqlBench)', out);
}

/** Every numeric leaf of a result object as a figure, named by its path; targets where the names say what they are. */
function reportObject(ctx: BenchContext, prefix: string, value: unknown, path = ''): void {
  if (typeof value === 'number') {
    const name = `${prefix}: ${path}`;
    const lower = path.toLowerCase();
    const extra = /appendspersecond$/.test(lower) ? { target: '≥ 5,000/s', met: value >= 5000 }
      : /fullverifyseconds$/.test(lower) ? { target: '≤ 30 s at 10^6', met: value <= 30 } : {};
    ctx.report.add({ section: S5, name, value, ...extra });
  } else if (typeof value === 'string' || typeof value === 'boolean') {
    ctx.report.add({ section: S5, name: `${prefix}: ${path}`, value: String(value) });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => reportObject(ctx, prefix, v, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) reportObject(ctx, prefix, v, path ? `${path}.${k}` : k);
  }
}
