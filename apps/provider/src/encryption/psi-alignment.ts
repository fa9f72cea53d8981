import { Worker } from 'node:worker_threads';
import { backgroundNice } from '#he-core';
import type { ConnectorPort } from '#contracts';

/**
 * This connector's side of the private set intersection for `align` without consumer keys: ECDH-PSI (libs/psi)
 * over X25519 with RFC 9380 hash-to-curve. Each party raises H(x) to its secret exponent; exponentiation
 * commutes, so once a set carries every party's key, H(x)^{a_1...a_k}, equal ids have equal bytes (Meadows 1986;
 * Huberman, Franklin, Hogg 1999; secure under DDH with H a random oracle, honest-but-curious parties).
 *
 * Parties are the aligned roles in sorted order. This party posts its own set blinded once; set s then visits
 * parties s+1, ..., s+k-1 (mod k), and the broker hands this party only the sets it must re-blind next (blinded
 * under keys it does not hold, never a fully blinded one). The broker intersects the fully blinded sets and
 * gives this party only the positions of its own matched points, in an order shared by every party (that of
 * the blinded bytes), so the encoded rows of all parties line up. Every party of a job runs this at the same
 * time (the connector's worker runs tasks concurrently).
 */
export async function psiAlign(
  broker: ConnectorPort,
  jobId: string,
  roles: string[],
  role: string,
  ids: string[],
  opts: { timeoutMs?: number } = {},
): Promise<string[]> {
  const k = roles.length;
  const me = roles.indexOf(role);
  if (me < 0) throw new Error(`role ${role} is not aligned`);
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const wait = async <T>(what: string, get: () => Promise<T | null>): Promise<T> => {
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      const v = await get();
      if (v !== null) return v;
      if (Date.now() > deadline) throw new Error(`private set intersection timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  };
  const party = new ThreadParty(`dataspace-job:${jobId}`);
  try {
    await broker.psiSubmit(jobId, role, me, 1, await party.blind(ids));
    for (let r = 1; r < k; r++) {
      const set = (me - r + k) % k;
      const points = await wait(`set ${set} with ${r} key(s)`, () => broker.psiTask(jobId, role, set, r));
      await broker.psiSubmit(jobId, role, set, r + 1, await party.reblind(points));
    }
    const positions = await wait('the intersection', () => broker.psiMatches(jobId, role));
    return await party.resolve(positions);
  } finally {
    await party.destroy();
  }
}

/** A PsiParty running in a worker thread (psi-thread.ts); its key never leaves that thread. */
class ThreadParty {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: { points?: Uint8Array; ids?: string[] }) => void; reject: (e: Error) => void }
  >();

  constructor(sessionId: string) {
    this.worker = new Worker(new URL('./psi-thread.js', import.meta.url), { workerData: { sessionId, nice: backgroundNice() } });
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
