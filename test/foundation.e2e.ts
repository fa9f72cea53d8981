import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { call, startTestServer } from './support/env.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

function assertErrorShape(body: unknown, code: string): void {
  const b = body as { error: string; message: string; details: unknown[] };
  assert.equal(b.error, code);
  assert.equal(typeof b.message, 'string');
  assert.ok(Array.isArray(b.details));
  assert.doesNotMatch(JSON.stringify(b), /\bat .*\.js:\d+|node_modules|Error:\s/);
}

describe('foundation: auth, errors, health, docs', () => {
  let s: Server;
  let consumerToken: string;
  before(async () => {
    s = await startTestServer();
    const r = await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'city lab' } });
    assert.equal(r.status, 201, r.text);
    consumerToken = r.body.token;
  });
  after(async () => s.cleanup());

  it('writes admin.token with mode 0600', () => {
    assert.equal(statSync(s.adminTokenPath).mode & 0o777, 0o600);
  });

  it('/health reports database and Redis up', async () => {
    const r = await call(s.url, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.database.up, true);
    assert.equal(r.body.redis.up, true);
  });

  it('/docs serves the OpenAPI document', async () => {
    const r = await call(s.url, 'GET', '/docs/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.body.openapi, /^3\./);
    assert.ok(r.body.paths['/participants']);
  });

  it('no token -> 401 JSON', async () => {
    const r = await call(s.url, 'POST', '/participants', { body: { role: 'consumer', name: 'x' } });
    assert.equal(r.status, 401);
    assertErrorShape(r.body, 'UNAUTHENTICATED');
  });

  it('unknown token -> 401', async () => {
    const r = await call(s.url, 'POST', '/participants', { token: 'dst_nope', body: { role: 'consumer', name: 'x' } });
    assert.equal(r.status, 401);
    assertErrorShape(r.body, 'UNAUTHENTICATED');
  });

  it('wrong role -> 403', async () => {
    const r = await call(s.url, 'POST', '/participants', { token: consumerToken, body: { role: 'consumer', name: 'x' } });
    assert.equal(r.status, 403);
    assertErrorShape(r.body, 'FORBIDDEN');
  });

  it('malformed JSON -> 400 JSON error that does not echo the body', async () => {
    const r = await call(s.url, 'POST', '/participants', {
      token: s.adminToken,
      raw: '{"role": secret-value',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 400);
    assertErrorShape(r.body, 'MALFORMED_JSON');
    assert.doesNotMatch(r.text, /secret-value/);
  });

  it('invalid body -> 400 with paths', async () => {
    const r = await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'king', name: '' } });
    assert.equal(r.status, 400);
    assertErrorShape(r.body, 'VALIDATION_FAILED');
    const paths = r.body.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ['$.name', '$.role']);
  });

  it('unknown route -> 404 JSON', async () => {
    const r = await call(s.url, 'GET', '/no/such/route', { token: s.adminToken });
    assert.equal(r.status, 404);
    assertErrorShape(r.body, 'NOT_FOUND');
  });

  it('tokens are stored only as hashes', async () => {
    const rows: { token_hash: string }[] = await s.dataSource.query('SELECT * FROM participants');
    const all = JSON.stringify(rows);
    assert.ok(!all.includes(consumerToken));
    assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash)));
  });
});
