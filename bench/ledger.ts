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
  report.add({
    section: S5,
    name: `appends per second (libs/ledger-core, in-memory store, batches of ${r.batchSize})`,
    value: r.appendsPerSecond,
    unit: '/s',
    target: '≥ 5,000/s',
    met: r.appendsPerSecond >= 5000,
    note: `${n} in ${r.appendSeconds} s wall, ${r.appendCpuSeconds} s CPU`,
  });
  report.add({
    section: S5,
    name: `inclusion proof at ${n} leaves (produce)`,
    value: r.inclusionProof.meanMicros,
    unit: 'µs',
    note: `p50 ${r.inclusionProof.p50Micros} µs, p99 ${r.inclusionProof.p99Micros} µs, ${r.inclusionProof.samples} samples`,
  });
  report.add({ section: S5, name: 'inclusion proof verification', value: r.inclusionVerify.meanMicros, unit: 'µs' });
  report.add({ section: S5, name: `consistency proof to ${n} leaves (produce)`, value: r.consistencyProof.meanMicros, unit: 'µs' });
  const target =
    leaves >= 1_000_000
      ? { target: '≤ 30 s at 10^6', met: r.fullVerifySeconds <= 30 }
      : { note: 'quick run: the target is for 10^6 entries' };
  report.add({
    section: S5,
    name: `full verification of ${n} entries`,
    value: r.fullVerifySeconds,
    unit: 's',
    ...target,
    ...(leaves >= 1_000_000
      ? { note: `${r.fullVerifyCpuSeconds} s CPU, ${r.verifiedEntriesPerSecond.toLocaleString('en-US')} entries/s` }
      : {}),
  });

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
  // Its options (bench/ledger-sql.ts LedgerSqlBenchOptions): log sizes, ascending; http = also verify through the CLI's HTTP path.
  const sizes = leaves >= 1_000_000 ? [100_000, leaves] : [leaves];
  const out = (await (fn as (o: { sizes: number[]; http: boolean }) => Promise<unknown>)({ sizes, http: !ctx.quick })) as {
    batch?: number;
    points?: {
      entries: number;
      appendsPerSecond: number;
      appendCpuSeconds?: number;
      appendSeconds?: number;
      databaseMB?: number;
      checkpointMs?: number;
      inclusionProofMs?: number;
      verifyDirectSeconds?: number;
      verifyDirectCpuSeconds?: number;
      verifyHttpSeconds?: number;
    }[];
  };
  for (const p of out.points ?? []) {
    const n = p.entries.toLocaleString('en-US');
    report.add({
      section: S5,
      name: `database ledger (LedgerService on SQLite): appends per second up to ${n} entries`,
      value: p.appendsPerSecond,
      unit: '/s',
      target: '≥ 5,000/s',
      met: p.appendsPerSecond >= 5000,
      note: `batches of ${out.batch ?? '?'}; ${p.appendCpuSeconds ?? '?'} s CPU; database ${p.databaseMB ?? '?'} MB`,
    });
    if (p.inclusionProofMs !== undefined)
      report.add({
        section: S5,
        name: `database ledger: inclusion proof at ${n} entries (SQL reads + proof)`,
        value: p.inclusionProofMs,
        unit: 'ms',
      });
    if (p.checkpointMs !== undefined)
      report.add({ section: S5, name: `database ledger: signed checkpoint at ${n}`, value: p.checkpointMs, unit: 'ms' });
    if (p.verifyDirectSeconds !== undefined) {
      report.add({
        section: S5,
        name: `database ledger: full verification of ${n} entries (direct)`,
        value: p.verifyDirectSeconds,
        unit: 's',
        ...(p.entries >= 1_000_000 ? { target: '≤ 30 s', met: p.verifyDirectSeconds <= 30 } : {}),
        note: `${p.verifyDirectCpuSeconds ?? '?'} s CPU`,
      });
    }
    if (p.verifyHttpSeconds !== undefined) {
      report.add({
        section: S5,
        name: `database ledger: full verification of ${n} entries over HTTP (dataspace ledger verify path)`,
        value: p.verifyHttpSeconds,
        unit: 's',
        ...(p.entries >= 1_000_000 ? { target: '≤ 30 s', met: p.verifyHttpSeconds <= 30 } : {}),
      });
    }
  }
}
