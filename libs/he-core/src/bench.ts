/**
 * Benchmark of the HE core (`npm run bench:he`, or the `he` section of `npm run bench`). Per-operation
 * medians in microseconds, measured on raw SEAL objects so that each SEAL operation is timed alone:
 * CKKS at N=4096 with sealbench's BFVDefault(4096) primes [36, 36, 37] (no preset of ours: 109 bits hold
 * no useful circuit at scale 2^40, but it compares with the native figures), at N=8192 with the depth-2
 * preset [33, 33, 40, 40, 60] (five primes, like sealbench's BFVDefault(8192) used for the native figures
 * in `NATIVE_SEAL_US` below) and, in non-quick runs, at N=16384 (depth-3 preset). Then library-level
 * operations of both engines (CKKS: encrypt incl. encoding, multiply + relinearise + rescale, sum of all
 * slots, save, load, decrypt; BFV at N=8192 sized for 5·10^7: the same plus rotations), and the worker
 * pool encrypting 200 ciphertexts with 1 and 2 threads.
 * @module
 */
import { availableParallelism, loadavg } from 'node:os';
import { BfvEngine, bfvStepsForWidth } from './bfv.js';
import { HeEngine } from './engine.js';
import { encodePublicKeyset } from './keyset.js';
import { bfvParamsForMagnitude, ckksParamsForDepth, type HeParams } from './params.js';
import { HePool } from './pool.js';
import { rotationStepsForWidth } from './rotation.js';
import { loadSeal } from './seal.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * CPU µs per call of the last {@link time} measurement (process CPU time, user + system). On a shared
 * machine wall-clock medians include waiting for a core; CPU time does not, so both are reported.
 */
let lastCpuUs = 0;

/** Median wall-clock µs of `fn` over `n` runs after one warm-up run; `cleanup` receives each result untimed. */
function time<T>(n: number, fn: () => T, cleanup: (r: T) => void): number {
  cleanup(fn());
  const runs: number[] = [];
  let cpu = 0;
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = fn();
    runs.push((performance.now() - t0) * 1000);
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
    cleanup(r);
  }
  lastCpuUs = cpu / n;
  return median(runs);
}

/** Records `<key>_us` (wall median) and `<key>_cpu_us` (mean CPU) for one measurement. */
function record(out: Record<string, number>, key: string, wallUs: number): void {
  out[`${key}_us`] = wallUs;
  out[`${key}_cpu_us`] = lastCpuUs;
}

/**
 * Native SEAL 4.1.2 `sealbench` figures (µs, one thread, g++ 12 -O3) measured on this machine kind,
 * measured once with sealbench and kept here as constants. The bench reports `<op>_cpu_vs_native` = our CPU µs / these.
 * sealbench uses CoeffModulus::BFVDefault(N): 5 primes at N=8192 (like our depth-2 preset) but 9 at
 * N=16384 (our depth-3 preset has 6), so the N=16384 ratios flatter node-seal.
 */
export const NATIVE_SEAL_US: Readonly<Record<'n4096' | 'n8192' | 'n16384', Readonly<Record<string, number>>>> = {
  n4096: { encrypt: 859, multiply_no_relin: 81, relinearize: 451, rescale: 127, rotate_one_step: 451, decrypt: 28 },
  n8192: { encrypt: 2667, multiply_no_relin: 317, relinearize: 2282, rescale: 546, rotate_one_step: 2309, decrypt: 109 },
  n16384: { encrypt: 9330, multiply_no_relin: 1300, relinearize: 15151, rescale: 2302, rotate_one_step: 15658, decrypt: 449 },
};

function addNativeRatios(prefix: 'n4096' | 'n8192' | 'n16384', out: Record<string, number>): void {
  for (const [op, native] of Object.entries(NATIVE_SEAL_US[prefix])) {
    const cpu = out[`${prefix}.${op}_cpu_us`];
    if (cpu !== undefined) out[`${prefix}.${op}_cpu_vs_native`] = cpu / native;
  }
}

