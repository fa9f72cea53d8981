/**
 * HE core per-operation costs against native SEAL (sealbench figures in `NATIVE_SEAL_US`, libs/he-core/src/bench.ts), the BFV engine's
 * operations, and the 2-thread pool speed-up, from `runHeBench` (libs/he-core/src/bench.ts).
 */
import { NATIVE_SEAL_US, runHeBench } from '#he-core';
import type { BenchContext } from './lib/context.js';

const SH = 'HE core: per-operation cost vs native SEAL';

type Prefix = keyof typeof NATIVE_SEAL_US;

/** Native SEAL µs for a runHeBench key at degree `prefix` (sealbench figures in libs/he-core/src/bench.ts), where sealbench figures in libs/he-core/src/bench.ts has one. */
function native(prefix: Prefix, key: string): number | undefined {
  const t = NATIVE_SEAL_US[prefix];
  if (key === 'engine_multiply_relin_rescale') return t.multiply_no_relin! + t.relinearize! + t.rescale!;
  return t[key];
}

/** runHeBench keys (`n<N>.<op>_us`) and their labels. */
const CKKS_OPS: { key: string; label: string }[] = [
  { key: 'encode', label: 'encode (raw SEAL)' },
  { key: 'encrypt', label: 'encrypt, public key (raw SEAL)' },
  { key: 'add', label: 'add (raw SEAL)' },
  { key: 'multiply_no_relin', label: 'multiply, no relinearisation (raw SEAL)' },
  { key: 'relinearize', label: 'relinearize (raw SEAL)' },
  { key: 'rescale', label: 'rescale (raw SEAL)' },
  { key: 'rotate_one_step', label: 'rotate one step (raw SEAL)' },
  { key: 'decrypt', label: 'decrypt (raw SEAL)' },
  { key: 'save_raw', label: 'save, uncompressed (raw SEAL)' },
  { key: 'engine_encrypt', label: 'library: encode + encrypt' },
  { key: 'engine_multiply_relin_rescale', label: 'library: multiply + relinearize + rescale' },
  { key: 'engine_multiply_plain', label: 'library: multiply by plaintext (encode + rescale)' },
  { key: 'sum_slots_all', label: 'library: sum of all slots (log2 rotations + adds)' },
  { key: 'engine_save', label: 'library: save (with header + SHA-256)' },
  { key: 'engine_load', label: 'library: load (checks + SHA-256)' },
  { key: 'engine_decrypt', label: 'library: decrypt + decode' },
];

const BFV_OPS: { key: string; label: string }[] = [
  { key: 'bfv_encrypt', label: 'encode + encrypt (8,192 integers)' },
  { key: 'bfv_add', label: 'add' },
  { key: 'bfv_multiply_plain', label: 'multiply by plaintext (0/1 mask)' },
  { key: 'bfv_multiply_relin', label: 'multiply + relinearize' },
  { key: 'bfv_rotate_rows_one_step', label: 'rotate rows one step' },
  { key: 'bfv_sum_all', label: 'sum of all 8,192 slots (12 row rotations + row swap)' },
  { key: 'bfv_save', label: 'save (with header + SHA-256)' },
  { key: 'bfv_load', label: 'load (checks + SHA-256)' },
  { key: 'bfv_decrypt', label: 'decrypt + decode (noise budget checked)' },
];

export async function benchHe(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  report.heading(SH);
  const r = await runHeBench({ quick: ctx.quick });
  for (const n of [4096, 8192, 16384] as const) {
    const prefix: Prefix = `n${n}`;
    if (r[`${prefix}.encrypt_us`] === undefined) continue;
    for (const op of CKKS_OPS) {
      const wall = r[`${prefix}.${op.key}_us`];
      const cpu = r[`${prefix}.${op.key}_cpu_us`];
      if (wall === undefined) continue;
      const nat = native(prefix, op.key);
      const notes = [`CPU ${cpu?.toFixed(0) ?? '?'} µs`];
      if (nat) notes.push(`native SEAL ${nat} µs: wall ${(wall / nat).toFixed(2)}×, CPU ${cpu ? (cpu / nat).toFixed(2) : '?'}×`);
      report.add({ section: SH, name: `CKKS N=${n}: ${op.label}`, value: wall, unit: 'µs', note: notes.join('; ') });
    }
    const bytes = r[`${prefix}.ciphertext_bytes`];
    if (bytes) report.add({ section: SH, name: `CKKS N=${n}: ciphertext size (uncompressed)`, value: bytes / 1024, unit: 'KiB' });
    const keyset = r[`${prefix}.public_keyset_bytes`];
    if (keyset)
      report.add({
        section: SH,
        name: `CKKS N=${n}: public keyset (all power-of-2 rotations, seeded + zstd)`,
        value: keyset / 2 ** 20,
        unit: 'MiB',
        note: `key generation ${(r[`${prefix}.keygen_full_sum_ms`] ?? NaN).toFixed(0)} ms`,
      });
  }
  const bits = r['bfv8192.plain_modulus_bits'];
  for (const op of BFV_OPS) {
    const wall = r[`bfv8192.${op.key}_us`];
    if (wall === undefined) continue;
    report.add({
      section: SH,
      name: `BFV N=8192, ${bits}-bit t: ${op.label}`,
      value: wall,
      unit: 'µs',
      note: `CPU ${r[`bfv8192.${op.key}_cpu_us`]?.toFixed(0) ?? '?'} µs`,
    });
  }
  if (bits !== undefined) {
    report.add({
      section: SH,
      name: 'BFV N=8192: ciphertext size (uncompressed, with header)',
      value: (r['bfv8192.bfv_ciphertext_bytes'] ?? NaN) / 1024,
      unit: 'KiB',
    });
    report.add({
      section: SH,
      name: 'BFV N=8192: fresh noise budget',
      value: r['bfv8192.bfv_fresh_noise_budget_bits'] ?? NaN,
      unit: 'bits',
    });
    report.add({
      section: SH,
      name: 'BFV N=8192: public keyset (full-sum rotations + relinearisation, seeded + zstd)',
      value: (r['bfv8192.public_keyset_bytes'] ?? NaN) / 2 ** 20,
      unit: 'MiB',
      note: `key generation ${(r['bfv8192.keygen_full_sum_ms'] ?? NaN).toFixed(0)} ms`,
    });
  }
  const one = r['pool.encrypt200.threads1_ms'];
  const two = r['pool.encrypt200.threads2_ms'];
  const speedup = r['pool.encrypt200.speedup'];
  if (one !== undefined && two !== undefined && speedup !== undefined) {
    report.add({
      section: SH,
      name: 'pool: encrypt 200 ciphertexts, 1 thread',
      value: one,
      unit: 'ms',
      note: `CPU/wall ${r['pool.encrypt200.threads1_cpu_per_wall']?.toFixed(2)}`,
    });
    report.add({
      section: SH,
      name: 'pool: encrypt 200 ciphertexts, 2 threads',
      value: two,
      unit: 'ms',
      note: `CPU/wall ${r['pool.encrypt200.threads2_cpu_per_wall']?.toFixed(2)}`,
    });
    report.add({
      section: SH,
      name: 'pool speed-up, 2 threads / 1',
      value: speedup,
      unit: '×',
      target: '≥ 1.6× (issue 3)',
      met: speedup >= 1.6,
    });
  }
  report.note(
    SH,
    `host load average during the HE bench: ${r['host.loadavg1_at_start']?.toFixed(2)} → ${r['host.loadavg1_at_end']?.toFixed(2)} (a loaded host inflates wall times; CPU times are less affected)`,
  );
}
