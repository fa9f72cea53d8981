import { createReadStream, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { api, clientOf } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';
import { validateDatasetFile } from '../offline.js';

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

export function registerDatasets(program: Command): void {
  const d = program.command('datasets').description('datasets of a provider (schema, usage policy, rows)');
  d.command('register')
    .description('register a dataset document (as a provider); prints its id')
    .requiredOption('--file <file>', 'dataset.json')
    .option('--json', 'machine-readable output')
    .action(async (o: { file: string; json?: boolean }, cmd: Command) => {
      const r = await api(clientOf(cmd).post<Record<string, unknown>>('datasets', readJsonFile(o.file)));
      if (o.json) printJson(r);
      else process.stdout.write(`${String(r.id)}\n`);
    });
  d.command('validate')
    .description('check a dataset document offline (no server): every problem with its path; exit 1 when invalid')
    .requiredOption('--file <file>', 'dataset.json')
    .option('--json', 'machine-readable output (the error document of the API on failure)')
    .action((o: { file: string; json?: boolean }) => {
      const r = validateDatasetFile(o.file);
      if (o.json) printJson({ ok: true, ...r });
      else {
        const columns = `${r.columns.length} column${r.columns.length === 1 ? '' : 's'}`;
        process.stdout.write(`${o.file}: a valid dataset document (${r.name}: ${columns})\n`);
      }
    });
  d.command('import')
    .description('import rows from a CSV, JSON or NDJSON file (a file with any bad row is refused whole)')
    .argument('<datasetId>')
    .requiredOption('--file <file>', 'rows.csv | rows.json | rows.ndjson')
    .option('--replace', "replace the dataset's rows instead of appending")
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { file: string; replace?: boolean; json?: boolean }, cmd: Command) => {
      const ext = extname(o.file).toLowerCase();
      const format = ext === '.csv' ? 'csv' : ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : ext === '.json' ? 'json' : null;
      if (!format) throw new CliError(`--file: say the format with the extension .csv, .json or .ndjson`, 2);
      try {
        statSync(o.file);
      } catch {
        throw new CliError(`cannot read ${o.file}`);
      }
      const client = clientOf(cmd);
      // Streamed upload: the file is never read into memory whole.
      const body = createReadStream(o.file);
      const url = new URL(
        `datasets/${encodeURIComponent(id)}/rows?format=${format}&mode=${o.replace ? 'replace' : 'append'}`,
        client.opts.url.endsWith('/') ? client.opts.url : client.opts.url + '/',
      );
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          body: body as unknown as RequestInit['body'],
          duplex: 'half',
          headers: {
            'content-type': format === 'csv' ? 'text/csv' : 'application/json',
            ...(client.opts.token ? { authorization: `Bearer ${client.opts.token}` } : {}),
          },
        } as RequestInit);
      } catch (e) {
        throw new CliError(`cannot reach ${client.opts.url}: ${(e as Error).message}`, 3);
      }
      const r = (await res.json().catch(() => ({}))) as Record<string, unknown> & {
        error?: string;
        message?: string;
        details?: { path?: string; message: string }[];
      };
      if (!res.ok) {
        const first = r.details?.[0];
        const more = (r.details?.length ?? 0) > 1 ? ` (+${(r.details?.length ?? 0) - 1} more; use --json for all)` : '';
        throw new CliError(
          `${r.error ?? res.status}: ${r.message ?? ''}${first ? `: ${first.path ?? ''}: ${first.message}` : ''}${more}`,
          res.status >= 500 ? 4 : 1,
          { error: r.error ?? String(res.status), message: r.message ?? '', details: r.details ?? [] },
        );
      }
      if (o.json) printJson(r);
      else process.stdout.write(`imported ${String(r.imported)} rows into ${id} (${String(r.rows)} rows now)\n`);
    });
  d.command('list')
    .description('your datasets, each with its id, name and row count')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await api(clientOf(cmd).get<Record<string, unknown>[]>('datasets'));
      if (o.json) printJson(r);
      else printTable(r, ['id', 'name', 'rows']);
    });
}
