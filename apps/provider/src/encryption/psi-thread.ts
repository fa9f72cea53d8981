/**
 * A PSI party in its own thread: blinding 10^5 ids is seconds of elliptic-curve work, which must not block the
 * connector's event loop (queue lock renewals, HTTP). The secret scalar lives and dies in this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThread } from '#he-core';
import { PsiParty } from '#psi';

lowerThisThread((workerData as { nice?: number }).nice ?? 0);

type Msg =
  | { id: number; op: 'blind'; ids: string[] }
  | { id: number; op: 'reblind'; points: Uint8Array }
  | { id: number; op: 'resolve'; positions: number[] };

const party = new PsiParty((workerData as { sessionId: string }).sessionId);
parentPort!.on('message', (m: Msg) => {
  try {
    if (m.op === 'blind') {
      const out = party.blind(m.ids);
      parentPort!.postMessage({ id: m.id, points: out }, [out.buffer as ArrayBuffer]);
    } else if (m.op === 'reblind') {
      const out = party.reblind(m.points);
      parentPort!.postMessage({ id: m.id, points: out }, [out.buffer as ArrayBuffer]);
    } else {
      parentPort!.postMessage({ id: m.id, ids: party.resolve(m.positions) });
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