/** CKKS parameters for timing raw SEAL operations (any degree SEAL accepts, not only our presets). */
type RawParams = Pick<HeParams, 'coeffModulusBits' | 'scaleBits'> & { polyModulusDegree: number };

async function rawSealOps(params: RawParams, n: number, prefix: string, out: Record<string, number>): Promise<void> {
  const seal = await loadSeal();
  const parms = seal.EncryptionParameters(seal.SchemeType.ckks);
  parms.setPolyModulusDegree(params.polyModulusDegree);
  const cm = seal.CoeffModulus.Create(params.polyModulusDegree, Int32Array.from(params.coeffModulusBits));
  parms.setCoeffModulus(cm);
  cm.delete();
  const ctx = seal.Context(parms, true, seal.SecurityLevel.tc128);
  parms.delete();
  const keygen = seal.KeyGenerator(ctx);
  const pk = keygen.createPublicKey();
  const sk = keygen.secretKey();
  const rk = keygen.createRelinKeys();
  const gk = keygen.createGaloisKeys(Int32Array.from([1]));
  const encoder = seal.CKKSEncoder(ctx);
  const encryptor = seal.Encryptor(ctx, pk);
  const decryptor = seal.Decryptor(ctx, sk);
  const ev = seal.Evaluator(ctx);
  const scale = 2 ** params.scaleBits;
  const values = Float64Array.from({ length: encoder.slotCount }, (_, i) => (i % 100) / 100);
  const pt = encoder.encode(values, scale) as ReturnType<typeof seal.PlainText>;
  const ct = encryptor.encrypt(pt) as ReturnType<typeof seal.CipherText>;
  const del = (o: { delete(): void } | void) => {
    if (o) o.delete();
  };
  try {
    record(
      out,
      `${prefix}.encode`,
      time(n, () => encoder.encode(values, scale), del),
    );
    record(
      out,
      `${prefix}.encrypt`,
      time(n, () => encryptor.encrypt(pt), del),
    );
    record(
      out,
      `${prefix}.add`,
      time(n, () => ev.add(ct, ct), del),
    );
    record(
      out,
      `${prefix}.multiply_no_relin`,
      time(n, () => ev.multiply(ct, ct), del),
    );
    const prod = ev.multiply(ct, ct) as ReturnType<typeof seal.CipherText>;
    record(
      out,
      `${prefix}.relinearize`,
      time(n, () => ev.relinearize(prod, rk), del),
    );
    const lin = ev.relinearize(prod, rk) as ReturnType<typeof seal.CipherText>;
    record(
      out,
      `${prefix}.rescale`,
      time(n, () => ev.rescaleToNext(lin), del),
    );
    record(
      out,
      `${prefix}.rotate_one_step`,
      time(n, () => ev.rotateVector(ct, 1, gk), del),
    );
    record(
      out,
      `${prefix}.decrypt`,
      time(n, () => decryptor.decrypt(ct), del),
    );
    record(
      out,
      `${prefix}.save_raw`,
      time(
        n,
        () => ct.saveArray(seal.ComprModeType.none),
        () => undefined,
      ),
    );
    out[`${prefix}.ciphertext_bytes`] = ct.saveArray(seal.ComprModeType.none).length;
    del(prod);
    del(lin);
  } finally {
    for (const o of [ct, pt, ev, decryptor, encryptor, encoder, gk, rk, sk, pk, keygen, ctx]) o.delete();
  }
}

