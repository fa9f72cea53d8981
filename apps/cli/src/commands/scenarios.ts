import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { api, clientOf } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';
import { explainScenario, explanationText, validateScenarioFile } from '../offline.js';
import { parseParams } from './jobs.js';

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerScenarios(program: Command): void {
  const s = program.command('scenarios').description('the scenario registry');
  s.command('list')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await api(clientOf(cmd).get<Record<string, unknown>[]>('scenarios'));
      if (o.json) printJson(r);
      else
        printTable(
          r.map((x) => ({ ...x, roles: (x.roles as string[]).join(',') })),
          ['id', 'version', 'sector', 'roles', 'title'],
        );
    });
  s.command('show')
    .argument('<id>')
    .option('--version <n>', 'a given version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean; version?: string }, cmd: Command) => {
      const r = await api(
        clientOf(cmd).get<{ document: unknown }>(
          `scenarios/${encodeURIComponent(id)}${o.version ? `?version=${encodeURIComponent(o.version)}` : ''}`,
        ),
      );
      if (o.json) printJson(r);
      else process.stdout.write(JSON.stringify(r.document, null, 2) + '\n');
    });
  s.command('validate')
    .description('check a scenario document offline (no server): every problem with its JSON path; exit 1 when invalid')
    .requiredOption('--file <file>', 'scenario.json')
    .option('--json', 'machine-readable output (the error document of the API on failure)')
    .action((o: { file: string; json?: boolean }) => {
      const sc = validateScenarioFile(o.file);
      const summary = { ok: true, id: sc.id, roles: Object.keys(sc.inputs), metrics: sc.metrics.map((m) => m.name) };
      if (o.json) printJson(summary);
      else {
        const counts = `${plural(summary.roles.length, 'role')}, ${plural(summary.metrics.length, 'metric')}`;
        process.stdout.write(`${o.file}: a valid scenario document (${sc.id}: ${counts})\n`);
      }
    });
  s.command('explain')
    .description('compile a scenario document offline and print the plan: depth, parameters, cost estimate, what each role sends')
    .requiredOption('--file <file>', 'scenario.json')
    .option('--rows <ROLE=N>', 'rows of a role (repeat; default 10000 each)', collect, [])
    .option('--param <NAME=VALUE>', 'a public parameter value, or NAME=@file.json (repeat)', collect, [])
    .option('--json', 'machine-readable output')
    .action((o: { file: string; rows: string[]; param: string[]; json?: boolean }) => {
      const sc = validateScenarioFile(o.file);
      const x = explainScenario(sc, parseParams(o.param), o.rows);
      if (o.json) printJson(x);
      else process.stdout.write(explanationText(x));
    });
  s.command('register')
    .description('register a scenario document (a new version when the id exists)')
    .requiredOption('--file <file>', 'scenario.json')
    .option('--json', 'machine-readable output')
    .action(async (o: { file: string; json?: boolean }, cmd: Command) => {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(o.file, 'utf8'));
      } catch (e) {
        throw new CliError(`cannot read ${o.file}: ${(e as Error).message}`);
      }
      const r = await api(clientOf(cmd).post<{ id: string; version: number }>('scenarios', doc));
      if (o.json) printJson(r);
      else process.stdout.write(`${r.id} version ${r.version}\n`);
    });
}
