/**
 * HePool: worker threads (node:worker_threads), one SEAL instance each. SEAL is single-threaded, so
 * using both cores of a machine means one WebAssembly instance per thread; work on many independent
 * ciphertexts (encrypting chunks, summing, decrypting) is split into contiguous slices, one per thread.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HeError, isHeErrorCode } from './errors.js';
import { backgroundNice } from './priority.js';
import { decodeAnyPublicKeyset, decodeAnySecretKeyset } from './keyset.js';
import type { KeysetRef, PoolRequest, PoolResponse, PoolResult, PoolTask } from './pool-protocol.js';

interface Pending {
  resolve: (r: PoolResult) => void;
  reject: (e: Error) => void;
}

class PoolThread {
  readonly known = new Set<string>();
  readonly pending = new Map<number, Pending>();
  readonly worker: Worker;
  dead = false;
  online = false;
  constructor(onDeath: (t: PoolThread, e: Error) => void) {
    this.worker = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData: { nice: backgroundNice() } });
    this.worker.once('online', () => {
      this.online = true;
    });
    this.worker.on('message', (m: PoolResponse) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else
        p.reject(
          isHeErrorCode(m.error.code) ? new HeError(m.error.code, m.error.message.replace(/^[A-Z_]+: /, '')) : new Error(m.error.message),
        );
    });
    this.worker.on('error', (e) => onDeath(this, e));
    this.worker.on('exit', (code) => onDeath(this, new Error(`pool worker exited with code ${code}`)));
  }
}

/** Splits [0, n) into `parts` contiguous ranges of near-equal size (empty ranges dropped). */
function slices(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  const base = Math.floor(n / parts);
  let extra = n % parts;
  let start = 0;
  for (let i = 0; i < parts && start < n; i++) {
    const len = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    if (len === 0) continue;
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

export class HePool {
  readonly threads: number;
  private readonly workers: PoolThread[] = [];
  private nextId = 1;
  private closed = false;
  private readonly fingerprints = new WeakMap<Uint8Array, { fp: string; scheme: 'ckks' | 'bfv' }>();

  private constructor(threads: number) {
    this.threads = threads;
    for (let i = 0; i < threads; i++) this.workers.push(this.spawn());
  }

  /** Starts `threads` workers (default: os.availableParallelism()). */
  static async create(opts: { threads?: number } = {}): Promise<HePool> {
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new HeError('BAD_ARGUMENT', `threads must be an integer in 1..256, got ${String(threads)}`);
    }
    const pool = new HePool(threads);
    try {
      await Promise.all(
        pool.workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.worker.once('online', () => resolve());
              w.worker.once('error', reject);
            }),
        ),
      );
    } catch (e) {
      await pool.close(); // the threads that did start
      throw e;
    }
    return pool;
  }

  private spawn(): PoolThread {
    return new PoolThread((t, e) => {
      if (t.dead) return;
      t.dead = true;
      for (const p of t.pending.values()) p.reject(e);
      t.pending.clear();
      // Replace a thread that died while working (e.g. a SEAL abort); one that never came online is
      // not respawned (the worker module itself fails to load, so a new one would fail the same way).
      const i = this.workers.indexOf(t);
      if (i >= 0 && !this.closed && t.online) this.workers[i] = this.spawn();
    });
  }

  private send(t: PoolThread, task: PoolTask): Promise<PoolResult> {
    if (this.closed) return Promise.reject(new HeError('BAD_ARGUMENT', 'pool is closed'));
    if (t.dead) return Promise.reject(new Error('pool worker failed to start'));
    const id = this.nextId++;
    return new Promise<PoolResult>((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      const req: PoolRequest = { id, task };
      try {
        t.worker.postMessage(req);
      } catch (e) {
        // Not sent (e.g. a value that cannot be cloned): the thread never saw the keyset bytes either.
        t.pending.delete(id);
        reject(new HeError('BAD_ARGUMENT', `pool task could not be sent: ${e instanceof Error ? e.message : String(e)}`));
        return;
      }
      const ref = task.kind === 'decrypt' ? task.secret : task.keyset;
      if (ref.bytes) t.known.add(ref.fingerprint);
    });
  }

  /** Keyset reference for thread `t`: bytes unless `t` has received this fingerprint (see {@link send}). */
  private ref(t: PoolThread, fingerprint: string, bytes: Uint8Array): KeysetRef {
    return t.known.has(fingerprint) ? { fingerprint } : { fingerprint, bytes };
  }

  private publicFingerprint(bytes: Uint8Array): { fp: string; scheme: 'ckks' | 'bfv' } {
    let known = this.fingerprints.get(bytes);
    if (!known) {
      const k = decodeAnyPublicKeyset(bytes);
      known = { fp: k.fingerprint, scheme: k.params.scheme };
      this.fingerprints.set(bytes, known);
    }
    return known;
  }

  private secretFingerprint(bytes: Uint8Array): { fp: string; scheme: 'ckks' | 'bfv' } {
    let known = this.fingerprints.get(bytes);
    if (!known) {
      // Keyed by the public fingerprint plus a digest of the whole blob (two secret keys may share none).
      const k = decodeAnySecretKeyset(bytes);
      const fp = `sk:${k.publicKeyset.fingerprint}:${bytes.length}:${Buffer.from(bytes.subarray(bytes.length - 32)).toString('hex')}`;
      known = { fp, scheme: k.params.scheme };
      this.fingerprints.set(bytes, known);
    }
    return known;
  }

  /**
   * Encrypts each vector into one saved ciphertext (see HeEngine.save / BfvEngine.save), in parallel across
   * threads, order kept. Under a BFV keyset the vectors hold integers and `opts.bound` (their public
   * bound) is required.
   */
  async encryptMany(publicKeyset: Uint8Array, vectors: readonly Float64Array[], opts: { bound?: number } = {}): Promise<Uint8Array[]> {
    const { fp, scheme } = this.publicFingerprint(publicKeyset);
    if (scheme === 'bfv' && opts.bound === undefined) throw new HeError('BAD_ARGUMENT', 'encrypting under a BFV keyset needs opts.bound');
    const bound = scheme === 'bfv' ? opts.bound : undefined;
    const parts = await Promise.all(
      slices(vectors.length, this.workers.length).map(([s, e], i) => {
        const t = this.workers[i]!;
        return this.send(t, { kind: 'encrypt', keyset: this.ref(t, fp, publicKeyset), vectors: vectors.slice(s, e), bound });
      }),
    );
    return parts.flatMap((r) => (r.kind === 'encrypt' ? r.saved : []));
  }

  /** Sum of saved ciphertexts of either scheme (tree: one partial sum per thread, then one combining add pass). */
  async sumMany(publicKeyset: Uint8Array, saved: readonly Uint8Array[]): Promise<Uint8Array> {
    if (saved.length === 0) throw new HeError('BAD_ARGUMENT', 'sumMany needs at least one ciphertext');
    const { fp } = this.publicFingerprint(publicKeyset);
    const sum = async (items: readonly Uint8Array[], t: PoolThread): Promise<Uint8Array> => {
      const r = await this.send(t, { kind: 'sum', keyset: this.ref(t, fp, publicKeyset), saved: [...items] });
      if (r.kind !== 'sum') throw new Error('unexpected pool response');
      return r.saved;
    };
    const ranges = slices(saved.length, this.workers.length);
    if (ranges.length === 1) return sum(saved, this.workers[0]!);
    const partials = await Promise.all(ranges.map(([s, e], i) => sum(saved.slice(s, e), this.workers[i]!)));
    return sum(partials, this.workers[0]!);
  }

  private async decryptAny(
    secretKeyset: Uint8Array,
    saved: readonly Uint8Array[],
    scheme: 'ckks' | 'bfv',
  ): Promise<(Float64Array | BigInt64Array)[]> {
    const known = this.secretFingerprint(secretKeyset);
    if (known.scheme !== scheme)
      throw new HeError(
        'PARAMS_MISMATCH',
        `the secret keyset is ${known.scheme.toUpperCase()}; use ${known.scheme === 'bfv' ? 'decryptIntegers' : 'decryptMany'}`,
      );
    const parts = await Promise.all(
      slices(saved.length, this.workers.length).map(([s, e], i) => {
        const t = this.workers[i]!;
        return this.send(t, { kind: 'decrypt', secret: this.ref(t, known.fp, secretKeyset), saved: saved.slice(s, e) });
      }),
    );
    return parts.flatMap((r) => (r.kind === 'decrypt' ? r.values : []));
  }

  /** Decrypts saved CKKS ciphertexts (first `length` values of each), in parallel. */
  async decryptMany(secretKeyset: Uint8Array, saved: readonly Uint8Array[]): Promise<Float64Array[]> {
    return (await this.decryptAny(secretKeyset, saved, 'ckks')) as Float64Array[];
  }

  /** Decrypts saved BFV ciphertexts to exact integers (first `length` values of each), in parallel. */
  async decryptIntegers(secretKeyset: Uint8Array, saved: readonly Uint8Array[]): Promise<BigInt64Array[]> {
    return (await this.decryptAny(secretKeyset, saved, 'bfv')) as BigInt64Array[];
  }

  /** Terminates the workers; pending calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((t) => t.worker.terminate()));
  }
}
