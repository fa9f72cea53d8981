import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, startCli } from './support/cli.js';

describe('serve: Redis bootstrap', () => {
  it('starts a local redis-server when nothing answers on REDIS_URL, and says so in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-redis-'));
    const port = await freePort();
    const http = await freePort();
    const env = { ...process.env, DATA_DIR: dir, REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: 'silent', DATABASE_URL: '' };
    const srv = await startCli(['serve', '--port', String(http)], env, /dataspace serving/);
    try {
      const lines = srv
        .stderr()
        .split('\n')
        .filter((l) => /redis-server/.test(l));
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, new RegExp(`started a local redis-server on 127\\.0\\.0\\.1:${port}`));
      const h = (await (await fetch(`http://127.0.0.1:${http}/health`)).json()) as { redis: { up: boolean } };
      assert.equal(h.redis.up, true);
    } finally {
      assert.equal(await srv.stop(), 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no redis-server on PATH, exits 1 with a one-line how-to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-redis-'));
    const port = await freePort();
    // A PATH holding only node: no redis-server there.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const env = { ...process.env, DATA_DIR: dir, REDIS_URL: `redis://127.0.0.1:${port}`, PATH: bin, LOG_LEVEL: 'silent', DATABASE_URL: '' };
    const r = await runCli(['serve', '--port', '0'], { env, timeoutMs: 30_000 });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /no redis-server is on PATH: install one .*docker compose/);
  });

  it('a bad configuration value stops start-up with one line naming the variable', async () => {
    const r = await runCli(['serve'], { env: { ...process.env, PORT: 'eighty', LOG_LEVEL: 'silent' }, timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^dataspace: invalid configuration: PORT /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
