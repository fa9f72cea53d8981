/**
 * Aligned scenarios, this checkout side by side with an earlier one (issue 20, done-when 4: "aligned
 * scenarios no slower than today"). The earlier code runs from its own built checkout, named by
 * `ALIGNED_BASE` (a directory with `bin/dataspace.js` and its `dist/`); both run the same built-in
 * scenario through `dataspace demo --scenario ID --json` at the catalog's default sizes and seed, in
 * alternating order (base first in even rounds, this code first in odd ones) so that a change in the
 * machine's load falls on both. `ALIGNED_ROUNDS` rounds (default 3); the figure per scenario is the
 * median of the job's wall time (submission to decrypted result, as the demo reports it) and of the
 * whole demo process's CPU time (user + system, all threads, read by bash's `times`). The demo times a job by polling
 * it every 250 ms (the SDK's `waitForJob`), so a job time is known to ±0.25 s: "no slower" is met when this code's
 * median is at most the base's plus that resolution.
 *
 * The scenarios are those whose compiled plan (this checkout's compiler, default sizes) holds an
 * ALIGNED feature: rows of several roles multiplied slot by slot, which provider-side aggregation
 * (TOTALS) cannot take over.
 *
 *   git worktree add /tmp/base <commit> && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   (cd /tmp/base && npx tsc -p tsconfig.build.json)
 *   ALIGNED_BASE=/tmp/base npm run bench -- --only aligned
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtinScenarios, compilePlan, defaultParams, defaultRowCounts } from '#scenario';
import type { BenchContext } from './lib/context.js';

const S = 'aligned scenarios: this code vs ALIGNED_BASE, default sizes (issue 20, 4)';
const HERE = resolve(new URL('../..', import.meta.url).pathname);

interface Run {
  jobSeconds: number;
  cpuSeconds: number;
  status: string;
}

/** Built-in scenarios whose plan at default sizes has an ALIGNED feature. */
export function alignedScenarioIds(): string[] {
  const ids: string[] = [];
  for (const s of builtinScenarios()) {
    const rowCounts = defaultRowCounts(s.id);
    const params = defaultParams(s.id, rowCounts);
    const pub = Object.fromEntries(Object.entries(params).filter(([k]) => s.params?.[k]?.private !== true));
    const c = compilePlan(s, pub, { rowCounts });
    if (c.ok && JSON.stringify(c.plan).includes('"layout":"aligned"')) ids.push(s.id);
  }
  return ids;
}

/** bash's `times` prints the shell's own, then its children's, user and system time as `XmY.YYYs`. */
function childCpuSeconds(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  let total = 0;
  for (const m of last.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

function runDemo(checkout: string, scenario: string): Run {
  const script = 'node "$1/bin/dataspace.js" demo --scenario "$2" --json > "$3"; rc=$?; times; exit $rc';
  const out = join(tmpdir(), `aligned-bench-${process.pid}.json`);
  const r = spawnSync('bash', ['-c', script, 'bash', checkout, scenario, out], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const cpuSeconds = childCpuSeconds(r.stdout);
  let jobSeconds = Number.NaN;
  let status = `exit ${r.status}`;
  try {
    const text = readFileSync(out, 'utf8');
    rmSync(out, { force: true });
    const rows = JSON.parse(text) as { jobSeconds: number | null; status: string }[];
    jobSeconds = rows[0]?.jobSeconds ?? Number.NaN;
    status = rows[0]?.status ?? status;
  } catch {
    /* the status above says why */
  }
  return { jobSeconds, cpuSeconds, status };
}

/** The SDK's poll interval, which the demo's job time is read with (s). */
const RESOLUTION = 0.25;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function benchAligned(ctx: BenchContext): Promise<void> {
  ctx.report.heading(S);
  const base = process.env.ALIGNED_BASE ? resolve(process.env.ALIGNED_BASE) : '';
  if (!base || !existsSync(join(base, 'bin/dataspace.js')) || !existsSync(join(base, 'dist')))
    throw new Error('ALIGNED_BASE must name a built checkout of the earlier code (see bench/aligned.ts)');
  const rounds = Math.max(1, Number(process.env.ALIGNED_ROUNDS ?? (ctx.quick ? 1 : 3)));
  const ids = (process.env.ALIGNED_SCENARIOS?.split(',').filter(Boolean) ?? alignedScenarioIds()).sort();
  const baseRev = spawnSync('git', ['-C', base, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const hereRev = spawnSync('git', ['-C', HERE, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  ctx.report.note(
    S,
    `base ${baseRev || base}, this code ${hereRev || HERE}; ${rounds} rounds, order alternating; scenarios ${ids.join(', ')}`,
  );
  const runs = new Map<string, { base: Run[]; now: Run[] }>(ids.map((id) => [id, { base: [], now: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const id of ids) {
      const order: ('base' | 'now')[] = round % 2 === 0 ? ['base', 'now'] : ['now', 'base'];
      for (const which of order) {
        const r = runDemo(which === 'base' ? base : HERE, id);
        runs.get(id)![which].push(r);
        process.stdout.write(
          `    round ${round + 1} ${id} ${which}: job ${r.jobSeconds.toFixed(2)} s, CPU ${r.cpuSeconds.toFixed(1)} s, ${r.status}\n`,
        );
      }
    }
  }
  for (const id of ids) {
    const { base: b, now: n } = runs.get(id)!;
    const failed = [...b, ...n].filter((r) => r.status !== 'pass');
    const jb = median(b.map((r) => r.jobSeconds));
    const jn = median(n.map((r) => r.jobSeconds));
    const cb = median(b.map((r) => r.cpuSeconds));
    const cn = median(n.map((r) => r.cpuSeconds));
    ctx.report.add({
      section: S,
      name: `${id}: job wall, median base → now`,
      value: `${jb.toFixed(2)} s → ${jn.toFixed(2)} s (×${(jn / jb).toFixed(2)})`,
      target: `now ≤ base (+${RESOLUTION} s, the poll interval that times a job)`,
      met: failed.length === 0 && jn <= jb + RESOLUTION,
      note: `each run base [${b.map((r) => r.jobSeconds.toFixed(2)).join(', ')}], now [${n.map((r) => r.jobSeconds.toFixed(2)).join(', ')}]${failed.length ? `; ${failed.length} runs did not pass` : ''}`,
    });
    ctx.report.add({
      section: S,
      name: `${id}: demo process CPU, median base → now`,
      value: `${cb.toFixed(1)} s → ${cn.toFixed(1)} s (×${(cn / cb).toFixed(2)})`,
      note: 'includes seeding the providers (import) and key generation',
    });
  }
}
