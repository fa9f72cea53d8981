/**
 * The embedded data space of `dataspace demo`: every app in this process on a free port, a fresh
 * temporary DATA_DIR (SQLite, admin token, consumer key files, an autostarted Redis's data) and a
 * BullMQ key prefix of its own, so a demo never touches a running installation's state.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteKeysWithPrefix, loadConfig } from '#platform';
import { APP_NAMES } from '../apps.js';
import { type ServerHandle, startServer } from '../server.js';
import type { DemoContext } from './runner.js';

export interface DemoSession {
  ctx: DemoContext;
  server: ServerHandle;
  /** stops the server, deletes the session's queue keys and the temporary directory (idempotent) */
  close(): Promise<void>;
}

export async function startDemoSession(say: (line: string) => void): Promise<DemoSession> {
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-demo-'));
  const prefix = `demo-${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' };
  // the embedded default: SQLite in the temp dir, whatever DATABASE_URL the shell has
  delete env.DATABASE_URL;
  delete env.DATABASE_SCHEMA;
  let server: ServerHandle;
  try {
    server = await startServer({ config: loadConfig(env), apps: [...APP_NAMES], port: 0, say: () => undefined });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const keysDir = join(dir, 'consumer');
  mkdirSync(keysDir, { mode: 0o700 });
  const adminToken = readFileSync(server.adminTokenPath, 'utf8').trim();
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await server.close().catch(() => undefined);
      // An external Redis keeps the session's BullMQ keys; an autostarted one lived in `dir`.
      await deleteKeysWithPrefix(server.config.REDIS_URL, prefix);
      rmSync(dir, { recursive: true, force: true });
    })();
    return closed;
  };
  say(`demo: embedded data space on ${server.url} (temporary data in ${dir})`);
  return { ctx: { url: server.url, adminToken, workDir: keysDir, say }, server, close };
}
