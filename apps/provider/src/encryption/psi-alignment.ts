import { Worker } from 'node:worker_threads';
import { intersect } from '#psi';
import type { BrokerLink } from '../ports.js';

/**
 * This connector's side of the private set intersection for `align` without consumer keys (ECDH-PSI over
 * X25519 with RFC 9380 hash-to-curve, libs/psi: the fastest of its suites). Parties are the aligned roles in sorted order; messages go through the broker's mailbox and
 * are blinded point batches only. Set s visits parties s+1, ..., s+k-1 (mod k), one re-blinding each; once
 * every set carries every key, equal ids have equal bytes and the intersection (ordered by those bytes,
 * the same for every party) gives each party the positions of its shared ids.
 * Every party of a job runs this at the same time (the connector's worker runs tasks concurrently).
 */
export async function psiAlign(broker: BrokerLink, jobId: string, roles: string[], role: string, ids: string[], opts: { timeoutMs?: number } = {}): Promise<string[]> {
  const k = roles.length;
  const me = roles.indexOf(role);
  if (me < 0) throw new Error(`role ${role} is not aligned`);
  const key = (set: number, keys: number): string => `psi:set:${set}:${keys}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const wait = async (name: string): Promise<Uint8Array> => {
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      const b = await broker.psiGet(jobId, name);
      if (b) return b;
      if (Date.now() > deadline) throw new Error(`private set intersection timed out waiting for ${name}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  };
  const party = new ThreadParty(`dataspace-job:${jobId}`);
  try {
    await broker.psiPut(jobId, key(me, 1), await party.blind(ids));
    for (let r = 1; r < k; r++) {
      const set = (me - r + k) % k;
      const points = await wait(key(set, r));
      await broker.psiPut(jobId, key(set, r + 1), await party.reblind(points));
    }
    const full = await Promise.all(roles.map((_, s) => wait(key(s, k))));
    const result = intersect(full);
    return await party.resolve(result.positions[me]!);
  } finally {
    await party.destroy();
  }
}

/** A PsiParty running in a worker thread (psi-thread.ts); its key never leaves that thread. */
class ThreadParty {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: { points?: Uint8Array; ids?: string[] }) => void; reject: (e: Error) => void }>();

  constructor(sessionId: string) {
    this.worker = new Worker(new URL('./psi-thread.js', import.meta.url), { workerData: { sessionId } });
    this.worker.on('message', (m: { id: number; points?: Uint8Array; ids?: string[]; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m);
    });
    this.worker.on('error', (e) => this.failAll(e));
    // An exit without an error (terminated, or process.exit in the thread) must still settle every call,
    // or the encryption task awaiting it would stay active forever.
    this.worker.on('exit', (code) => this.failAll(new Error(`PSI thread exited (code ${code})`)));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call(msg: Record<string, unknown>): Promise<{ points?: Uint8Array; ids?: string[] }> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...msg });
    });
  }

  async blind(ids: string[]): Promise<Uint8Array> {
    return (await this.call({ op: 'blind', ids })).points!;
  }

  async reblind(points: Uint8Array): Promise<Uint8Array> {
    return (await this.call({ op: 'reblind', points })).points!;
  }

  async resolve(positions: number[]): Promise<string[]> {
    return (await this.call({ op: 'resolve', positions })).ids!;
  }

  async destroy(): Promise<void> {
    await this.worker.terminate();
  }
}
