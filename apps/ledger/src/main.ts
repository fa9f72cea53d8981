/**
 * Entry point of the usage ledger (RFC 6962 log, signed checkpoints, proofs, the /audit page), alone in its
 * process: what `dataspace serve --apps ledger` runs, through the same bootstrap (the composition root's `runApps`,
 * apps/cli). `nest start ledger` (nest-cli.json) runs this file.
 */
import { runAppEntry } from '../../cli/src/run-apps.js';

await runAppEntry('ledger');
