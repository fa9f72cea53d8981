import type { Command } from 'commander';
import { api, clientOf } from '../context.js';
import { printJson, printTable } from '../output.js';

export function registerParticipants(program: Command): void {
  const p = program.command('participants').description('participants of the data space (admin)');
  p.command('add')
    .description('add a provider, consumer, auditor or connector; prints its bearer token (shown once)')
    .requiredOption('--role <role>', 'provider | consumer | auditor | connector')
    .requiredOption('--name <name>', 'display name')
    .option('--connector-id <id>', 'for --role connector: the CONNECTOR_ID of the connector this credential acts for (and only for)')
    .option('--json', 'machine-readable output')
    .action(async (o: { role: string; name: string; connectorId?: string; json?: boolean }, cmd: Command) => {
      const body = { role: o.role, name: o.name, ...(o.connectorId !== undefined ? { connectorId: o.connectorId } : {}) };
      const r = await api(
        clientOf(cmd).post<{ id: string; name: string; role: string; connectorId?: string; token: string }>('participants', body),
      );
      if (o.json) printJson(r);
      else printTable([r], o.connectorId !== undefined ? ['id', 'name', 'role', 'connectorId', 'token'] : ['id', 'name', 'role', 'token']);
    });
}