async function engineOps(params: HeParams, n: number, prefix: string, out: Record<string, number>): Promise<Uint8Array> {
  const engine = await HeEngine.create(params);
  try {
    const t0 = performance.now();
    const keys = engine.generateKeyset({ galoisSteps: rotationStepsForWidth(engine.slots), relin: true });
    out[`${prefix}.keygen_full_sum_ms`] = performance.now() - t0;
    const pubBytes = encodePublicKeyset(keys.publicKeyset);
    out[`${prefix}.public_keyset_bytes`] = pubBytes.length;
    const pk = engine.usePublicKeyset(keys.publicKeyset);
    const sk = engine.useSecretKeyset(keys);
    const values = Float64Array.from({ length: engine.slots }, (_, i) => (i % 100) / 100);
    const free = (c: Parameters<HeEngine['free']>[0]) => engine.free(c);
    record(
      out,
      `${prefix}.engine_encrypt`,
      time(n, () => engine.encrypt(pk, values), free),
    );
    const ct = engine.encrypt(pk, values);
    record(
      out,
      `${prefix}.engine_multiply_relin_rescale`,
      time(n, () => engine.multiply(ct, ct, pk), free),
    );
    record(
      out,
      `${prefix}.engine_multiply_plain`,
      time(n, () => engine.multiplyPlain(ct, values), free),
    );
    record(
      out,
      `${prefix}.sum_slots_all`,
      time(Math.max(3, n >> 2), () => engine.sumSlots(ct, engine.slots, pk), free),
    );
    record(
      out,
      `${prefix}.engine_save`,
      time(
        n,
        () => engine.save(ct),
        () => undefined,
      ),
    );
    const bytes = engine.save(ct);
    record(
      out,
      `${prefix}.engine_load`,
      time(n, () => engine.load(bytes), free),
    );
    record(
      out,
      `${prefix}.engine_decrypt`,
      time(
        n,
        () => engine.decrypt(sk, ct),
        () => undefined,
      ),
    );
    engine.free(ct);
    return pubBytes;
  } finally {
    engine.dispose();
  }
}

/** Library-level BFV operations at N=8192 with the plain modulus sized for 5·10^7 (10^6 rows bounded by 50). */
async function bfvOps(n: number, prefix: string, out: Record<string, number>): Promise<void> {
  const params = bfvParamsForMagnitude(5e7);
  const engine = await BfvEngine.create(params);
  try {
    const t0 = performance.now();
    const keys = engine.generateKeyset({ galoisSteps: bfvStepsForWidth(engine.slots, params), relin: true });
    out[`${prefix}.keygen_full_sum_ms`] = performance.now() - t0;
    out[`${prefix}.public_keyset_bytes`] = encodePublicKeyset(keys.publicKeyset).length;
    out[`${prefix}.plain_modulus_bits`] = params.plainModulusBits;
    const pk = engine.usePublicKeyset(keys.publicKeyset);
    const sk = engine.useSecretKeyset(keys);
    const values = Array.from({ length: engine.slots }, (_, i) => i % 51);
    const mask = Array.from({ length: engine.slots }, (_, i) => i % 2);
    const free = (c: Parameters<BfvEngine['free']>[0]) => engine.free(c);
    record(
      out,
      `${prefix}.bfv_encrypt`,
      time(n, () => engine.encrypt(pk, values, { bound: 50 }), free),
    );
    const ct = engine.encrypt(pk, values, { bound: 50 });
    out[`${prefix}.bfv_fresh_noise_budget_bits`] = engine.noiseBudget(sk, ct);
    record(
      out,
      `${prefix}.bfv_add`,
      time(n, () => engine.add(ct, ct), free),
    );
    record(
      out,
      `${prefix}.bfv_multiply_plain`,
      time(n, () => engine.multiplyPlain(ct, mask), free),
    );
    record(
      out,
      `${prefix}.bfv_multiply_relin`,
      time(n, () => engine.multiply(ct, ct, pk), free),
    );
    record(
      out,
      `${prefix}.bfv_rotate_rows_one_step`,
      time(n, () => engine.rotateRows(ct, 1, pk), free),
    );
    record(
      out,
      `${prefix}.bfv_sum_all`,
      time(Math.max(3, n >> 2), () => engine.sumAll(ct, pk), free),
    );
    record(
      out,
      `${prefix}.bfv_save`,
      time(
        n,
        () => engine.save(ct),
        () => undefined,
      ),
    );
    const bytes = engine.save(ct);
    out[`${prefix}.bfv_ciphertext_bytes`] = bytes.length;
    record(
      out,
      `${prefix}.bfv_load`,
      time(n, () => engine.load(bytes), free),
    );
    record(
      out,
      `${prefix}.bfv_decrypt`,
      time(
        n,
        () => engine.decrypt(sk, ct),
        () => undefined,
      ),
    );
    engine.free(ct);
  } finally {
    engine.dispose();
  }
}

