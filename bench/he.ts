/**
 * HE core per-operation costs against native SEAL (../shared/STACK.md, "The floor"), and the
 * 2-thread pool speed-up, from `runHeBench` (libs/he-core/src/bench.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './lib/context.js';

const SH = 'HE core: per-operation cost vs native SEAL';

/** STACK.md, native SEAL 4.1.2 µs per op, one thread (multiply = multiply + relinearize + rescale). */
const NATIVE: Record<number, { mul: number }> = {
  8192: { mul: 317 + 2282 + 546 },
  16384: { mul: 1300 + 15151 + 2302 },
};

type HeBenchFn = (o: { quick: boolean }) => Promise<Record<string, number>>;

async function findRunHeBench(): Promise<HeBenchFn | null> {
  const core = (await import('#he-core')) as Record<string, unknown>;
  if (typeof core.runHeBench === 'function') return core.runHeBench as HeBenchFn;
  // Not (yet) on the library's public API: its module, as built next to this one.
  const url = new URL('../libs/he-core/src/bench.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null;
  const mod = (await import(url.href)) as Record<string, unknown>;
  return typeof mod.runHeBench === 'function' ? (mod.runHeBench as HeBenchFn) : null;
}

/** runHeBench keys (`n<N>.<op>_us`) → the native SEAL figure of STACK.md for that operation. */
const RAW: { key: string; label: string; native: (n: number) => number | undefined }[] = [
  { key: 'encode', label: 'encode (raw SEAL)', native: () => undefined },
  { key: 'encrypt', label: 'encrypt, public key (raw SEAL)', native: (n) => NATIVE_RAW[n]?.encrypt },
  { key: 'add', label: 'add (raw SEAL)', native: () => undefined },
  { key: 'multiply_no_relin', label: 'multiply, no relinearisation (raw SEAL)', native: (n) => NATIVE_RAW[n]?.multiply },
  { key: 'relinearize', label: 'relinearize (raw SEAL)', native: (n) => NATIVE_RAW[n]?.relinearize },
  { key: 'rescale', label: 'rescale (raw SEAL)', native: (n) => NATIVE_RAW[n]?.rescale },
  { key: 'rotate_one_step', label: 'rotate one step (raw SEAL)', native: (n) => NATIVE_RAW[n]?.rotate },
  { key: 'decrypt', label: 'decrypt (raw SEAL)', native: (n) => NATIVE_RAW[n]?.decrypt },
  { key: 'save_raw', label: 'save, uncompressed (raw SEAL)', native: () => undefined },
  { key: 'engine_encrypt', label: 'library: encode + encrypt', native: () => undefined },
  { key: 'engine_multiply_relin_rescale', label: 'library: multiply + relinearize + rescale', native: (n) => NATIVE[n]?.mul },
  { key: 'engine_multiply_plain', label: 'library: multiply by plaintext (encode + rescale)', native: () => undefined },
  { key: 'sum_slots_all', label: 'library: sum of all slots (log2 rotations + adds)', native: () => undefined },
  { key: 'engine_save', label: 'library: save (with header + SHA-256)', native: () => undefined },
  { key: 'engine_load', label: 'library: load (checks + SHA-256)', native: () => undefined },
  { key: 'engine_decrypt', label: 'library: decrypt + decode', native: () => undefined },
];

/** STACK.md, "The floor": native SEAL 4.1.2, µs, one thread. */
const NATIVE_RAW: Record<number, Record<string, number>> = {
  8192: { encrypt: 2667, multiply: 317, relinearize: 2282, rescale: 546, rotate: 2309, decrypt: 109 },
  16384: { encrypt: 9330, multiply: 1300, relinearize: 15151, rescale: 2302, rotate: 15658, decrypt: 449 },
};

export async function benchHe(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  report.heading(SH);
  const run = await findRunHeBench();
  if (!run) throw new Error('libs/he-core has no runHeBench (libs/he-core/src/bench.ts)');
  const r = await run({ quick: ctx.quick });
  for (const n of [8192, 16384]) {
    const prefix = `n${n}`;
    if (r[`${prefix}.encrypt_us`] === undefined) continue;
    for (const op of RAW) {
      const wall = r[`${prefix}.${op.key}_us`];
      const cpu = r[`${prefix}.${op.key}_cpu_us`];
      if (wall === undefined) continue;
      const native = op.native(n);
      const notes = [`CPU ${cpu?.toFixed(0) ?? '?'} µs`];
      if (native) notes.push(`native SEAL ${native} µs: wall ${(wall / native).toFixed(2)}×, CPU ${cpu ? (cpu / native).toFixed(2) : '?'}×`);
      report.add({ section: SH, name: `N=${n}: ${op.label}`, value: wall, unit: 'µs', note: notes.join('; ') });
    }
    const bytes = r[`${prefix}.ciphertext_bytes`];
    if (bytes) report.add({ section: SH, name: `N=${n}: ciphertext size (uncompressed)`, value: bytes / 1024, unit: 'KiB' });
    const keyset = r[`${prefix}.public_keyset_bytes`];
    if (keyset) report.add({ section: SH, name: `N=${n}: public keyset (all power-of-2 rotations, seeded + zstd)`, value: keyset / 2 ** 20, unit: 'MiB', note: `key generation ${(r[`${prefix}.keygen_full_sum_ms`] ?? NaN).toFixed(0)} ms` });
  }
  const one = r['pool.encrypt200.threads1_ms'];
  const two = r['pool.encrypt200.threads2_ms'];
  const speedup = r['pool.encrypt200.speedup'];
  if (one !== undefined && two !== undefined && speedup !== undefined) {
    report.add({ section: SH, name: 'pool: encrypt 200 ciphertexts, 1 thread', value: one, unit: 'ms' });
    report.add({ section: SH, name: 'pool: encrypt 200 ciphertexts, 2 threads', value: two, unit: 'ms' });
    report.add({ section: SH, name: 'pool speed-up, 2 threads / 1', value: speedup, unit: '×', target: '≥ 1.6× (issue 3)', met: speedup >= 1.6 });
  }
  report.note(SH, `host load average during the HE bench: ${r['host.loadavg1_at_start']?.toFixed(2)} → ${r['host.loadavg1_at_end']?.toFixed(2)} (a loaded host inflates wall times; CPU times are less affected)`);
}
