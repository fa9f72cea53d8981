import type { Command } from 'commander';
import { api, clientOf } from '../context.js';
import { printJson, printTable } from '../output.js';

export function registerParticipants(program: Command): void {
  const p = program.command('participants').description('participants of the data space (admin)');
  p.command('add')
    .description('add a provider, consumer or auditor; prints its bearer token (shown once)')
    .requiredOption('--role <role>', 'provider | consumer | auditor')
    .requiredOption('--name <name>', 'display name')
    .option('--json', 'machine-readable output')
    .action(async (o: { role: string; name: string; json?: boolean }, cmd: Command) => {
      const r = await api(clientOf(cmd).post<{ id: string; name: string; role: string; token: string }>('participants', { role: o.role, name: o.name }));
      if (o.json) printJson(r);
      else printTable([r], ['id', 'name', 'role', 'token']);
    });
}
