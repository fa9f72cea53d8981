/**
 * Entry point of the HE evaluation worker (apps/worker, WorkerModule), alone in its process: what
 * `dataspace serve --apps worker` runs, through the same bootstrap (the composition root's `runApps`, apps/cli).
 * `nest start worker` (nest-cli.json) runs this file. Scale it out: several share one Redis and one database.
 */
import { runAppEntry } from '../../cli/src/run-apps.js';

await runAppEntry('worker');
