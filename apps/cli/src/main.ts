import { Command, CommanderError } from 'commander';
import { registerServe } from './commands/serve.js';
import { registerParticipants } from './commands/participants.js';
import { registerDatasets } from './commands/datasets.js';
import { registerScenarios } from './commands/scenarios.js';
import { registerKeys } from './commands/keys.js';
import { registerJobs } from './commands/jobs.js';
import { registerLedger } from './commands/ledger.js';
import { registerDemo } from './commands/demo.js';
import { CliError, errorDocumentOf, hasPrintedJson, printJson } from './output.js';

/** `dataspace`: the command people and scripts use (names are a contract: see the README). */
const program = new Command('dataspace')
  .description('Trusted data space: datasets with usage policies, jobs on encrypted data, an auditable usage ledger')
  .option('--url <url>', 'server URL (env DATASPACE_URL)', process.env.DATASPACE_URL ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'bearer token (env DATASPACE_TOKEN)', process.env.DATASPACE_TOKEN)
  .showHelpAfterError(false)
  .exitOverride();

registerServe(program);
registerParticipants(program);
registerDatasets(program);
registerScenarios(program);
registerKeys(program);
registerJobs(program);
registerLedger(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) process.exit(0);
    process.exit(e.exitCode === 1 ? 2 : e.exitCode);
  }
  // `--json` means JSON on failure too: the error document, every problem with its path, on stdout.
  // A command that printed its own JSON before failing (a job that ended failed, say) keeps it as its only output.
  if (process.argv.includes('--json') && !hasPrintedJson()) printJson(errorDocumentOf(e));
  const msg = e instanceof CliError || e instanceof Error ? e.message : String(e);
  process.stderr.write(`dataspace: ${msg.split('\n')[0]}\n`);
  process.exit(e instanceof CliError ? e.exitCode : 1);
}
