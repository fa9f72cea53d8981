/** Entry of a broker HE worker thread: one SEAL instance per thread (SEAL is single-threaded). */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThread } from '#he-core';
import { runHeTask, type HeTask } from './he-task.js';

lowerThisThread((workerData as { nice?: number } | null)?.nice ?? 0);

parentPort!.on('message', (msg: { id: number; task: HeTask }) => {
  runHeTask(msg.task).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (e: unknown) =>
      parentPort!.postMessage({
        id: msg.id,
        error: { name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e), code: (e as { code?: string })?.code },
      }),
  );
});
