/**
 * Import speed (issue 20): a streamed CSV of the water-district-consumption provider's rows
 * (10^6 in the full run, 10^5 with --quick) into SQLite and into PostgreSQL, before, previous and
 * now side by side, and the connector's read of the stored rows for an encryption task, previous and
 * now. Each database runs in its own child process (bench/import-child.ts: entity column types
 * are fixed by DATABASE_URL when they load). PostgreSQL is the server at BENCH_POSTGRES_URL or
 * TEST_POSTGRES_URL (each run in its own schema, dropped at the end); without one it is skipped.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isPostgresUrl } from '#persistence';
import type { BenchContext } from './lib/context.js';

const S = 'import: streamed CSV into the provider store, before and now (issue 20)';
const TARGET = 150_000;

interface ChildFigure {
  name: string;
  rows: number;
  ms: number;
  cpuMs: number;
  note?: string;
}

function runChild(n: number, env: NodeJS.ProcessEnv): Promise<ChildFigure[]> {
  const script = fileURLToPath(new URL('./import-child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, String(n)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const figures: ChildFigure[] = [];
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf('\n')) !== -1) {
        const l = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (l.startsWith('FIGURE ')) figures.push(JSON.parse(l.slice(7)) as ChildFigure);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(figures)
        : reject(new Error(`import bench child exited ${code}: ${err.length > 1600 ? `${err.slice(0, 800)} … ${err.slice(-800)}` : err}`)),
    );
  });
}

export async function benchImport(ctx: BenchContext, n: number): Promise<void> {
  const { report } = ctx;
  report.heading(S);
  const pg = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL;
  const targets: { db: string; env: NodeJS.ProcessEnv }[] = [];
  const sqliteEnv = { ...process.env };
  delete sqliteEnv.DATABASE_URL;
  delete sqliteEnv.DATABASE_SCHEMA;
  targets.push({ db: 'SQLite', env: sqliteEnv });
  if (isPostgresUrl(pg)) targets.push({ db: 'PostgreSQL', env: { ...sqliteEnv, DATABASE_URL: pg } });
  else report.note(S, 'PostgreSQL skipped: set BENCH_POSTGRES_URL or TEST_POSTGRES_URL');
  for (const t of targets) {
    try {
      const figures = await runChild(n, t.env);
      for (const f of figures) {
        const rate = f.rows / (f.ms / 1000);
        const isTarget = f.name.startsWith('whole import over HTTP');
        report.add({
          section: S,
          name: `${t.db}, ${f.rows.toLocaleString('en-US')} rows: ${f.name}`,
          value: Math.round(rate),
          unit: 'rows/s',
          ...(isTarget ? { target: `≥ ${TARGET.toLocaleString('en-US')} rows/s`, met: rate >= TARGET } : {}),
          note: `${(f.ms / 1000).toFixed(2)} s wall, ${(f.cpuMs / 1000).toFixed(2)} s CPU of the bench process (${Math.round(f.rows / (f.cpuMs / 1000)).toLocaleString('en-US')} rows per CPU-second${t.db === 'PostgreSQL' ? ', server not counted' : ''})${f.note ? `; ${f.note}` : ''}`,
        });
      }
    } catch (e) {
      report.error(S, e);
    }
  }
}
