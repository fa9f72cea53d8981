/**
 * Entry point of a provider connector (datasets, row import, encryption worker), alone in its process: what
 * `dataspace serve --apps provider` runs, through the same bootstrap (the composition root's `runApps`, apps/cli).
 * Apart from the broker it reaches it over HTTP (BROKER_URL and CONNECTOR_TOKEN), else through the broker's gateway
 * on the shared database (`brokerBinding`). `nest start provider` (nest-cli.json) runs this file.
 */
import { runAppEntry } from '../../cli/src/run-apps.js';

await runAppEntry('provider');
