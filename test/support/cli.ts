import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../../bin/dataspace.js', import.meta.url));

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** Runs the `dataspace` CLI as a subprocess. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    if (opts.input !== undefined) child.stdin.end(opts.input); else child.stdin.end();
  });
}

/** Starts a long-running CLI command and resolves once `ready` matches its stderr. */
export function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 60_000):
  Promise<{ stderr: () => string; stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready in time: ${err}`)); }, timeoutMs);
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (d) => {
      err += d;
      if (ready.test(err)) {
        clearTimeout(t);
        resolve({
          stderr: () => err,
          stop: () => new Promise((r) => { child.once('close', (c) => r(c)); child.kill('SIGTERM'); }),
        });
      }
    });
    child.on('close', (code) => { clearTimeout(t); reject(new Error(`exited ${code}: ${err}`)); });
  });
}
