import type { Command } from 'commander';
import { RedisUnavailableError } from '#platform';
import { CATALOG_IDS, builtinScenario, isCatalogId } from '#scenario';
import { DemoRunner, type ScenarioRun } from '../demo/runner.js';
import { startDemoSession } from '../demo/session.js';
import { CliError, printJson, printTable } from '../output.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1)
    throw new CliError(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`, 2);
  return n;
}

function list(json: boolean): void {
  const rows = CATALOG_IDS.map((id) => {
    const s = builtinScenario(id);
    return { id, title: s.title, sector: s.sector ?? '', roles: Object.keys(s.inputs) };
  });
  if (json) printJson(rows);
  else
    printTable(
      rows.map((r) => ({ ...r, roles: r.roles.join(',') })),
      ['id', 'sector', 'roles', 'title'],
    );
}

function tableRow(r: ScenarioRun): Record<string, unknown> {
  return {
    scenario: r.scenario,
    roles: r.roles,
    rows: r.rows,
    seconds: r.seconds.toFixed(1),
    'largest error': r.largestError === null ? '-' : r.largestError.toExponential(1),
    status: r.status,
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run built-in scenarios end to end on an embedded data space (no server needed): seed providers, run each job on encrypted data, decrypt, compare with the plaintext reference, check the ledger',
    )
    .option('--scenario <id>', 'a built-in scenario to run (repeat; default: all 33)', collect, [])
    .option('--rows <n>', "rows per role (default: each role's catalog default)")
    .option('--seed <n>', 'seed of the data generators', '1')
    .option('--list', 'list the built-in scenarios and exit')
    .option('--json', 'machine-readable output')
    .action(async (o: { scenario: string[]; rows?: string; seed: string; list?: boolean; json?: boolean }) => {
      if (o.list) {
        list(!!o.json);
        return;
      }
      const bad = o.scenario.filter((s) => !isCatalogId(s));
      if (bad.length) throw new CliError(`--scenario: unknown built-in scenario ${bad.join(', ')} (dataspace demo --list shows them)`, 2);
      const rows = positiveInt('--rows', o.rows);
      const seedN = Number(o.seed);
      if (!/^\d+$/.test(o.seed) || seedN >= 2 ** 32)
        throw new CliError(`--seed: expected an integer in [0, 2^32), got ${JSON.stringify(o.seed)}`, 2);
      const ids = o.scenario.length ? [...new Set(o.scenario)] : [...CATALOG_IDS];
      const say = (line: string): void => {
        process.stderr.write(line + '\n');
      };

      let session;
      try {
        session = await startDemoSession(say);
      } catch (e) {
        if (e instanceof RedisUnavailableError) throw new CliError(e.message);
        throw e;
      }
      const onSignal = (): void => {
        void session.close().finally(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const runs: ScenarioRun[] = [];
      const t0 = Date.now();
      try {
        const runner = new DemoRunner(session.ctx);
        for (const [i, id] of ids.entries()) {
          say(`[${i + 1}/${ids.length}] ${id}`);
          const r = await runner.run(id, { ...(rows !== undefined ? { rows } : {}), seed: seedN });
          runs.push(r);
          say(`[${i + 1}/${ids.length}] ${id}: ${r.status} in ${r.seconds.toFixed(1)} s${r.problems.length ? `: ${r.problems[0]}` : ''}`);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await session.close();
      }
      const failed = runs.filter((r) => r.status !== 'pass');
      const total = (Date.now() - t0) / 1000;
      if (o.json) printJson(runs);
      else {
        printTable(runs.map(tableRow), ['scenario', 'roles', 'rows', 'seconds', 'largest error', 'status']);
        for (const r of failed) process.stdout.write(`\n${r.scenario}: ${r.problems.join('; ')}\n`);
        const ledger = runs.every((r) => r.ledger === 'absent')
          ? 'ledger app absent'
          : `ledger verified for ${runs.filter((r) => r.ledger === 'verified').length}`;
        process.stdout.write(`\n${runs.length - failed.length} of ${runs.length} scenarios passed in ${total.toFixed(1)} s (${ledger})\n`);
      }
      if (failed.length)
        throw new CliError(`${failed.length} of ${runs.length} scenarios failed: ${failed.map((r) => r.scenario).join(', ')}`);
    });
}
