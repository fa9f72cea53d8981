/**
 * Item 2: the per-value way (as FATE and SecretFlow HEU use additive HE): Paillier with a 2048-bit
 * modulus (paillier-bigint), one value per ciphertext. The provider encrypts every value, the
 * aggregator multiplies the ciphertexts (homomorphic addition), the consumer decrypts the sum and
 * divides by the public count for the mean. Timed on a sample and extrapolated linearly to `n` values:
 * every value costs one encryption and one addition, and the decryption is done once.
 */
import { generateRandomKeys } from 'paillier-bigint';

export interface PaillierResult {
  sample: number;
  keygenMs: number;
  encryptUs: number;
  addUs: number;
  decryptMs: number;
  /** one core: sample encryptions + additions + one decryption, extrapolated to n values */
  extrapolatedMs: number;
  /** the same from CPU time (user + system) instead of wall time: robust on a shared machine */
  extrapolatedCpuMs: number;
  encryptCpuUs: number;
  n: number;
  sumOk: boolean;
}

/** Fixed-point values with 2 decimals (0..50 m3), as an integer plaintext needs. */
const SCALE = 100n;

export async function benchPaillier(sample: number, n: number, bits = 2048): Promise<PaillierResult> {
  if (!Number.isInteger(sample) || sample < 2) throw new RangeError(`sample must be an integer >= 2, got ${sample}`);
  if (!Number.isInteger(n) || n < sample) throw new RangeError(`n must be an integer >= sample, got ${n}`);
  let t = performance.now();
  const { publicKey, privateKey } = await generateRandomKeys(bits);
  const keygenMs = performance.now() - t;
  const values = Array.from({ length: sample }, (_, i) => BigInt(Math.round((((i * 7919) % 5000) / 100) * Number(SCALE))));
  const cts: bigint[] = new Array(sample);
  const c0 = process.cpuUsage();
  t = performance.now();
  for (let i = 0; i < sample; i++) cts[i] = publicKey.encrypt(values[i]!);
  const encryptMs = performance.now() - t;
  t = performance.now();
  let acc = cts[0]!;
  for (let i = 1; i < sample; i++) acc = publicKey.addition(acc, cts[i]!);
  const addMs = performance.now() - t;
  t = performance.now();
  const sum = privateKey.decrypt(acc);
  const decryptMs = performance.now() - t;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  const wallMs = encryptMs + addMs + decryptMs;
  const want = values.reduce((a, b) => a + b, 0n);
  const encryptUs = (encryptMs * 1000) / sample;
  const addUs = (addMs * 1000) / (sample - 1);
  return {
    sample,
    keygenMs,
    encryptUs,
    addUs,
    decryptMs,
    n,
    extrapolatedMs: (n * encryptUs + (n - 1) * addUs) / 1000 + decryptMs,
    // CPU of the whole sample, apportioned like its wall time, scaled to n
    extrapolatedCpuMs: (((n * encryptUs + (n - 1) * addUs) / 1000 + decryptMs) * cpuMs) / wallMs,
    encryptCpuUs: (encryptUs * cpuMs) / wallMs,
    sumOk: sum === want,
  };
}
