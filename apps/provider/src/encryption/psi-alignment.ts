import { PsiParty, intersect } from '#psi';
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
  const party = new PsiParty(`dataspace-job:${jobId}`);
  try {
    await broker.psiPut(jobId, key(me, 1), party.blind(ids));
    for (let r = 1; r < k; r++) {
      const set = (me - r + k) % k;
      const points = await wait(key(set, r));
      await broker.psiPut(jobId, key(set, r + 1), party.reblind(points));
    }
    const full = await Promise.all(roles.map((_, s) => wait(key(s, k))));
    const result = intersect(full);
    return party.resolve(result.positions[me]!);
  } finally {
    party.destroy();
  }
}
