/**
 * Worker-thread side of {@link HePool}: one SEAL instance per thread, engines per parameter set (CKKS or
 * BFV), and keysets cached by fingerprint so multi-megabyte Galois keys cross the thread boundary once.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BfvEngine } from './bfv.js';
import { HeEngine } from './engine.js';
import { HeError } from './errors.js';
import { decodeAnyPublicKeyset, decodeAnySecretKeyset, type PublicKeyset, type SecretKeyset } from './keyset.js';
import { paramsId, type AnyHeParams, type BfvParams, type HeParams } from './params.js';
import type { KeysetRef, PoolRequest, PoolResponse, PoolResult, PoolTask } from './pool-protocol.js';
import { lowerThisThread } from './priority.js';

lowerThisThread((workerData as { nice?: number } | null)?.nice ?? 0);

const engines = new Map<string, Promise<HeEngine | BfvEngine>>();
const publicKeysets = new Map<string, PublicKeyset<AnyHeParams>>();
const secretKeysets = new Map<string, SecretKeyset<AnyHeParams>>();

function engineFor(k: { params: HeParams }): Promise<HeEngine>;
function engineFor(k: { params: BfvParams }): Promise<BfvEngine>;
function engineFor(k: { params: AnyHeParams }): Promise<HeEngine | BfvEngine> {
  const id = paramsId(k.params);
  let e = engines.get(id);
  if (!e) {
    e = k.params.scheme === 'ckks' ? HeEngine.create(k.params) : BfvEngine.create(k.params);
    engines.set(id, e);
    e.catch(() => engines.delete(id)); // do not cache a failed creation
  }
  return e;
}

function resolveKeyset<T>(ref: KeysetRef, cache: Map<string, T>, decode: (b: Uint8Array) => T): T {
  const known = cache.get(ref.fingerprint);
  if (known) return known;
  if (!ref.bytes) throw new HeError('BAD_ARGUMENT', 'worker has not received this keyset');
  const k = decode(ref.bytes);
  cache.set(ref.fingerprint, k);
  return k;
}

/** Narrows a keyset to one scheme (the compiler cannot follow `params.scheme` into the generic). */
function isCkks<K extends { params: AnyHeParams }>(k: K): k is K & { params: HeParams } {
  return k.params.scheme === 'ckks';
}

async function run(task: PoolTask): Promise<PoolResult> {
  if (task.kind === 'decrypt') {
    const sk = resolveKeyset(task.secret, secretKeysets, decodeAnySecretKeyset);
    if (isCkks(sk)) {
      const e = await engineFor(sk);
      const h = e.useSecretKeyset(sk as SecretKeyset);
      return {
        kind: 'decrypt',
        values: task.saved.map((b) =>
          e.scope(() => {
            const ct = e.load(b);
            return e.decrypt(h, ct).slice(0, ct.length);
          }),
        ),
      };
    }
    const bsk = sk as SecretKeyset<BfvParams>;
    const e = await engineFor(bsk);
    const h = e.useSecretKeyset(bsk);
    return {
      kind: 'decrypt',
      values: task.saved.map((b) =>
        e.scope(() => {
          const ct = e.load(b);
          return e.decrypt(h, ct).slice(0, ct.length);
        }),
      ),
    };
  }
  const pk = resolveKeyset(task.keyset, publicKeysets, decodeAnyPublicKeyset);
  if (isCkks(pk)) {
    const e = await engineFor(pk);
    const h = e.usePublicKeyset(pk as PublicKeyset);
    if (task.kind === 'encrypt') return { kind: 'encrypt', saved: task.vectors.map((v) => e.scope(() => e.save(e.encrypt(h, v)))) };
    return {
      kind: 'sum',
      saved: e.scope(() =>
        e.save(
          sumLoaded(
            task.saved,
            (b) => e.load(b),
            (a, b) => e.add(a, b),
            (c) => e.free(c),
            h.fingerprint,
          ),
        ),
      ),
    };
  }
  const bpk = pk as PublicKeyset<BfvParams>;
  const e = await engineFor(bpk);
  const h = e.usePublicKeyset(bpk);
  if (task.kind === 'encrypt') {
    if (task.bound === undefined) throw new HeError('BAD_ARGUMENT', "encrypting under a BFV keyset needs the values' public bound");
    const bound = task.bound;
    return { kind: 'encrypt', saved: task.vectors.map((v) => e.scope(() => e.save(e.encrypt(h, v, { bound })))) };
  }
  return {
    kind: 'sum',
    saved: e.scope(() =>
      e.save(
        sumLoaded(
          task.saved,
          (b) => e.load(b),
          (a, b) => e.add(a, b),
          (c) => e.free(c),
          h.fingerprint,
        ),
      ),
    ),
  };
}

/** Loads and adds saved ciphertexts one by one (freeing each partial sum), checking their keyset. */
function sumLoaded<C extends { keyset: string }>(
  saved: Uint8Array[],
  load: (b: Uint8Array) => C,
  add: (a: C, b: C) => C,
  free: (c: C) => void,
  fingerprint: string,
): C {
  if (saved.length === 0) throw new HeError('BAD_ARGUMENT', 'nothing to sum');
  let acc = load(saved[0]!);
  for (let i = 1; i < saved.length; i++) {
    const next = add(acc, load(saved[i]!));
    free(acc);
    acc = next;
  }
  if (acc.keyset !== fingerprint) throw new HeError('KEYSET_MISMATCH', 'ciphertexts are not under the given keyset');
  return acc;
}

function transferables(r: PoolResult): ArrayBuffer[] {
  const bufs: ArrayBufferView[] = r.kind === 'encrypt' ? r.saved : r.kind === 'sum' ? [r.saved] : r.values;
  return bufs.map((b) => b.buffer as ArrayBuffer);
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: PoolRequest) => {
    run(req.task).then(
      (result) => {
        const msg: PoolResponse = { id: req.id, ok: true, result };
        port.postMessage(msg, transferables(result));
      },
      (err: unknown) => {
        const msg: PoolResponse = {
          id: req.id,
          ok: false,
          error:
            err instanceof HeError
              ? { code: err.code, message: err.message }
              : { code: null, message: err instanceof Error ? err.message : String(err) },
        };
        port.postMessage(msg);
        // A SEAL abort leaves this thread's WebAssembly instance unusable: end the thread so the pool
        // replaces it with a fresh one.
        void Promise.allSettled(engines.values()).then((all) => {
          if (all.some((r) => r.status === 'fulfilled' && !r.value.usable)) process.exit(1);
        });
      },
    );
  });
}
