/**
 * Entry point of the computation broker (participants, catalog, scenarios, keysets, the jobs API, the connector
 * routes), alone in its process: what `dataspace serve --apps broker` runs, through the same bootstrap (the
 * composition root's `runApps`, apps/cli). `nest start broker` (nest-cli.json) runs this file.
 */
import { runAppEntry } from '../../cli/src/run-apps.js';

await runAppEntry('broker');
