/**
 * Worker-thread side of {@link HePool}: one SEAL instance per thread, engines per parameter set, and
 * keysets cached by fingerprint so multi-megabyte Galois keys cross the thread boundary once.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { HeEngine } from './engine.js';
import { HeError } from './errors.js';
import { decodePublicKeyset, decodeSecretKeyset, type PublicKeyset, type SecretKeyset } from './keyset.js';
import { paramsId } from './params.js';
import type { KeysetRef, PoolRequest, PoolResponse, PoolResult, PoolTask } from './pool-protocol.js';

const engines = new Map<string, Promise<HeEngine>>();
const publicKeysets = new Map<string, PublicKeyset>();
const secretKeysets = new Map<string, SecretKeyset>();

function engineFor(k: { params: PublicKeyset['params'] }): Promise<HeEngine> {
  const id = paramsId(k.params);
  let e = engines.get(id);
  if (!e) {
    e = HeEngine.create(k.params);
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

async function run(task: PoolTask): Promise<PoolResult> {
  if (task.kind === 'decrypt') {
    const sk = resolveKeyset(task.secret, secretKeysets, decodeSecretKeyset);
    const e = await engineFor(sk);
    const h = e.useSecretKeyset(sk);
    const values = task.saved.map((b) =>
      e.scope(() => {
        const ct = e.load(b);
        return e.decrypt(h, ct).slice(0, ct.length);
      }),
    );
    return { kind: 'decrypt', values };
  }
  const pk = resolveKeyset(task.keyset, publicKeysets, decodePublicKeyset);
  const e = await engineFor(pk);
  const h = e.usePublicKeyset(pk);
  if (task.kind === 'encrypt') {
    return { kind: 'encrypt', saved: task.vectors.map((v) => e.scope(() => e.save(e.encrypt(h, v)))) };
  }
  const saved = e.scope(() => {
    if (task.saved.length === 0) throw new HeError('BAD_ARGUMENT', 'nothing to sum');
    let acc = e.load(task.saved[0]!);
    for (let i = 1; i < task.saved.length; i++) {
      const next = e.add(acc, e.load(task.saved[i]!));
      e.free(acc);
      acc = next;
    }
    if (acc.keyset !== h.fingerprint) throw new HeError('KEYSET_MISMATCH', 'ciphertexts are not under the given keyset');
    return e.save(acc);
  });
  return { kind: 'sum', saved };
}

function transferables(r: PoolResult): ArrayBuffer[] {
  const bufs = r.kind === 'encrypt' ? r.saved : r.kind === 'sum' ? [r.saved] : r.values;
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
          error: err instanceof HeError ? { code: err.code, message: err.message } : { code: null, message: err instanceof Error ? err.message : String(err) },
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