/**
 * Best wall time (ms) of encrypting `vectors` with a pool of `threads`, and the process CPU time per wall
 * time of that run (about `threads` when the threads really ran in parallel; lower when the machine's
 * cores are busy with other work).
 */
async function poolEncrypt(
  threads: number,
  pub: Uint8Array,
  vectors: Float64Array[],
  repeats: number,
): Promise<{ ms: number; cpuPerWall: number }> {
  const pool = await HePool.create({ threads });
  try {
    await pool.encryptMany(pub, vectors.slice(0, 2 * threads)); // keysets and engines loaded per thread
    let best = { ms: Infinity, cpuPerWall: 0 };
    for (let i = 0; i < repeats; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await pool.encryptMany(pub, vectors);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (ms < best.ms) best = { ms, cpuPerWall: (c.user + c.system) / 1000 / ms };
    }
    return best;
  } finally {
    await pool.close();
  }
}

/**
 * Runs the benchmark. Keys: `n<N>.<op>_us` (wall-clock median) and `n<N>.<op>_cpu_us` (CPU time per
 * call), sizes in bytes, pool wall times in ms (best of the repeats), host load averages (a loaded
 * machine inflates wall times and hides the pool's speed-up).
 */
export async function runHeBench(opts: { quick: boolean }): Promise<Record<string, number>> {
  const n = opts.quick ? 10 : 40;
  const out: Record<string, number> = { 'host.cpus': availableParallelism(), 'host.loadavg1_at_start': loadavg()[0]! };
  await rawSealOps({ polyModulusDegree: 4096, coeffModulusBits: [36, 36, 37], scaleBits: 30 }, n, 'n4096', out);
  addNativeRatios('n4096', out);
  const p8 = ckksParamsForDepth(2);
  await rawSealOps(p8, n, 'n8192', out);
  addNativeRatios('n8192', out);
  const pub = await engineOps(p8, n, 'n8192', out);
  if (!opts.quick) {
    const p16 = ckksParamsForDepth(3);
    await rawSealOps(p16, Math.max(5, n >> 2), 'n16384', out);
    addNativeRatios('n16384', out);
    await engineOps(p16, Math.max(5, n >> 2), 'n16384', out);
  }
  await bfvOps(n, 'bfv8192', out);
  const vectors = Array.from({ length: 200 }, (_, k) => Float64Array.from({ length: 4096 }, (_, i) => ((i * 7 + k) % 1000) / 1000));
  const repeats = opts.quick ? 1 : 3;
  const one = await poolEncrypt(1, pub, vectors, repeats);
  const two = await poolEncrypt(2, pub, vectors, repeats);
  out['pool.encrypt200.threads1_ms'] = one.ms;
  out['pool.encrypt200.threads1_cpu_per_wall'] = one.cpuPerWall;
  out['pool.encrypt200.threads2_ms'] = two.ms;
  out['pool.encrypt200.threads2_cpu_per_wall'] = two.cpuPerWall;
  out['pool.encrypt200.speedup'] = out['pool.encrypt200.threads1_ms'] / out['pool.encrypt200.threads2_ms'];
  out['host.loadavg1_at_end'] = loadavg()[0]!;
  return out;
}
