import type { Command } from 'commander';
import { ConfigError, RedisUnavailableError, loadConfig } from '#platform';
import { parseApps } from '../apps.js';
import { runApps } from '../run-apps.js';
import { CliError } from '../output.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the data space: all apps in this process (embedded), or the listed ones')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)')
    .option('--apps <apps>', 'all, or a comma list of provider,broker,ledger,worker', 'all')
    .action(async (o: { port?: string; apps: string }) => {
      let config;
      try {
        config = loadConfig(process.env, o.port !== undefined ? { PORT: o.port } : {});
      } catch (e) {
        if (e instanceof ConfigError) throw new CliError(e.message);
        throw e;
      }
      let apps;
      try {
        apps = parseApps(o.apps);
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
      try {
        await runApps(apps, config);
      } catch (e) {
        if (e instanceof RedisUnavailableError) throw new CliError(e.message);
        throw e;
      }
    });
}
