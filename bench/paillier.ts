/** Item 2: the per-value Paillier baseline, extrapolated, against this project's HE stage at 10^5. */
import type { BenchContext } from './lib/context.js';
import { benchPaillier } from './lib/paillier.js';

const S2 = '2 per-value Paillier (paillier-bigint, 2048-bit) vs this project';

export async function benchPaillierSection(ctx: BenchContext, sample: number): Promise<void> {
  const { report } = ctx;
  report.heading(S2);
  const n = 100_000;
  const r = await benchPaillier(sample, n);
  report.add({ section: S2, name: 'key generation (2048-bit)', value: r.keygenMs / 1000, unit: 's' });
  report.add({
    section: S2,
    name: `sample size (values encrypted and added)`,
    value: r.sample,
    ...(ctx.quick ? { note: 'quick run: the full run uses 2,000' } : {}),
  });
  report.add({
    section: S2,
    name: 'encrypt one value',
    value: r.encryptUs / 1000,
    unit: 'ms',
    note: `CPU ${(r.encryptCpuUs / 1000).toFixed(1)} ms`,
  });
  report.add({ section: S2, name: 'add one ciphertext', value: r.addUs, unit: 'µs' });
  report.add({
    section: S2,
    name: 'decrypt the sum',
    value: r.decryptMs,
    unit: 'ms',
    note: r.sumOk ? 'decrypted sum equals the plaintext sum' : 'DECRYPTED SUM WRONG',
  });
  report.add({
    section: S2,
    name: `sum and mean of ${n.toLocaleString('en-US')} values, one core (EXTRAPOLATED from the sample)`,
    value: r.extrapolatedMs / 1000,
    unit: 's',
  });
  report.add({ section: S2, name: `same in CPU time (EXTRAPOLATED)`, value: r.extrapolatedCpuMs / 1000, unit: 's' });
  report.add({ section: S2, name: 'same, ideal 2-core split (extrapolated wall / 2)', value: r.extrapolatedMs / 2000, unit: 's' });
  const he = ctx.shared.waterHeStageMs;
  if (he === undefined) {
    report.note(
      S2,
      'the water benchmark did not run, so there is no project time to compare with (run without --only, or --only water,paillier)',
    );
    return;
  }
  const rows = ctx.shared.waterHeStageRows ?? 0;
  const scaled = (he * n) / rows;
  report.add({
    section: S2,
    name: `this project, HE stage at ${rows.toLocaleString('en-US')} meters (encrypt + upload + evaluate + decrypt)`,
    value: he / 1000,
    unit: 's',
    ...(rows !== n ? { note: `scaled linearly to 10^5: ${(scaled / 1000).toFixed(2)} s` } : {}),
  });
  const ratio = r.extrapolatedMs / scaled;
  report.add({
    section: S2,
    name: 'speed-up vs per-value Paillier on one core',
    value: ratio,
    unit: '×',
    target: '≥ 1,000×',
    met: ratio >= 1000,
    note: 'the project computes 4 metrics × 10 districts, Paillier one sum',
  });
  report.add({ section: S2, name: 'speed-up vs Paillier ideally split over 2 cores', value: ratio / 2, unit: '×' });
  if (ctx.shared.waterCpuMs !== undefined) {
    const cpuRatio = r.extrapolatedCpuMs / ((ctx.shared.waterCpuMs * n) / rows);
    report.add({
      section: S2,
      name: "speed-up in CPU time: Paillier CPU / the whole job's CPU (all threads, server and consumer)",
      value: cpuRatio,
      unit: '×',
      target: '≥ 1,000×',
      met: cpuRatio >= 1000,
      note: 'robust on a loaded machine: counts work, not waiting for a core',
    });
  }
  if (ctx.shared.waterTotalMs !== undefined) {
    report.add({
      section: S2,
      name: 'speed-up vs Paillier (one core), counting the whole job end to end',
      value: r.extrapolatedMs / ((ctx.shared.waterTotalMs * n) / rows),
      unit: '×',
    });
  }
}
