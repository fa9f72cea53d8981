import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiError, generateKeyFile, keyRequirements } from '#sdk';
import { type Scenario, builtinScenario, isCatalogId } from '#scenario';
import { api, clientOf } from '../context.js';
import { CliError, printJson } from '../output.js';
import { parseParams } from './jobs.js';

export function registerKeys(program: Command): void {
  const k = program.command('keys').description("the consumer's HE keys (generated locally; the secret key never leaves the key file)");
  k.command('generate')
    .description('generate a keyset that fits a scenario and write it to FILE (mode 0600)')
    .requiredOption('--scenario <id>', 'scenario id')
    .requiredOption('--out <file>', 'key file to write')
    .option(
      '--param <NAME=VALUE>',
      'a public parameter value the keys should be planned with, or NAME=@file.json (repeat; by default placeholders of the shape the scenario implies)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--force', 'overwrite an existing key file')
    .option('--json', 'machine-readable output')
    .action(async (o: { scenario: string; out: string; param: string[]; force?: boolean; json?: boolean }, cmd: Command) => {
      if (existsSync(o.out) && !o.force)
        throw new CliError(`${o.out} exists; use --force to overwrite it (its secret key would be lost)`, 2);
      let scenario: Scenario;
      try {
        scenario = (await api(clientOf(cmd).get<{ document: Scenario }>(`scenarios/${encodeURIComponent(o.scenario)}`))).document;
      } catch (e) {
        const unreachable = (e as { api?: ApiError }).api?.status === 0 || (e as { api?: ApiError }).api?.status === 401;
        if (!(unreachable && isCatalogId(o.scenario))) throw e;
        scenario = builtinScenario(o.scenario);
      }
      let req: ReturnType<typeof keyRequirements>;
      try {
        req = keyRequirements(scenario, o.param.length ? parseParams(o.param) : undefined);
      } catch (e) {
        throw new CliError(`${(e as Error).message}${o.param.length ? '' : ' (give its parameters with --param NAME=VALUE)'}`, 2);
      }
      const r = await generateKeyFile(o.out, req);
      const out = { file: o.out, fingerprint: r.fingerprint, params: r.params, galoisSteps: req.galoisSteps };
      if (o.json) printJson(out);
      else
        process.stdout.write(`wrote ${o.out} (keyset ${r.fingerprint.slice(0, 16)}…, N=${r.params.polyModulusDegree}); keep it private\n`);
    });
}
