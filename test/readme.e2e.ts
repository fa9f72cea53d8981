/**
 * Issue 19: the README's walk-through ("Running it") works as written for a newcomer. The lines of its
 * code block are run in order, as a shell would run them, from a fresh directory holding the
 * repository's `examples/` (so `.data/` and `me.keys` land there): `npx dataspace` is this checkout's
 * CLI, `serve` is left running in the background, `VAR=value` prefixes and `export VAR=$(cat FILE)`
 * set the environment, and `<provider token>`, `<dataset id>`, ... are replaced by what the earlier
 * commands printed, as the README says. Only the port (PORT / DATASPACE_URL) and the queue prefix
 * are set from outside, so the run cannot collide with a server on :8080 or with other runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliRun, freePort, runCli, startCli } from './support/cli.js';
import { dropRunState } from './support/cleanup.js';

const ROOT = new URL('../../', import.meta.url);

/** The commands of the README's "Running it" block: continuation lines joined, comments dropped. */
export function walkThrough(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Running it'));
  const open = section.indexOf('```\n');
  const body = section.slice(open + 4, section.indexOf('```', open + 4));
  const joined = body.replace(/\\\n\s*/g, '');
  return joined
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l.length > 0);
}

/** Shell words: whitespace-separated, double quotes grouping (enough for the README's lines). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('the README walk-through, as written', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-readme-'));
  const prefix = `dstest-readme-${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL ? { DATABASE_SCHEMA: `readme_${prefix.replace(/[^a-z0-9]/g, '_')}` } : {}),
  };
  delete env.DATASPACE_TOKEN;
  delete env.DATA_DIR;
  let server: Awaited<ReturnType<typeof startCli>> | undefined;

  before(async () => {
    symlinkSync(fileURLToPath(new URL('examples', ROOT)), join(dir, 'examples'));
    const port = await freePort();
    env.PORT = String(port);
    env.DATASPACE_URL = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await server?.stop();
    await dropRunState({ databaseUrl: env.DATABASE_URL, schemas: [env.DATABASE_SCHEMA], redisUrl: env.REDIS_URL, queuePrefix: prefix });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every command of "Running it" to success, and the job\'s result is decrypted', async () => {
    const lines = walkThrough(readFileSync(new URL('README.md', ROOT), 'utf8'));
    assert.ok(lines.length >= 10, lines.join('\n'));
    const said: Record<string, string> = {};
    const ran: string[] = [];
    let result = '';
    for (const raw of lines) {
      const line = raw.replace(/<[a-z ]+>/g, (p) => {
        assert.ok(p in said, `${raw}: nothing printed ${p} before this line`);
        return said[p]!;
      });
      const exp = /^export (\w+)=\$\(cat (\S+)\)$/.exec(line);
      if (exp) {
        env[exp[1]!] = readFileSync(join(dir, exp[2]!), 'utf8').trim();
        continue;
      }
      const w = words(line);
      const lineEnv = { ...env };
      while (w.length && /^\w+=/.test(w[0]!)) {
        const [k, ...v] = w.shift()!.split('=');
        lineEnv[k!] = v.join('=');
      }
      assert.deepEqual(w.slice(0, 2), ['npx', 'dataspace'], `${raw}: a dataspace command`);
      const args = w.slice(2);
      ran.push(args[0]! + (args[1] && !args[1].startsWith('-') ? ` ${args[1]}` : ''));
      if (args[0] === 'serve') {
        server = await startCli(args, lineEnv, /dataspace serving/, 120_000, dir);
        continue;
      }
      const r: CliRun = await runCli(args, { env: lineEnv, cwd: dir, timeoutMs: 400_000 });
      assert.equal(r.code, 0, `${raw}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
      const out = r.stdout.trim();
      if (args[0] === 'participants' && args.includes('--json')) {
        const p = JSON.parse(out) as { role: string; token: string };
        said[`<${p.role} token>`] = p.token;
      } else if (args[0] === 'datasets' && args[1] === 'register') said['<dataset id>'] = out;
      else if (args[0] === 'jobs' && args[1] === 'submit') {
        const [id, status] = out.split('\n').pop()!.split(' ');
        assert.equal(status, 'completed', out);
        said['<job id>'] = id!;
      } else if (args[0] === 'jobs' && args[1] === 'result') result = out;
    }
    for (const step of [
      'serve',
      'participants add',
      'datasets register',
      'datasets import',
      'keys generate',
      'jobs submit',
      'jobs result',
    ]) {
      assert.ok(ran.includes(step), `the walk-through runs ${step}`);
    }
    assert.match(result, /^water-district-consumption v1 job /);
    for (const metric of ['total_m3', 'meters', 'mean_m3', 'leaks']) assert.match(result, new RegExp(`^${metric}$`, 'm'));
    // the walk-through's dataset sets minGroupSize 5: its exact row count is withheld from the consumer
    assert.match(result, /"rows":\{\}/);
  });
});
