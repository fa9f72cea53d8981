import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { type JobStatus, TERMINAL, fetchResult, readKeyFile, submitJob, waitForJob } from '#sdk';
import type { ParamValues, Scenario } from '#scenario';
import { api, clientOf } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseBindings(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const b of list) {
    const m = /^([^=]+)=(.+)$/.exec(b);
    if (!m) throw new CliError(`--bind ${b}: expected ROLE=DATASET_ID`, 2);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** `--param NAME=VALUE` (a number, a comma list of numbers, a string) or `NAME=@file.json`. */
export function parseParams(list: string[]): ParamValues {
  const out: ParamValues = {};
  for (const p of list) {
    const m = /^([^=]+)=(.*)$/s.exec(p);
    if (!m) throw new CliError(`--param ${p}: expected NAME=VALUE or NAME=@file.json`, 2);
    const [, name, raw] = m as unknown as [string, string, string];
    if (raw.startsWith('@')) {
      try {
        out[name] = JSON.parse(readFileSync(raw.slice(1), 'utf8')) as ParamValues[string];
      } catch (e) {
        throw new CliError(`--param ${name}: cannot read ${raw.slice(1)}: ${(e as Error).message}`, 2);
      }
    } else if (raw.trim().startsWith('[')) {
      try {
        out[name] = JSON.parse(raw) as ParamValues[string];
      } catch {
        throw new CliError(`--param ${name}: not valid JSON`, 2);
      }
    } else if (raw !== '' && raw.split(',').every((x) => x.trim() !== '' && Number.isFinite(Number(x)))) {
      const nums = raw.split(',').map(Number);
      out[name] = raw.includes(',') ? nums : nums[0]!;
    } else out[name] = raw;
  }
  return out;
}

function progressLine(s: JobStatus): string {
  const parts = Object.entries(s.progress.providers ?? {})
    .map(([r, p]) => `${r}:${p.status ?? '?'}`)
    .join(' ');
  return `${s.status}${parts ? ` [${parts}]` : ''}`;
}

const STAGES = ['queued', 'encrypting', 'evaluating', 'completed'];

export async function waitWithProgress(cmd: Command, id: string, json: boolean): Promise<JobStatus> {
  const client = clientOf(cmd);
  const tty = process.stderr.isTTY && !json;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: '{bar} {percentage}% | {stage}', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(STAGES.length - 1, 0, { stage: 'queued' });
  let last = '';
  try {
    return await api(
      waitForJob(client, id, (s) => {
        const line = progressLine(s);
        if (bar) bar.update(Math.max(0, STAGES.indexOf(s.status)), { stage: line });
        else if (!json && line !== last) process.stderr.write(`job ${id}: ${line}\n`);
        last = line;
      }),
    );
  } finally {
    bar?.stop();
  }
}

export function registerJobs(program: Command): void {
  const j = program.command('jobs').description('computation jobs on encrypted data');
  j.command('submit')
    .requiredOption('--scenario <id>', 'scenario id')
    .option('--version <n>', 'scenario version (default: latest)')
    .option('--bind <ROLE=DATASET_ID>', 'bind a role to a dataset (repeat)', collect, [])
    .requiredOption('--keys <file>', 'your key file (dataspace keys generate)')
    .option('--param <NAME=VALUE>', 'a parameter value, or NAME=@file.json (repeat)', collect, [])
    .option('--purpose <purpose>', "purpose of use, checked against every dataset's policy", 'public-service')
    .option('--idempotency-key <key>', 'repeat-safe submission key')
    .option('--dry-run', 'plan, cost estimate and policy decision; runs nothing')
    .option('--wait', 'wait until the job ends, with progress')
    .option('--json', 'machine-readable output')
    .action(
      async (
        o: {
          scenario: string;
          version?: string;
          bind: string[];
          keys: string;
          param: string[];
          purpose: string;
          idempotencyKey?: string;
          dryRun?: boolean;
          wait?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const client = clientOf(cmd);
        let keys;
        try {
          keys = readKeyFile(o.keys);
        } catch (e) {
          throw new CliError(`cannot use key file ${o.keys}: ${(e as Error).message}`);
        }
        const version = o.version !== undefined ? Number(o.version) : undefined;
        const sc = await api(
          client.get<{ document: Scenario; version: number }>(
            `scenarios/${encodeURIComponent(o.scenario)}${version ? `?version=${version}` : ''}`,
          ),
        );
        const req = {
          scenario: o.scenario,
          bindings: parseBindings(o.bind),
          purpose: o.purpose,
          params: parseParams(o.param),
          ...(version !== undefined ? { version } : {}),
          ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
        };
        const r = await api(submitJob(client, keys, sc.document, req, { dryRun: !!o.dryRun }));
        if (o.dryRun) {
          if (o.json) printJson(r);
          else {
            const d = r as {
              allow: boolean;
              decisions: { role: string; dataset: string; allow: boolean; reasons: { code: string; message: string }[] }[];
              estimate: Record<string, unknown>;
            };
            process.stdout.write(`policy: ${d.allow ? 'allowed' : 'refused'}\n`);
            printTable(
              d.decisions.map((x) => ({
                role: x.role,
                dataset: x.dataset,
                allow: x.allow,
                reasons: x.reasons.map((y) => y.code).join(','),
              })),
            );
            process.stdout.write(`estimate: ${JSON.stringify(d.estimate)}\n`);
          }
          return;
        }
        const id = String(r.id);
        if (!o.wait) {
          if (o.json) printJson(r);
          else process.stdout.write(`${id}\n`);
          return;
        }
        const s = await waitWithProgress(cmd, id, !!o.json);
        if (o.json) printJson(s);
        else process.stdout.write(`${id} ${s.status}${s.error ? `: ${s.error.code}: ${s.error.message}` : ''}\n`);
        if (s.status !== 'completed') throw new CliError(`job ${id} ended ${s.status}${s.error ? `: ${s.error.message}` : ''}`);
      },
    );
  j.command('status')
    .argument('<jobId>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const s = await api(clientOf(cmd).get<JobStatus>(`jobs/${encodeURIComponent(id)}`));
      if (o.json) printJson(s);
      else process.stdout.write(`${id} ${progressLine(s)}${s.error ? ` ${s.error.code}: ${s.error.message}` : ''}\n`);
      if (TERMINAL.has(s.status) && s.status !== 'completed') process.exitCode = 1;
    });
  j.command('result')
    .description('fetch the encrypted result, decrypt it locally, print the result document')
    .argument('<jobId>')
    .requiredOption('--keys <file>', 'your key file')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { keys: string; json?: boolean }, cmd: Command) => {
      let keys;
      try {
        keys = readKeyFile(o.keys);
      } catch (e) {
        throw new CliError(`cannot use key file ${o.keys}: ${(e as Error).message}`);
      }
      const doc = await api(fetchResult(clientOf(cmd), id, keys));
      if (o.json) printJson(doc);
      else {
        process.stdout.write(`${doc.scenario} v${doc.version} job ${doc.job}\n`);
        for (const [name, v] of Object.entries(doc.metrics)) {
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
            process.stdout.write(`\n${name}\n`);
            printTable(Object.entries(v).map(([g, x]) => ({ group: g, value: Array.isArray(x) ? x.join(' ') : x })));
          } else process.stdout.write(`\n${name}: ${Array.isArray(v) ? v.join(' ') : String(v)}\n`);
        }
        process.stdout.write(`\nmeta: ${JSON.stringify(doc.meta)}\n`);
      }
    });
}
