import { type AppConfig, ConfigError, RedisUnavailableError, loadConfig } from '#platform';
import type { AppName } from './apps.js';
import { type ServerHandle, startServer } from './server.js';

/**
 * Runs the listed apps in this process until SIGINT or SIGTERM: what `dataspace serve --apps <apps>` does, and what
 * each app's entry point (apps/<app>/src/main.ts, `nest start <app>`) does for that app alone.
 */
export async function runApps(apps: readonly AppName[], config: AppConfig): Promise<ServerHandle> {
  const server = await startServer({ config, apps: [...apps] });
  process.stderr.write(`dataspace serving ${apps.join(', ')} on ${server.url} (OpenAPI at ${server.url}/docs)\n`);
  const stop = async (): Promise<void> => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  return server;
}

/**
 * An app's entry point: `runApps([app])` configured from the environment (PORT, DATABASE_URL, REDIS_URL, ...), as
 * `dataspace serve --apps <app>` is; a configuration or Redis problem is printed as one line, exit code 1.
 */
export async function runAppEntry(app: AppName): Promise<void> {
  try {
    await runApps([app], loadConfig(process.env));
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RedisUnavailableError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}
