import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DemoRunner } from '../../apps/cli/src/demo/runner.js';
import type { startTestServer } from './env.js';

/** The demo's runner (providers, imports, consumer keys, job, decryption, reference) against a test server. */
export function demoRunnerFor(s: Awaited<ReturnType<typeof startTestServer>>): DemoRunner {
  const workDir = join(s.config.dataDir, 'consumer');
  mkdirSync(workDir, { mode: 0o700 });
  return new DemoRunner({ url: s.url, adminToken: s.adminToken, workDir });
}
