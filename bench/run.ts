/**
 * `npm run bench [-- --quick] [-- --only NAME[,NAME]] [-- --out FILE]`: the data space's benchmarks
 * (issue 10). Every figure is printed as it is measured; the end lists each target met or missed.
 * `--out FILE` also writes the run as markdown (machine, date, command, tables) for BENCHMARKS.md.
 *
 * Sections, in this order: water (1, 6, 10^6 import memory), import (issue 20: CSV import speed, SQLite and
 * PostgreSQL, before and now), paillier (2), he (HE core per-op
 * and pool), release (release hygiene per output and per scenario), sme, energy and psi (3; psi also compares the
 * PSI backends of issue 20), workers (4), ledger (5), load and soak (issue 21: API latency while HE jobs run; memory
 * and correctness over a long run, SOAK_MINUTES) and aligned (issue 20: aligned scenarios against an earlier
 * checkout, ALIGNED_BASE); these three run only when named in --only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './lib/context.js';
import { Report } from './lib/report.js';
import { RssSampler } from './lib/rss.js';
import { benchAligned } from './aligned.js';
import { benchHe } from './he.js';
import { benchImport } from './import.js';
import { benchLedger } from './ledger.js';
import { benchLoad } from './load.js';
import { benchEnergy, benchPsiDirect, benchSme } from './multiparty.js';
import { benchPaillierSection } from './paillier.js';
import { benchPsiBackends } from './psi-backends.js';
import { benchRelease } from './release.js';
import { benchSoak } from './soak.js';
import { benchWater } from './water.js';
import { benchWorkers } from './workers.js';

const SECTIONS = [
  'water',
  'import',
  'paillier',
  'he',
  'release',
  'sme',
  'energy',
  'psi',
  'workers',
  'ledger',
  'load',
  'soak',
  'aligned',
] as const;
type Section = (typeof SECTIONS)[number];
/** Long runs against separate server processes: only with --only (the soak alone lasts SOAK_MINUTES, 30 by default). */
const ON_REQUEST: readonly Section[] = ['load', 'soak', 'aligned'];

interface Args {
  quick: boolean;
  only: Set<Section>;
  out: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: new Set(SECTIONS.filter((s) => !ON_REQUEST.includes(s))), out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error('--only needs a comma list of ' + SECTIONS.join(', '));
      const names = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
      if (bad.length) throw new Error(`--only: unknown benchmark ${bad.join(', ')}; choose from ${SECTIONS.join(', ')}`);
      args.only = new Set(names as Section[]);
    } else if (a === '--out' || a.startsWith('--out=')) {
      const v = a === '--out' ? argv[++i] : a.slice('--out='.length);
      if (!v) throw new Error('--out needs a file name');
      args.out = v;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--out FILE]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return args;
}

function machine(): string[] {
  const lines = [
    `- CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Node ${process.version}, ${process.platform} ${process.arch}`,
  ];
  try {
    const l = execFileSync('lscpu', { encoding: 'utf8' })
      .split('\n')
      .filter((x) => /^(Model name|CPU\(s\)|Thread|Core|Hypervisor|L2|L3)/.test(x))
      .map((x) => x.replace(/\s+/g, ' '));
    lines.push(`- lscpu: ${l.join('; ')}`);
  } catch {
    /* lscpu is optional */
  }
  return lines;
}

/** Sizes per mode: the full run is what issue 10 asks; --quick keeps the whole run near 3 minutes. */
function sizes(quick: boolean) {
  return quick
    ? {
        water: [10_000, 100_000],
        paillier: 100,
        sme: 10_000,
        energy: 10_000,
        psi: 2_000,
        psiSample: 1_000,
        importRows: 100_000,
        psiSuites: ['x25519', 'ristretto255'] as const,
        jobs: 10,
        jobRows: 2000,
        ledger: 100_000,
      }
    : {
        water: [10_000, 100_000, 1_000_000],
        paillier: 2000,
        sme: 100_000,
        energy: 100_000,
        psi: 20_000,
        psiSample: 5_000,
        importRows: 1_000_000,
        psiSuites: ['x25519', 'ristretto255'] as const,
        jobs: 30,
        jobRows: 2000,
        ledger: 1_000_000,
      };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const report = new Report();
  const rss = new RssSampler(100);
  rss.start();
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-bench-keys-'));
  const ctx: BenchContext = { report, rss, quick: args.quick, dir, shared: {} };
  const z = sizes(args.quick);
  const started = new Date();
  const t0 = performance.now();
  const load0 = loadavg();
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  process.stdout.write(
    `dataspace benchmarks — ${started.toISOString()} — ${command}\n${machine().join('\n')}\n- load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}\n`,
  );
  const run = async (name: Section, fn: () => Promise<void>): Promise<void> => {
    if (!args.only.has(name)) return;
    try {
      await fn();
    } catch (e) {
      report.error(name, e);
      if (process.env.BENCH_DEBUG) console.error(e);
    }
  };
  try {
    // Water first: its peak-RSS figures should not carry the heap other sections leave behind
    // (the ledger benches hold 10^6-entry trees).
    await run('water', () => benchWater(ctx, z.water));
    await run('import', () => benchImport(ctx, z.importRows));
    await run('paillier', () => benchPaillierSection(ctx, z.paillier));
    await run('he', () => benchHe(ctx));
    await run('release', () => benchRelease(ctx));
    await run('sme', () => benchSme(ctx, z.sme));
    await run('energy', () => benchEnergy(ctx, z.energy));
    await run('psi', async () => {
      await benchPsiBackends(ctx, z.psiSample);
      await benchPsiDirect(ctx, z.psi, [...z.psiSuites]);
    });
    await run('workers', () => benchWorkers(ctx, z.jobs, z.jobRows));
    await run('ledger', () => benchLedger(ctx, z.ledger));
    await run('load', () => benchLoad(ctx));
    await run('soak', () => benchSoak(ctx));
    await run('aligned', () => benchAligned(ctx));
  } finally {
    await rss.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const wall = (performance.now() - t0) / 1000;
  const load1 = loadavg();
  process.stdout.write(
    report.summary() + `\n\nwall time ${wall.toFixed(0)} s; load average at end: ${load1.map((x) => x.toFixed(2)).join(' ')}\n`,
  );
  if (args.out) {
    const md = [
      `## Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      `Command: \`${command}\` (${wall.toFixed(0)} s wall)`,
      '',
      ...machine(),
      `- load average (1/5/15 min) at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}`,
      report.toMarkdown(),
    ].join('\n');
    writeFileSync(args.out, md);
    process.stdout.write(`markdown written to ${args.out}\n`);
  }
  return report.errors.length ? 1 : 0;
}

// Exit explicitly: a deployment whose shutdown failed mid-section may leave handles open.
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
