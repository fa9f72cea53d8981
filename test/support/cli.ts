import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../../bin/dataspace.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `dataspace` CLI as a subprocess. */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Starts a long-running CLI command and resolves once `ready` matches its stderr. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs = 60_000,
  cwd?: string,
): Promise<{ stderr: () => string; stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let err = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready in time: ${err}`));
    }, timeoutMs);
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (d) => {
      err += d;
      if (ready.test(err)) {
        clearTimeout(t);
        resolve({
          stderr: () => err,
          stop: () =>
            new Promise((r) => {
              child.once('close', (c) => r(c));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('close', (code) => {
      clearTimeout(t);
      reject(new Error(`exited ${code}: ${err}`));
    });
  });
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServeProcess {
  child: ChildProcess;
  stderr: () => string;
  kill: (sig?: NodeJS.Signals) => Promise<void>;
}

/** `dataspace serve --apps APPS --port PORT` as a subprocess, resolved once it is serving. */
export function serveProcess(apps: string, port: number, env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--apps', apps, '--port', String(port)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve ${apps} not ready: ${err}`));
    }, 60_000);
    child.stderr!.on('data', (d) => {
      err += d;
      if (/dataspace serving/.test(err)) {
        clearTimeout(t);
        resolve({
          child,
          stderr: () => err,
          kill: (sig = 'SIGTERM') =>
            new Promise((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('exit', () => r());
              child.kill(sig);
            }),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      if (!/dataspace serving/.test(err)) reject(new Error(`serve ${apps} exited ${code}: ${err}`));
    });
  });
}
