import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { api, clientOf } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';

export function registerScenarios(program: Command): void {
  const s = program.command('scenarios').description('the scenario registry');
  s.command('list')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await api(clientOf(cmd).get<Record<string, unknown>[]>('scenarios'));
      if (o.json) printJson(r);
      else printTable(r.map((x) => ({ ...x, roles: (x.roles as string[]).join(',') })), ['id', 'version', 'sector', 'roles', 'title']);
    });
  s.command('show')
    .argument('<id>')
    .option('--version <n>', 'a given version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean; version?: string }, cmd: Command) => {
      const r = await api(clientOf(cmd).get<{ document: unknown }>(`scenarios/${encodeURIComponent(id)}${o.version ? `?version=${encodeURIComponent(o.version)}` : ''}`));
      if (o.json) printJson(r);
      else process.stdout.write(JSON.stringify(r.document, null, 2) + '\n');
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
